#!/usr/bin/env bash
# One entry point that does all set-up, then runs what you ask for:
#   bash dev.sh demo [ARGS]   -> spark-lester demo (end-to-end running example)
#   bash dev.sh test [ARGS]   -> the test suite (pytest)
#   bash dev.sh ARGS          -> spark-lester ARGS
# Set-up (idempotent, redone when pyproject.toml or pom.xml change): a virtualenv in .venv
# with the package and its dev extras, and the JVM jars from pom.xml in .jars via Maven.
set -euo pipefail
cd "$(dirname "$0")"

pick_python() {
  for py in "${PYTHON:-}" python3.11 python3; do
    [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then echo "$py"; return; fi
  done
  echo "dev.sh: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 2
}

want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.lester-stamp 2>/dev/null)" != "$want" ]; then
  echo "dev.sh: installing Python packages into .venv" >&2
  "$(pick_python)" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > .venv/.lester-stamp
fi

# The rewrite sandbox runs generated code under bubblewrap (Debian's bubblewrap package) and
# refuses to run it without; libseccomp2 adds its system-call filter.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "dev.sh: installing bubblewrap (the rewrite sandbox) with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap libseccomp2) >/dev/null \
      || echo "dev.sh: could not install bubblewrap; spark-lester rewrite will refuse to run generated code" >&2
  else
    echo "dev.sh: bubblewrap (bwrap) is missing: install it (apt-get install bubblewrap); spark-lester rewrite refuses to run generated code without it" >&2
  fi
fi

# The HTML report of `spark-lester analyze` is checked in headless Chromium (Debian's chromium
# package); without it those tests are skipped.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "dev.sh: installing chromium (browser test of the HTML report) with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >/dev/null \
      || echo "dev.sh: could not install chromium; the browser test of the HTML report will be skipped" >&2
  else
    echo "dev.sh: chromium is missing (apt-get install chromium); the browser test of the HTML report will be skipped" >&2
  fi
fi

jars_want=$(cat pom.xml | sha256sum | cut -c1-16)
if [ "$(cat .jars/.lester-stamp 2>/dev/null)" != "$jars_want" ]; then
  command -v mvn >/dev/null || { echo "dev.sh: Maven (mvn) is required to fetch the JVM jars" >&2; exit 2; }
  echo "dev.sh: fetching JVM jars with Maven into .jars" >&2
  rm -rf .jars
  mvn -q -B dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=.jars
  echo "$jars_want" > .jars/.lester-stamp
fi

cmd=${1:-}
case "$cmd" in
  demo) shift; exec .venv/bin/spark-lester demo "$@" ;;
  test) shift; exec .venv/bin/python -m pytest "$@" ;;
  "") echo "usage: bash dev.sh demo|test|<spark-lester args>" >&2; exit 2 ;;
  *) exec .venv/bin/spark-lester "$@" ;;
esac

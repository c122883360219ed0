#!/usr/bin/env bash
# The virtualenvs in which the tests run examples/airflow/ under real Airflow (dag.test()):
#   bash deploy/airflow/setup.sh 2.10   -> $CACHE/airflow-2.10/   (Airflow 2.10.x)
#   bash deploy/airflow/setup.sh 3      -> $CACHE/airflow-3/      (Airflow 3.x)
# CACHE is SPARK_LESTER_CACHE, else ~/.cache/spark_lester: outside the checkout, so that CI,
# which runs in a fresh clone, finds the venvs of its previous runs on the same machine.
# requirements-<line>.txt names Airflow and the Amazon provider; constraints-<line>.txt pins
# every other package (frozen from a resolved install: Airflow's own constraints files live on
# GitHub, which CI does not reach). Idempotent: the venv is rebuilt only when these two files
# change (their sha256 is stamped into it), so CI pays the install once per machine (about
# 50 s per line from PyPI with an empty pip cache, 25 s with a warm one; 0.1 s when cached).
# Prints the venv's python on the last line. Needs Python 3.11 (PYTHON=... to choose) and PyPI.
set -euo pipefail
line=${1:?usage: bash deploy/airflow/setup.sh 2.10|3}
root=$(cd "$(dirname "$0")/../.." && pwd)
req=$root/deploy/airflow/requirements-$line.txt
con=$root/deploy/airflow/constraints-$line.txt
cache=${SPARK_LESTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spark_lester}
venv=$cache/airflow-$line
[ -f "$req" ] || { echo "setup.sh: no $req (lines: 2.10, 3)" >&2; exit 2; }
mkdir -p "$cache"
exec 9>"$cache/airflow-$line.lock"
flock 9
want=$({ cat "$req"; cat "$con" 2>/dev/null || true; } | sha256sum | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.lester-stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup.sh: installing Airflow $line into $venv" >&2
  rm -rf "$venv"
  "${PYTHON:-python3.11}" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade 'pip>=24'
  if [ -f "$con" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" -c "$con"
  else
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  fi
  echo "$want" > "$venv/.lester-stamp"
fi
echo "$venv/bin/python"

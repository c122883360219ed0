#!/bin/bash
# EMR bootstrap action: install spark_lester and its Python dependencies on this node.
#
#   install_lester.sh s3://CODE_BUCKET/PREFIX [PIP_INDEX_URL]
#
# S3 PREFIX is where `spark-lester package --upload` (or `emr submit`) put the bundle:
# manifest.json, requirements.txt and the wheel. Runs on every node, as the hadoop user, before
# the cluster's applications are installed. EMR 7.x's system Python is 3.9, so Python 3.11 is
# installed from the Amazon Linux 2023 repositories; the configuration classifications point
# PYSPARK_PYTHON at it. requirements.txt is the complete, pinned dependency closure without
# pyspark/py4j (the cluster provides them), so both installs use --no-deps and pip never pulls a
# second Spark. Nothing JVM-side is installed: the cluster's own Delta (delta-defaults) and S3
# connectors are used. PIP_INDEX_URL points pip at a mirror for clusters without internet access.
set -euo pipefail

BUNDLE_URI="${1:?usage: install_lester.sh s3://BUCKET/PREFIX [PIP_INDEX_URL]}"
BUNDLE_URI="${BUNDLE_URI%/}"
INDEX_URL="${2:-}"
PYTHON="${LESTER_PYTHON:-python3.11}"

log() { echo "install_lester: $*" >&2; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  log "installing Python 3.11"
  sudo dnf install -y -q python3.11 python3.11-pip
fi
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  sudo dnf install -y -q python3.11-pip
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "fetching the bundle from $BUNDLE_URI"
aws s3 cp --only-show-errors "$BUNDLE_URI/manifest.json" "$work/manifest.json"
aws s3 cp --only-show-errors "$BUNDLE_URI/requirements.txt" "$work/requirements.txt"
wheel="$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["wheel"]["file"])' "$work/manifest.json")"
aws s3 cp --only-show-errors "$BUNDLE_URI/$wheel" "$work/$wheel"

pip_args=(--no-deps --disable-pip-version-check --no-input)
if [ -n "$INDEX_URL" ]; then
  pip_args+=(--index-url "$INDEX_URL")
fi
log "installing the pinned dependencies"
sudo "$PYTHON" -m pip install "${pip_args[@]}" -r "$work/requirements.txt"
log "installing $wheel"
sudo "$PYTHON" -m pip install "${pip_args[@]}" "$work/$wheel"

# Spark is not installed yet when bootstrap actions run: check what does not need it.
"$PYTHON" -c 'import numpy, pandas, pyarrow, sklearn, vaderSentiment, tqdm'
"$PYTHON" -m pip show --disable-pip-version-check spark_lester >/dev/null
log "done"

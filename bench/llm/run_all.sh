#!/usr/bin/env bash
# Real-model rewrite benchmark, step 3: the whole corpus on both models, and on the 1.5B the
# first target API against plain PySpark; then bench/results/rewrite_local.json.
#
# The first target API (spark_lester's own project/aggregate/rename forms and their prompt)
# left main after 56e2466; its comparison run uses a worktree of that commit, with this
# checkout's virtual environment and the same corpus.
#
#   bash bench/llm/run_all.sh            (after bash bench/llm/setup.sh; hours on 2 cores)
#
# Each run keeps its finished tasks in bench/results/<name>.partial.jsonl as it goes and
# writes bench/results/<name>.json at its end; a run whose .json exists is not repeated.
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=bench/results
PORT="${LESTER_LLM_PORT:-8765}"
trap 'bash bench/llm/serve.sh stop > /dev/null' EXIT

FIRST_TARGET=56e2466
HERE="$PWD"

one() {  # model target
  local out="$RESULTS/rewrite_local_$1_$2.json"
  [ -f "$out" ] && { echo "$out: done"; return; }
  bash bench/llm/serve.sh start "$1" "$PORT"
  if [ "$2" = pyspark ]; then
    .venv/bin/spark-lester bench rewrite --base-url "http://127.0.0.1:$PORT/v1" --model local \
      --out "$out"
  else
    local tree="${TMPDIR:-/tmp}/lester-first-target"
    [ -d "$tree" ] || git worktree add --detach "$tree" "$FIRST_TARGET"
    ln -sfn "$HERE/.jars" "$tree/.jars"
    (cd "$tree" && PYTHONPATH="$tree" "$HERE/.venv/bin/python" -m spark_lester bench rewrite \
      --base-url "http://127.0.0.1:$PORT/v1" --model local --target-api lester \
      --corpus "$HERE/examples/rewrite_corpus" --out "$HERE/$out")
    git worktree remove --force "$tree"
  fi
  bash bench/llm/serve.sh stop
}

one qwen-0.5b pyspark
one qwen-1.5b pyspark
one qwen-1.5b lester
.venv/bin/python bench/llm/merge.py "$RESULTS"/rewrite_local_*_*.json --out "$RESULTS/rewrite_local.json"

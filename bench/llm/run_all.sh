#!/usr/bin/env bash
# Real-model rewrite benchmark, step 3: the whole corpus on both models, and on the 1.5B the
# first target API against plain PySpark; then bench/results/rewrite_local.json.
#
# The first target API (spark_lester's own project/aggregate/rename forms and their prompt)
# left main after 56e2466; its comparison run uses a worktree of that commit, with this
# checkout's virtual environment and the same corpus.
#
#   bash bench/llm/run_all.sh                    (after bash bench/llm/setup.sh; hours on 2 cores)
#   LESTER_LLM_UNTIL=14:20 bash bench/llm/run_all.sh   # start no task after 14:20 (local time)
#   LESTER_LLM_RUNS="qwen-0.5b:lester qwen-1.5b:pyspark" bash bench/llm/run_all.sh   # these, in order
#
# Resumable: each task is one `spark-lester bench rewrite --task T` call whose result lands in
# bench/results/rewrite_local/<model>_<target>/<task>.json; a task whose file exists is not
# run again, so a run stopped (or out of time) goes on where it was at the next call. After
# every task, bench/llm/merge.py rewrites bench/results/rewrite_local.json from the files there
# (a run with tasks missing says so: "complete": false). Each task file records the commit
# of the code that ran it ("code"; "+dirty" when spark_lester/ had uncommitted changes; for the
# first target API, that commit's code on this checkout's corpus).
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=bench/results
RUNS="$RESULTS/rewrite_local"
PORT="${LESTER_LLM_PORT:-8765}"
UNTIL="${LESTER_LLM_UNTIL:-}"
CORPUS="$PWD/examples/rewrite_corpus"
# A 1.5B model on 2 cores decodes about 13 tokens/s: one long answer can take minutes, so the
# client's 120 s default would time out (and retry the same generation) on a model that works.
export SPARK_LESTER_LLM_TIMEOUT_S="${SPARK_LESTER_LLM_TIMEOUT_S:-900}"
# Each corpus reference is under 700 characters (about 200 tokens); a small model that loops
# instead writes until max_tokens, at 15 tokens/s or less: 2048 caps a runaway answer at a
# few minutes and stays ten times longer than any answer that could pass.
export SPARK_LESTER_LLM_MAX_TOKENS="${SPARK_LESTER_LLM_MAX_TOKENS:-2048}"
FIRST_TARGET=56e2466
HERE="$PWD"
TREE="${TMPDIR:-/tmp}/lester-first-target"
trap 'bash bench/llm/serve.sh stop > /dev/null' EXIT

late() {
  [ -n "$UNTIL" ] && [ "$(date +%s)" -ge "$(date -d "$UNTIL" +%s)" ]
}

merge() {
  .venv/bin/python bench/llm/merge.py "$RUNS" --corpus "$CORPUS" --out "$RESULTS/rewrite_local.json" > /dev/null
}

stamp() {  # file target: record which code ran the task
  local code
  code="$(git rev-parse --short HEAD)"
  git diff --quiet HEAD -- spark_lester || code="$code+dirty"
  [ "$2" = pyspark ] || code="$FIRST_TARGET (corpus of $code)"
  .venv/bin/python - "$1" "$code" <<'PY'
import json, sys
path, code = sys.argv[1], sys.argv[2]
result = json.load(open(path))
result["code"] = code
open(path, "w").write(json.dumps(result, indent=2) + "\n")
PY
}

selfcheck() {  # target: the code under test must accept its own running-example reference
  local root="$HERE"
  if [ "$1" != pyspark ]; then
    root="$TREE"
    [ -d "$TREE" ] || git worktree add --detach "$TREE" "$FIRST_TARGET"
    # a copy, not a link: the sandbox mounts the tree, and a link out of it resolves to nothing
    # there (every rewrite then failed at stage sandbox: "missing JVM jars")
    [ ! -L "$TREE/.jars" ] || rm "$TREE/.jars"
    [ -d "$TREE/.jars" ] || cp -r "$HERE/.jars" "$TREE/.jars"
  fi
  (cd "$root" && PYTHONPATH="$root" "$HERE/.venv/bin/python" - <<'PY'
import sys
from spark_lester.rewrite.corpus import load_corpus
from spark_lester.rewrite.validate import Oracle, validate
task = {t.name: t for t in load_corpus()}["running_example"]
oracle = Oracle.build(task.task, variants=0)
try:
    outcome = validate(task.reference, oracle)
finally:
    oracle.close()
if outcome.failure is not None:
    sys.exit(f"self-check: this code refuses its own running-example reference, so every "
             f"model answer would fail for the same reason; not benchmarking it.\n"
             f"stage {outcome.failure.stage}: {outcome.failure.message}\n"
             f"{(outcome.failure.details or '')[-2000:]}")
print("self-check: the reference rewrite is accepted")
PY
  )
}

one() {  # model target
  local dir="$RUNS/$1_$2" serving=""
  mkdir -p "$dir"
  for task in $(ls "$CORPUS"); do
    [ -f "$CORPUS/$task/task.json" ] || continue
    [ -f "$dir/$task.json" ] && continue
    if late; then echo "past $UNTIL: stopping before $1/$2/$task"; exit 0; fi
    if [ -z "$serving" ]; then
      selfcheck "$2"
      bash bench/llm/serve.sh start "$1" "$PORT"; serving=1
    fi
    if [ "$2" = pyspark ]; then
      .venv/bin/spark-lester bench rewrite --base-url "http://127.0.0.1:$PORT/v1" --model local \
        --task "$task" --out "$dir/$task.json"
    else
      (cd "$TREE" && PYTHONPATH="$TREE" "$HERE/.venv/bin/python" -m spark_lester bench rewrite \
        --base-url "http://127.0.0.1:$PORT/v1" --model local --target-api lester \
        --corpus "$CORPUS" --task "$task" --out "$HERE/$dir/$task.json")
    fi
    stamp "$dir/$task.json" "$2"
    merge
  done
  [ -z "$serving" ] || bash bench/llm/serve.sh stop
}

for run in ${LESTER_LLM_RUNS:-qwen-0.5b:pyspark qwen-0.5b:lester qwen-1.5b:pyspark qwen-1.5b:lester}; do
  one "${run%%:*}" "${run##*:}"
done
[ ! -d "$TREE" ] || git worktree remove --force "$TREE"
.venv/bin/python bench/llm/merge.py "$RUNS" --corpus "$CORPUS" --out "$RESULTS/rewrite_local.json"

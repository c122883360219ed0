#!/usr/bin/env bash
# The long profile of the deletion fuzzer in three shards (2 cores), resumable across sessions.
#
#   bash bench/fuzz_shards.sh SEED MAX_SECONDS [LOG_DIR]
#
# Shard k (k = 0, 1, 2) runs cases from k*1000 on, each with its own case log
# LOG_DIR/seed<SEED>_<k>.jsonl (default bench/results/fuzz_shards/, committed as it grows);
# a shard whose log has lines already goes on after its last case. Run it from a frozen
# checkout of the code under test (git worktree add ../fuzzrun <commit>): every line records
# the code hash, and the summary sums one code only:
#
#   .venv/bin/python bench/fuzz_deletion.py --summarize LOG_DIR/seed3_*.jsonl --seed 3 \
#       --code <hash> --note "..."
#
# S3 share 0.6 and fault share 0.5, so that 500 generated cases hold 100 on S3 and 50 kills.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?seed}; seconds=${2:?max seconds}; dir=${3:-bench/results/fuzz_shards}
mkdir -p "$dir"
for k in 0 1 2; do
  log="$dir/seed${seed}_$k.jsonl"
  start=$((k * 1000))
  if [ -s "$log" ]; then
    start=$(python3 -c "import json,sys; print(max(json.loads(l)['case'] for l in open(sys.argv[1]) if l.strip()) + 1)" "$log")
  fi
  PYTHONPATH=$PWD setsid nohup .venv/bin/python bench/fuzz_deletion.py --cases 1000 \
    --start "$start" --seed "$seed" --s3-share 0.6 --fault-share 0.5 --max-seconds "$seconds" \
    --out "/tmp/fuzz_seed${seed}_$k.json" --cases-log "$log" \
    < /dev/null > "/tmp/fuzz_seed${seed}_$k.out" 2>&1 &
  echo "shard $k: cases from $start, log $log, output /tmp/fuzz_seed${seed}_$k.out"
  sleep 5
done

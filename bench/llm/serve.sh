#!/usr/bin/env bash
# Real-model rewrite benchmark, step 2: serve a model on 127.0.0.1 (OpenAI-compatible).
#
#   bash bench/llm/serve.sh start qwen-1.5b [PORT]   # default port 8765; waits until ready
#   bash bench/llm/serve.sh stop
#
# Then: .venv/bin/spark-lester bench rewrite --base-url http://127.0.0.1:8765/v1 \
#           --model local --out bench/results/rewrite_local_qwen-1.5b.json
# OMP_WAIT_POLICY=passive matters on a shared 2-core machine (without it decoding is ~17x
# slower); the server is killed with SIGKILL (SIGTERM waits for a running generation).
# --n_ctx 16384: a correction round sends the whole conversation back, and one runaway answer
# can be max_tokens (4096) long; with 4096 the second round of a task whose first answer was
# cut off was refused with HTTP 400 (0.5B, nested_loop_campaigns: 4167 tokens of messages).
set -euo pipefail
HOME_DIR="${LESTER_LLM_HOME:-$HOME/.cache/spark_lester/llm}"
PID="$HOME_DIR/server.pid"
case "${1:-}" in
  start)
    model="${2:?model: qwen-1.5b or qwen-0.5b}"; port="${3:-8765}"
    gguf="$HOME_DIR/$model.gguf"
    [ -f "$gguf" ] || { echo "$gguf missing: run bash bench/llm/setup.sh $model" >&2; exit 2; }
    if [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then
      echo "a server is running (pid $(cat "$PID")): bash bench/llm/serve.sh stop" >&2; exit 2
    fi
    OMP_WAIT_POLICY=passive setsid nohup "$HOME_DIR/venv/bin/python" -m llama_cpp.server \
      --model "$gguf" --model_alias local --host 127.0.0.1 --port "$port" \
      --n_ctx 16384 --n_threads 2 --n_threads_batch 2 > "$HOME_DIR/server.log" 2>&1 < /dev/null &
    echo $! > "$PID"
    for _ in $(seq 1 240); do
      if curl -sf "http://127.0.0.1:$port/v1/models" > /dev/null; then
        echo "serving $model on http://127.0.0.1:$port/v1 (pid $(cat "$PID"))"; exit 0
      fi
      kill -0 "$(cat "$PID")" 2>/dev/null || { tail -20 "$HOME_DIR/server.log" >&2; exit 1; }
      sleep 0.5
    done
    echo "the server did not answer in 120 s; see $HOME_DIR/server.log" >&2; exit 1 ;;
  stop)
    [ -f "$PID" ] && kill -9 "$(cat "$PID")" 2>/dev/null || true
    rm -f "$PID"; echo "stopped" ;;
  *) echo "usage: serve.sh start MODEL [PORT] | stop" >&2; exit 2 ;;
esac

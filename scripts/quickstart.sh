#!/usr/bin/env bash
# The main job: set up, build, start the local open model and the gateway with
# config/quickstart.yaml, send one chat request through it, then keep serving until
# Ctrl-C. Frontier models in the config are enabled when OPENAI_API_KEY,
# ANTHROPIC_API_KEY or GEMINI_API_KEY are set.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWITCHYARD_PORT="${SWITCHYARD_PORT:-8080}" LLAMA_PORT="${LLAMA_PORT:-8081}"

scripts/setup.sh
echo "quickstart: swift build -c release (the first build takes several minutes)"
swift build -c release --product switchyard
llama_pid="$(scripts/local-model.sh)"
gateway_pid=""
cleanup() {
  [[ -n "$gateway_pid" ]] && kill "$gateway_pid" 2>/dev/null || true
  [[ -n "$llama_pid" ]] && kill "$llama_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

.build/release/switchyard serve --config config/quickstart.yaml &
gateway_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$SWITCHYARD_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

echo
echo "quickstart: asking the local model through the gateway:"
curl -s "http://127.0.0.1:$SWITCHYARD_PORT/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"local-small","messages":[{"role":"user","content":"In one sentence, what is an LLM gateway?"}],"max_tokens":60}' |
  .venv/bin/python -c 'import json,sys; r=json.load(sys.stdin); print("  " + (r["choices"][0]["message"]["content"] if "choices" in r else json.dumps(r)))'
echo
echo "Switchyard is serving on http://127.0.0.1:$SWITCHYARD_PORT/v1 (Ctrl-C stops it)."
echo "  OpenAI SDK: OpenAI(base_url=\"http://127.0.0.1:$SWITCHYARD_PORT/v1\", api_key=\"unused\")"
wait "$gateway_pid"

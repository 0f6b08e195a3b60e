#!/usr/bin/env bash
# Gateway overhead, side by side with LiteLLM, on the shared loopback harness: latency
# p50/p99 at concurrency 1/16/64, throughput, RSS and streaming time-to-first-byte.
# Usage: bench/gateway.sh            (Switchyard + LiteLLM default and tuned modes)
#        LITELLM_MODES="" bench/gateway.sh   (Switchyard against the direct baseline only)
# Results land in /tmp/peerbench/results/<timestamp>/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS="${HARNESS:-$(cd .. && pwd)/shared/bench}"
[[ -d "$HARNESS" ]] || { echo "bench: the shared harness is not at $HARNESS (set HARNESS)" >&2; exit 1; }
BIN="${SWITCHYARD_BIN:-}"
if [[ -z "$BIN" ]]; then
  swift build -c release --product switchyard
  BIN="$(pwd)/.build/release/switchyard"
fi
bash "$HARNESS/setup_peers.sh"
export TARGET_URL="http://127.0.0.1:${BENCH_PORT:-28300}" TARGET_NAME="${TARGET_NAME:-switchyard}"
export TARGET_CMD="$BIN serve --config $(pwd)/bench/switchyard-bench.yaml --log-level ${BENCH_LOG_LEVEL:-info}"
export TARGET_READY_PATH=/healthz
exec bash "$HARNESS/run_peers.sh"

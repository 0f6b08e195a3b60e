#!/usr/bin/env bash
# Cost of the whole policy decision (detection + filtering + heuristic) for a 2 KB and a
# 100 KB prompt: p50/p99 over many runs, wall and thread-CPU time.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product policy-bench ${SCRATCH:+--scratch-path "$SCRATCH"}
bin="$(swift build -c release --product policy-bench ${SCRATCH:+--scratch-path "$SCRATCH"} --show-bin-path)/policy-bench"
"$bin" 2k
"$bin" 100k
"$bin" parts

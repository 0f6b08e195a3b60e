#!/usr/bin/env bash
# The whole test suite: Swift unit tests, then end-to-end tests where the official
# OpenAI/Anthropic/Google SDKs drive the gateway, the provider simulators and the real
# llama.cpp server with SmolLM2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
# One test at a time: the router-training tests keep both CPUs of a small machine busy for
# seconds, and tests that time an upstream's silence must not wait behind them for a thread.
swift test --skip-build --no-parallel
.venv/bin/python -m pytest -q sim/tests tests/integration

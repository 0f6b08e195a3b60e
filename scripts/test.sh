#!/usr/bin/env bash
# The whole test suite: Swift unit tests, then end-to-end tests where the official
# OpenAI/Anthropic/Google SDKs drive the gateway, the provider simulators and the real
# llama.cpp server with SmolLM2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build
.venv/bin/python -m pytest -q sim/tests tests/integration

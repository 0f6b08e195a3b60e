#!/usr/bin/env bash
# How a proxy's added streaming time-to-first-byte depends on the pause before a request.
#
# The harness's streams last about 25 ms (20 tokens, 1 ms apart), so every stream request
# reaches the proxy after 25 ms of other work on this 2-vCPU machine: the client's and the
# upstream's Python processes run, and so does whatever the host schedules on these cores.
# This script takes the stream's length out: the upstream sends one token at once, and the
# one-write client (bench/ttfb_client.py) sleeps PAUSES milliseconds before each request.
# A proxy whose request path touches little code and data (nginx) loses little to a pause;
# one whose path is long pays for every cache line again.
#
# Targets: the upstream directly, nginx as a streaming reverse proxy, the bench/nio-floor
# relay that parses HTTP without a Swift task, and Switchyard (SWITCHYARD_BIN, required).
# SPIN=1 also runs one busy loop per vCPU at SCHED_IDLE priority, which keeps the vCPUs
# from halting without taking time from anything else: if the pause still costs as much,
# what is lost is cache contents, not the wake-up of a halted vCPU.
# Prints the median TTFB over ROUNDS alternating rounds and what each target adds.
# Needs ../shared/bench/setup_peers.sh to have run (nginx, /tmp/peerbench/toolvenv).
# Usage: SWITCHYARD_BIN=path [PAUSES="0 2 25"] [ROUNDS=3] [SPIN=1] bench/ttfb-idle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS="${HARNESS:-$(cd .. && pwd)/shared/bench}"
PY="${TOOLVENV:-/tmp/peerbench/toolvenv}/bin/python"
ROUNDS="${ROUNDS:-3}"
PAUSES="${PAUSES:-0 2 25}"
: "${SWITCHYARD_BIN:?set SWITCHYARD_BIN to a release build of switchyard}"
UP=28291 PROXY=28292 GW=28293 FLOOR_PORT=28294
WORK="$(mktemp -d /tmp/ttfb-idle.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
command -v nginx >/dev/null && [[ -x "$PY" ]] || { echo "needs nginx and $PY (run ../shared/bench/setup_peers.sh)" >&2; exit 1; }

"$PY" "$HARNESS/upstream/fake_upstream.py" --port "$UP" --stream-tokens 1 --token-delay-ms 0 > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
mkdir -p "$WORK/proxy"
cat > "$WORK/proxy/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/proxy/nginx.pid;
error_log $WORK/proxy/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/proxy/b; proxy_temp_path $WORK/proxy/p;
    fastcgi_temp_path $WORK/proxy/f; uwsgi_temp_path $WORK/proxy/u; scgi_temp_path $WORK/proxy/s;
    upstream up { server 127.0.0.1:$UP; keepalive 16; }
    server {
        listen 127.0.0.1:$PROXY;
        location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
    }
}
CONF
nginx -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf" -e "$WORK/proxy/error.log" & PIDS+=($!)
swift build -c release --package-path bench/nio-floor >&2
FLOOR="$(swift build -c release --package-path bench/nio-floor --show-bin-path)/nio-floor"
"$FLOOR" "$FLOOR_PORT" "$UP" http > /dev/null & PIDS+=($!)
sed -e "s#\${UPSTREAM_STREAM_BASE:-http://127.0.0.1:28082/v1}#http://127.0.0.1:$UP/v1#" \
    -e "s#\${SWITCHYARD_BENCH_DATABASE:-../var/bench.db}#$WORK/bench.db#" bench/switchyard-bench.yaml > "$WORK/gw.yaml"
"$SWITCHYARD_BIN" serve --config "$WORK/gw.yaml" --port "$GW" > "$WORK/gw.log" 2>&1 & PIDS+=($!)
TARGETS=("direct $UP" "nginx-proxy $PROXY" "nio-http $FLOOR_PORT" "switchyard $GW")
if [[ "${SPIN:-0}" == 1 ]]; then
  for cpu in $(seq 0 $(($(nproc) - 1))); do
    taskset -c "$cpu" "$PY" -c 'import os; os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
while True: pass' & PIDS+=($!)
  done
fi
sleep 3
: > "$WORK/rows"
for round in $(seq "$ROUNDS"); do
  for pause in $PAUSES; do
    for t in "${TARGETS[@]}"; do
      read -r name port <<<"$t"
      p50=$("$PY" bench/ttfb_client.py "$port" --n 150 --pause-ms "$pause" |
        "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["ttfb_p50_ms"])')
      echo "$name $pause $p50" >> "$WORK/rows"
      printf '%-12s round %d  pause %3s ms  TTFB p50 %6.3f ms\n' "$name" "$round" "$pause" "$p50"
    done
  done
done
"$PY" - "$WORK/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, pause, p50 = line.split()
    rows.setdefault((name, float(pause)), []).append(float(p50))
med = {k: statistics.median(v) for k, v in rows.items()}
pauses = sorted({p for _, p in med})
names = list(dict.fromkeys(n for n, _ in med))
print("\nTTFB p50 (ms) and, in brackets, what the target adds to direct, by pause before each request:\n")
print("| target | " + " | ".join(f"pause {p:g} ms" for p in pauses) + " |")
print("|---|" + "---:|" * len(pauses))
for n in names:
    cells = []
    for p in pauses:
        v = med[(n, p)]
        cells.append(f"{v:.3f}" if n == "direct" else f"{v:.3f} ({v - med[('direct', p)]:+.3f})")
    print(f"| {n} | " + " | ".join(cells) + " |")
PY

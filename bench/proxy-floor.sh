#!/usr/bin/env bash
# What any reverse proxy adds on this machine: nginx as a keep-alive reverse proxy in front
# of the harness's fixed-body nginx upstream, against that upstream directly, at c=1 with
# wrk (the same Lua script as the gateway benchmark). The floor the gateway's c=1 latency
# is compared with in BENCHMARKS.md. Optionally the gateway too: SWITCHYARD_BIN=path; and
# with NIO_FLOOR=1 the least any SwiftNIO proxy pays here (bench/nio-floor: a byte relay, an
# HTTP-parsing relay, and one that awaits each answer in a Swift task).
# Usage: bench/proxy-floor.sh [seconds per point, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS="${HARNESS:-$(cd .. && pwd)/shared/bench}"
DUR="${1:-5}"
UP=28181 PROXY=28190 GW=28191
WORK="$(mktemp -d /tmp/proxy-floor.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "needs nginx and wrk (run ../shared/bench/setup_peers.sh)" >&2; exit 1; }

mkdir -p "$WORK/up" "$WORK/proxy"
sed -e "s#@PREFIX@#$WORK/up#g" -e "s#@PORT@#$UP#g" -e "s#@WORKERS@#1#g" "$HARNESS/upstream/nginx.conf.tmpl" > "$WORK/up/nginx.conf"
cat > "$WORK/proxy/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/proxy/nginx.pid;
error_log $WORK/proxy/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/proxy/b; proxy_temp_path $WORK/proxy/p;
    fastcgi_temp_path $WORK/proxy/f; uwsgi_temp_path $WORK/proxy/u; scgi_temp_path $WORK/proxy/s;
    keepalive_requests 1000000;
    upstream up { server 127.0.0.1:$UP; keepalive 64; }
    server {
        listen 127.0.0.1:$PROXY;
        location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
    }
}
CONF
nginx -p "$WORK/up" -c "$WORK/up/nginx.conf" -e "$WORK/up/error.log" & PIDS+=($!)
nginx -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf" -e "$WORK/proxy/error.log" & PIDS+=($!)
TARGETS=("direct $UP" "nginx-proxy $PROXY")
if [[ -n "${SWITCHYARD_BIN:-}" ]]; then
  sed -e "s#\${UPSTREAM_NONSTREAM_BASE:-http://127.0.0.1:28081/v1}#http://127.0.0.1:$UP/v1#" \
      -e "s#\${SWITCHYARD_BENCH_DATABASE:-../var/bench.db}#$WORK/bench.db#" bench/switchyard-bench.yaml > "$WORK/gw.yaml"
  "$SWITCHYARD_BIN" serve --config "$WORK/gw.yaml" --port "$GW" > "$WORK/gw.log" 2>&1 & PIDS+=($!)
  TARGETS+=("switchyard $GW")
fi
if [[ -n "${NIO_FLOOR:-}" ]]; then
  swift build -c release --package-path bench/nio-floor >&2
  FLOOR="$(swift build -c release --package-path bench/nio-floor --show-bin-path)/nio-floor"
  port=28192
  for mode in bytes http await; do
    "$FLOOR" "$port" "$UP" "$mode" > /dev/null & PIDS+=($!)
    TARGETS+=("nio-$mode $port")
    port=$((port + 1))
  done
fi
sleep 2
for t in "${TARGETS[@]}"; do
  read -r name port <<<"$t"
  for round in 1 2; do
    out=$(wrk -t1 -c1 -d"${DUR}s" -s "$HARNESS/lib/post.lua" "http://127.0.0.1:$port/v1/chat/completions" | grep BENCHJSON)
    p50=$(grep -o '"lat_p50_us":[0-9]*' <<<"$out" | cut -d: -f2)
    p99=$(grep -o '"lat_p99_us":[0-9]*' <<<"$out" | cut -d: -f2)
    n=$(grep -o '"requests":[0-9]*' <<<"$out" | cut -d: -f2)
    printf '%-12s round %d  c=1  p50 %5d us  p99 %5d us  %6d req/s\n' "$name" "$round" "$p50" "$p99" $((n / DUR))
  done
done

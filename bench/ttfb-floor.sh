#!/usr/bin/env bash
# What any proxy adds to streaming time-to-first-byte on this machine, side by side: the
# harness's SSE upstream directly; nginx as a streaming reverse proxy (it reads the whole
# request before calling the upstream, as a gateway must); the three bench/nio-floor relays
# (bytes unparsed; HTTP parsed, no Swift task; HTTP parsed and awaited in a Swift task);
# and Switchyard when SWITCHYARD_BIN is set. Two clients: the harness's own (httpx, which
# writes a request's head and body separately) and bench/ttfb_client.py (one write).
# Prints medians over ROUNDS alternating rounds, and what each target adds to "direct".
# Needs ../shared/bench/setup_peers.sh to have run (nginx, /tmp/peerbench/toolvenv).
# Usage: [SWITCHYARD_BIN=path] [ROUNDS=3] bench/ttfb-floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS="${HARNESS:-$(cd .. && pwd)/shared/bench}"
PY="${TOOLVENV:-/tmp/peerbench/toolvenv}/bin/python"
ROUNDS="${ROUNDS:-3}"
UP=28281 PROXY=28282 GW=28283 FLOORS=28284
WORK="$(mktemp -d /tmp/ttfb-floor.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
command -v nginx >/dev/null && [[ -x "$PY" ]] || { echo "needs nginx and $PY (run ../shared/bench/setup_peers.sh)" >&2; exit 1; }

"$PY" "$HARNESS/upstream/fake_upstream.py" --port "$UP" > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
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
TARGETS=("direct $UP" "nginx-proxy $PROXY")
swift build -c release --package-path bench/nio-floor >&2
FLOOR="$(swift build -c release --package-path bench/nio-floor --show-bin-path)/nio-floor"
port=$FLOORS
for mode in bytes http await; do
  "$FLOOR" "$port" "$UP" "$mode" > /dev/null & PIDS+=($!)
  TARGETS+=("nio-$mode $port")
  port=$((port + 1))
done
if [[ -n "${SWITCHYARD_BIN:-}" ]]; then
  sed -e "s#\${UPSTREAM_STREAM_BASE:-http://127.0.0.1:28082/v1}#http://127.0.0.1:$UP/v1#" \
      -e "s#\${SWITCHYARD_BENCH_DATABASE:-../var/bench.db}#$WORK/bench.db#" bench/switchyard-bench.yaml > "$WORK/gw.yaml"
  "$SWITCHYARD_BIN" serve --config "$WORK/gw.yaml" --port "$GW" > "$WORK/gw.log" 2>&1 & PIDS+=($!)
  TARGETS+=("switchyard $GW")
fi
sleep 3
: > "$WORK/rows"
for round in $(seq "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    read -r name port <<<"$t"
    httpx=$("$PY" "$HARNESS/lib/ttfb.py" --url "http://127.0.0.1:$port/v1/chat/completions" --n 200 --warmup 10 --max-seconds 10 |
      "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["ttfb_ms"]["p50"])')
    single=$("$PY" bench/ttfb_client.py "$port" --n 200 |
      "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["ttfb_p50_ms"])')
    echo "$name $httpx $single" >> "$WORK/rows"
    printf '%-12s round %d  TTFB p50: httpx %6.3f ms  one-write %6.3f ms\n' "$name" "$round" "$httpx" "$single"
  done
done
"$PY" - "$WORK/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, httpx, single = line.split()
    rows.setdefault(name, ([], []))
    rows[name][0].append(float(httpx)); rows[name][1].append(float(single))
med = {k: (statistics.median(a), statistics.median(b)) for k, (a, b) in rows.items()}
d = med["direct"]
print("\n| target | TTFB p50, httpx | added | TTFB p50, one write | added |")
print("|---|---:|---:|---:|---:|")
for name, (h, s) in med.items():
    print(f"| {name} | {h:.3f} ms | {h - d[0]:+.3f} | {s:.3f} ms | {s - d[1]:+.3f} |")
PY

#!/usr/bin/env python3
"""Streaming time-to-first-byte with the whole request in one TCP segment.

usage: ttfb_client.py PORT [--n 250] [--warmup 10] [--model fake-model-stream] [--pause-ms 0]

The shared harness's client (httpx) sends a request's head and body in two writes, a
fraction of a millisecond apart. A proxy that relays bytes unparsed forwards the head at
once, so the upstream parses it while the body is still on its way; a proxy that must
read the body first (every gateway: the model is in the body) cannot. This client sends
head and body in one `sendall`, which takes that overlap out of the comparison.

Sequential requests on one keep-alive connection; prints one JSON line with the median
and p90 of the time to the first body byte (ms). `--pause-ms` sleeps before each request,
to see whether a request waits on work left over from the previous one.
"""
import argparse
import json
import socket
import statistics
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--model", default="fake-model-stream")
    ap.add_argument("--pause-ms", type=float, default=0.0)
    a = ap.parse_args()
    body = json.dumps({"model": a.model, "stream": True, "max_tokens": 64,
                       "messages": [{"role": "user", "content": "Say hello."}]}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", a.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for i in range(a.warmup + a.n):
        if a.pause_ms > 0:
            time.sleep(a.pause_ms / 1000.0)
        t0 = time.perf_counter()
        sock.sendall(head + body)
        buf, first = b"", None
        # Chunked SSE answer: read until the last chunk (`0\r\n\r\n`).
        while not buf.endswith(b"\r\n0\r\n\r\n"):
            data = sock.recv(65536)
            if not data:
                raise SystemExit("the server closed the connection")
            buf += data
            if first is None and b"\r\n\r\n" in buf and buf.split(b"\r\n\r\n", 1)[1]:
                first = time.perf_counter()
        if not buf.startswith(b"HTTP/1.1 200"):
            raise SystemExit("unexpected answer: " + buf[:200].decode(errors="replace"))
        if i >= a.warmup:
            samples.append((first - t0) * 1000.0)
    samples.sort()
    print(json.dumps({"n": len(samples), "ttfb_p50_ms": round(statistics.median(samples), 3),
                      "ttfb_p90_ms": round(samples[int(0.9 * (len(samples) - 1))], 3)}))


if __name__ == "__main__":
    main()

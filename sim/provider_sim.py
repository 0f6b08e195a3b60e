#!/usr/bin/env python3
"""Local simulator of a closed LLM provider API (OpenAI, Anthropic or Gemini).

Why: the gateway's provider adapters, retry/timeout logic and benchmarks need an
upstream that speaks each provider's exact wire format but runs offline,
deterministically, and can be told to fail.  Standard library only, so any
python3 (3.10+) runs it.

    python3 sim/provider_sim.py --provider openai|anthropic|gemini --port N
        [--host 127.0.0.1] [--api-key KEY] [--latency-ms X] [--token-delay-ms Y]
        [--ready-file PATH] [--verbose] [--journal-limit N]

Prints `listening on http://HOST:PORT` (flushed) once the socket accepts
connections; --port 0 picks a free port and prints it.  --ready-file gets the
same URL once ready.  The HTTP layer is ThreadingHTTPServer with HTTP/1.1
keep-alive: JSON bodies carry Content-Length, streams use chunked
transfer-encoding with one HTTP chunk per SSE event (so faults can cut between
events).  Control endpoints live under /_sim/ (see control.py and README.md).
"""

from __future__ import annotations

import argparse
import ssl
import json
import os
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from anthropic_wire import AnthropicWire  # noqa: E402
from control import ControlState  # noqa: E402
from gemini_wire import GeminiWire  # noqa: E402
from openai_wire import OpenAIWire  # noqa: E402
from wire_common import (BAD_JSON, NO_BODY, JsonResponse, Request,  # noqa: E402
                         StreamResponse, WireError, dumps)

WIRES = {"openai": OpenAIWire, "anthropic": AnthropicWire, "gemini": GeminiWire}
MAX_BODY = 64 * 1024 * 1024


class BadFraming(Exception):
    pass


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # listen backlog: benchmarks open many connections at once

    def __init__(self, addr, wire, latency_ms: float, token_delay_ms: float, verbose: bool,
                 journal_limit: int = 10000):
        super().__init__(addr, Handler)
        self.wire = wire
        self.state = ControlState(journal_limit)
        self.latency_s = latency_ms / 1000.0
        self.token_delay_s = token_delay_ms / 1000.0
        self.verbose = verbose

    def handle_error(self, request, client_address):
        # A client resetting its connection while the handler waits for the next request
        # (a gateway dropping a pooled keep-alive connection, a cancelled stream) is normal
        # for a server, not a simulator bug; anything else still prints its traceback.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer

    def version_string(self) -> str:
        return "provider-sim/1.0"

    def setup(self):
        super().setup()
        # head and body go out in separate writes; without NODELAY, Nagle + delayed ACK
        # would add ~40 ms to every response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    # ---- request ----------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BadFraming("bad chunk size")
                if size == 0:
                    while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    raise BadFraming("body too large")
                out += self.rfile.read(size)
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BadFraming("bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise BadFraming("bad Content-Length")
        return self.rfile.read(n)

    def _parse_request(self) -> Request:
        body = self._read_body()
        split = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if not body.strip():
            parsed = NO_BODY
        else:
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                parsed = BAD_JSON
        return Request(self.command, split.path, self.path, dict(parse_qsl(split.query)),
                       headers, body, parsed)

    # ---- dispatch ---------------------------------------------------------------
    def _dispatch(self):
        wire = self.server.wire
        try:
            try:
                req = self._parse_request()
            except BadFraming as exc:
                self.close_connection = True
                self._send_json(wire.error(400, f"Malformed request: {exc}"))
                return
            if req.path.startswith("/_sim/") or req.path == "/_sim":
                self._control(req)
                return
            self.server.state.record({
                "method": req.method, "path": req.target, "headers": req.headers,
                "body": None if req.json is NO_BODY else (
                    req.body.decode("utf-8", "replace") if req.json is BAD_JSON else req.json)})
            fault = self.server.state.take_fault(req.method, req.target) or {}
            delay = self.server.latency_s + _num(fault.get("delay_headers_ms")) / 1000.0
            if delay > 0:
                time.sleep(delay)
            try:
                if "status" in fault:
                    resp = wire.error(int(fault["status"]), fault.get("message"),
                                      etype=fault.get("type"), retry_after=fault.get("retry_after"))
                else:
                    resp = wire.handle(req)
            except WireError as exc:
                resp = exc.response
            except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
                # a body shape the wire module did not anticipate: it is the client's fault
                if self.server.verbose:
                    traceback.print_exc(file=sys.stderr)
                resp = wire.error(400, f"Invalid request: {type(exc).__name__}: {exc}")
            except Exception:  # never crash on odd input: answer like the provider would
                traceback.print_exc(file=sys.stderr)
                resp = wire.error(500)
            if isinstance(resp, StreamResponse):
                self._send_stream(resp, fault)
            else:
                self._send_json(resp, fault)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True

    def _control(self, req: Request):
        state = self.server.state
        route = (req.method, req.path.rstrip("/"))
        if route == ("GET", "/_sim/health"):
            return self._send_json(JsonResponse(200, {"status": "ok",
                                                      "provider": self.server.wire.name}))
        if route == ("GET", "/_sim/requests"):
            return self._send_json(JsonResponse(200, state.requests()))
        if route == ("POST", "/_sim/reset"):
            state.reset()
            return self._send_json(JsonResponse(200, {"ok": True}))
        if route == ("GET", "/_sim/faults"):
            return self._send_json(JsonResponse(200, state.faults()))
        if route == ("POST", "/_sim/faults"):
            try:
                if req.json is BAD_JSON or req.json is NO_BODY:
                    raise ValueError("body must be JSON")
                faults = state.validate(req.json)
            except ValueError as exc:
                return self._send_json(JsonResponse(400, {"error": str(exc)}))
            state.add_faults(faults)
            return self._send_json(JsonResponse(200, {"queued": len(faults)}))
        return self._send_json(JsonResponse(404, {"error": f"no control route {req.method} "
                                                           f"{req.path}"}))

    # ---- responses --------------------------------------------------------------
    def _head(self, status: int, headers: dict[str, str]):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send_json(self, resp: JsonResponse, fault: dict | None = None):
        fault = fault or {}
        data = dumps(resp.body)
        headers = {"content-type": "application/json"}
        headers.update(resp.headers)
        headers["content-length"] = str(len(data))
        self._head(resp.status, headers)
        if "drop_after_chunks" in fault:
            return self._abort()
        if "stall_after_chunks" in fault:
            time.sleep(_num(fault.get("stall_ms")) / 1000.0)
        self.wfile.write(data)
        self.wfile.flush()

    def _send_stream(self, resp: StreamResponse, fault: dict):
        headers = {"content-type": resp.content_type, "cache-control": "no-cache",
                   "transfer-encoding": "chunked"}
        headers.update(resp.headers)
        self._head(200, headers)
        stall_at = _opt_int(fault.get("stall_after_chunks"))
        drop_at = _opt_int(fault.get("drop_after_chunks"))
        error_at = _opt_int(fault.get("after_chunks"), 2) if fault.get("mid_stream_error") else None
        delay = self.server.token_delay_s
        if delay <= 0 and stall_at is None and drop_at is None and error_at is None:
            # fast path for benchmarks: same chunks, one write
            self.wfile.write(b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in resp.events if e)
                             + b"0\r\n\r\n")
            self.wfile.flush()
            return
        for i in range(len(resp.events) + 1):
            if i == drop_at:
                return self._abort()
            if i == error_at:
                self._chunk(resp.error_event)
                break
            if i == stall_at:
                time.sleep(_num(fault.get("stall_ms")) / 1000.0)
            if i == len(resp.events):
                break
            if i > 0 and delay > 0:
                time.sleep(delay)
            self._chunk(resp.events[i])
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes):
        if data:
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))
            self.wfile.flush()

    def _abort(self):
        """Close the connection without finishing the response."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _num(v) -> float:
    try:
        return max(float(v), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _opt_int(v, default=None):
    if v is None:
        return default
    try:
        return max(int(v), 0)
    except (TypeError, ValueError):
        return default


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--provider", required=True, choices=sorted(WIRES))
    ap.add_argument("--port", type=int, required=True, help="0 = pick a free port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--api-key", default=None, help="require this key (provider's own header)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="sleep before each response head")
    ap.add_argument("--token-delay-ms", type=float, default=0.0, help="sleep between stream events")
    ap.add_argument("--ready-file", default=None, help="write the URL here once listening")
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    ap.add_argument("--tls-cert", default=None, help="serve HTTPS with this PEM certificate (with --tls-key)")
    ap.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    ap.add_argument("--journal-limit", type=int, default=10000,
                    help="keep at most this many requests for GET /_sim/requests (oldest dropped)")
    args = ap.parse_args(argv)

    wire = WIRES[args.provider](args.api_key)
    server = SimServer((args.host, args.port), wire, args.latency_ms, args.token_delay_ms,
                       args.verbose, args.journal_limit)
    host, port = server.server_address[:2]
    scheme = "http"
    if args.tls_cert:
        if not args.tls_key:
            ap.error("--tls-cert needs --tls-key")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    url = f"{scheme}://{host}:{port}"
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(url + "\n")
        os.replace(tmp, args.ready_file)
    print(f"listening on {url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

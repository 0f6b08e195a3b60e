"""The gateway's own HTTP/1.1 server, driven over raw sockets: keep-alive, pipelining,
`Connection: close`, HTTP/1.0, chunked request bodies, bodies over the limit, malformed
requests. What clients and proxies in front of the gateway rely on."""

from __future__ import annotations

import json
import socket
import time

import pytest

from configs import SIM_ENV, config, sim_models


@pytest.fixture
def gw(gateway_factory, fresh_sims):
    cfg = config(sim_models(fresh_sims)).replace(
        "server: {host: 127.0.0.1, port: 0}", "server: {host: 127.0.0.1, port: 0, max_body_bytes: 4096}")
    return gateway_factory(cfg, SIM_ENV)


def chat_body(content: str = "hello world") -> bytes:
    return json.dumps({"model": "oai", "messages": [{"role": "user", "content": content}]}).encode()


def post(body: bytes, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    return (f"POST /v1/chat/completions {version}\r\nHost: gw\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


class Conn:
    """A raw connection that reads whole HTTP/1.1 responses (Content-Length or chunked)."""

    def __init__(self, gw):
        self.sock = socket.create_connection(("127.0.0.1", gw.port), timeout=15)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def _take_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            assert self._fill(), "connection closed mid-response"
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            assert self._fill(), "connection closed mid-body"
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self) -> tuple[int, dict, bytes]:
        status = int(self._take_line().split()[1])
        headers = {}
        while (line := self._take_line()):
            name, value = line.decode().split(":", 1)
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            body = b""
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:
            assert headers.get("transfer-encoding") == "chunked", headers
            body = b""
            while (size := int(self._take_line(), 16)):
                body += self._take(size)
                self._take_line()
            self._take_line()
        return status, headers, body

    def closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def test_keep_alive_serves_many_requests_on_one_connection(gw):
    conn = Conn(gw)
    for i in range(5):
        conn.send(post(chat_body(f"request {i}")))
        status, headers, body = conn.response()
        assert status == 200
        assert headers["x-switchyard-model"] == "oai"
        assert json.loads(body)["object"] == "chat.completion"
    conn.close()


def test_pipelined_requests_are_answered_in_order(gw):
    conn = Conn(gw)
    # Three requests in one write: an answer, an unknown model, an answer.
    unknown = json.dumps({"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}).encode()
    conn.send(post(chat_body("one")) + post(unknown) + post(chat_body("three")))
    statuses = [conn.response()[0] for _ in range(3)]
    assert statuses == [200, 404, 200]
    conn.close()


def test_connection_close_is_honoured(gw):
    conn = Conn(gw)
    conn.send(post(chat_body(), extra="Connection: close\r\n"))
    status, headers, _ = conn.response()
    assert status == 200
    assert headers.get("connection") == "close"
    assert conn.closed_by_peer()
    conn.close()


def test_http_1_0_gets_an_answer_and_a_close(gw):
    conn = Conn(gw)
    conn.send(post(chat_body(), version="HTTP/1.0"))
    status, _, body = conn.response()
    assert status == 200
    assert json.loads(body)["choices"]
    assert conn.closed_by_peer()
    conn.close()


def test_chunked_request_body_is_accepted(gw):
    body = chat_body("sent in chunks")
    parts = [body[:10], body[10:25], body[25:]]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    conn = Conn(gw)
    conn.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
    status, _, resp = conn.response()
    assert status == 200, resp
    conn.close()


def test_chunked_body_over_the_limit_is_413_in_openai_shape(gw):
    body = chat_body("x" * 6000)
    conn = Conn(gw)
    conn.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    status, headers, resp = conn.response()
    assert status == 413
    assert json.loads(resp)["error"]["code"] == "request_too_large"
    assert headers.get("connection") == "close"
    conn.close()
    # The gateway is still up for the next client.
    assert gw.http.get("/healthz").status_code == 200


def test_anthropic_route_gets_its_own_413_shape(gw):
    body = json.dumps({"model": "oai", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 6000}]}).encode()
    conn = Conn(gw)
    conn.send(b"POST /v1/messages HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    status, _, resp = conn.response()
    assert status == 413
    error = json.loads(resp)
    assert error["type"] == "error" and error["error"]["type"] == "request_too_large"
    conn.close()


def test_malformed_request_line_is_400_and_closes(gw):
    conn = Conn(gw)
    conn.send(b"THIS IS NOT HTTP\r\n\r\n")
    status, _, _ = conn.response()
    assert status == 400
    assert conn.closed_by_peer()
    conn.close()
    assert gw.http.get("/healthz").status_code == 200


def test_expect_100_continue_is_answered_before_the_body(gw):
    body = chat_body("y" * 2000)
    conn = Conn(gw)
    conn.send(f"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
    # The interim answer comes without the body having been sent.
    conn.sock.settimeout(2)
    status, _, _ = conn.response()
    assert status == 100
    conn.send(body)
    status, headers, resp = conn.response()
    assert status == 200
    assert json.loads(resp)["object"] == "chat.completion"
    conn.close()


def test_expect_100_continue_over_the_limit_gets_413_without_sending_the_body(gw):
    conn = Conn(gw)
    conn.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
    conn.sock.settimeout(2)
    status, _, resp = conn.response()
    assert status == 413
    assert json.loads(resp)["error"]["code"] == "request_too_large"
    assert conn.closed_by_peer()
    conn.close()


@pytest.fixture
def gw_idle(gateway_factory, fresh_sims):
    cfg = config(sim_models(fresh_sims)).replace(
        "server: {host: 127.0.0.1, port: 0}", "server: {host: 127.0.0.1, port: 0, idle_timeout: 800ms}")
    return gateway_factory(cfg, SIM_ENV)


def test_idle_connections_are_closed_after_idle_timeout(gw_idle):
    conn = Conn(gw_idle)
    conn.send(post(chat_body()))
    status, headers, _ = conn.response()
    assert status == 200
    assert headers.get("date", "").endswith(" GMT")
    conn.sock.settimeout(5)
    start = time.monotonic()
    assert conn.closed_by_peer()
    assert 0.5 < time.monotonic() - start < 3
    conn.close()


def test_a_slow_answer_is_not_cut_by_the_idle_timeout(gw_idle, fresh_sims):
    # The upstream takes longer than the idle timeout to answer: the request is in flight.
    fresh_sims["openai"].faults({"delay_headers_ms": 1500})
    conn = Conn(gw_idle)
    conn.sock.settimeout(10)
    conn.send(post(chat_body()))
    status, _, body = conn.response()
    assert status == 200, body
    conn.close()


def test_a_trickled_body_gets_408_within_the_idle_timeout(gw_idle):
    body = chat_body("slow")
    conn = Conn(gw_idle)
    conn.send(f"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(body)}\r\n\r\n".encode())
    start = time.monotonic()
    # One byte every 200 ms: never idle, never complete.
    conn.sock.settimeout(0.2)
    got = b""
    for byte in body[:-1]:
        try:
            conn.sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            got += conn.sock.recv(65536)
        except socket.timeout:
            pass
        if b"\r\n\r\n" in got:
            break
        assert time.monotonic() - start < 5, "no answer to a trickled body"
    conn.buf = got
    conn.sock.settimeout(5)
    status, headers, resp = conn.response()
    assert status == 408
    assert json.loads(resp)["error"]["code"] == "request_timeout"
    assert 0.6 < time.monotonic() - start < 3
    conn.close()


def test_requests_sent_before_a_half_close_are_all_answered(gw):
    # A client that writes its requests and shuts its sending side (`nc -N`, some load
    # balancers' health checks) still gets every answer, in order, then the close.
    conn = Conn(gw)
    unknown = json.dumps({"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}).encode()
    conn.send(post(chat_body("one")) + post(unknown))
    conn.sock.shutdown(socket.SHUT_WR)
    assert [conn.response()[0] for _ in range(2)] == [200, 404]
    assert conn.closed_by_peer()
    conn.close()


def test_an_http_1_0_stream_is_not_chunked_and_ends_with_the_close(gw):
    body = json.dumps({"model": "oai", "stream": True, "messages": [{"role": "user", "content": "count"}]}).encode()
    conn = Conn(gw)
    conn.send(post(body, version="HTTP/1.0"))
    raw = b""
    while chunk := conn.sock.recv(65536):
        raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.decode().lower().split("\r\n")
    assert lines[0].startswith("http/1.0 200")
    assert "transfer-encoding: chunked" not in lines
    assert "connection: close" in lines
    # The SSE events arrive as they are, without chunk sizes between them.
    assert payload.startswith(b"data: {")
    assert payload.rstrip().endswith(b"data: [DONE]")
    conn.close()


def test_a_malformed_request_gets_a_json_400(gw):
    conn = Conn(gw)
    conn.send(b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n")
    status, headers, body = conn.response()
    assert status == 400
    assert headers.get("connection") == "close"
    assert json.loads(body)["error"]["code"] == "malformed_http"
    assert conn.closed_by_peer()
    conn.close()


def test_chat_route_with_a_query_string_and_other_methods(gw):
    # The chat routes are called without the router for POST; a query string does not
    # change the route, and other methods still get the router's answer in OpenAI's shape.
    conn = Conn(gw)
    body = chat_body("with a query")
    conn.send((f"POST /v1/chat/completions?trace=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    status, headers, resp = conn.response()
    assert status == 200, resp
    assert headers["x-switchyard-model"] == "oai"
    conn.send(b"GET /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n\r\n")
    status, _, resp = conn.response()
    assert status in (404, 405)
    assert "error" in json.loads(resp)
    conn.close()


def answer_text(headers: dict, body: bytes) -> str:
    """The assistant text of a plain answer or of an SSE stream (its deltas joined)."""
    if headers.get("content-type", "").startswith("text/event-stream"):
        assert body.rstrip().endswith(b"data: [DONE]"), body[-200:]
        text = ""
        for line in body.decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:]).get("choices") or []:
                    text += (choice.get("delta") or {}).get("content") or ""
        return text
    return json.loads(body)["choices"][0]["message"]["content"]


def test_many_connections_at_once_each_get_their_own_answers(gw):
    # Under load the global executor runs request steps interleaved on the event loops
    # (EventLoopGlobalExecutor switches mode by queue depth); every answer must still
    # belong to its own request, streamed or not, pipelined or one at a time.
    import threading

    clients, rounds = 24, 6
    failures: list[str] = []

    def client(n: int) -> None:
        try:
            conn = Conn(gw)
            for i in range(rounds):
                stream = (n + i) % 2 == 0
                texts = [f"client {n} round {i} part {p}" for p in range(2)]
                bodies = [json.dumps({"model": "oai", "stream": stream,
                                      "messages": [{"role": "user", "content": t}]}).encode() for t in texts]
                if i % 3 == 2:
                    conn.send(post(bodies[0]) + post(bodies[1]))  # pipelined pair
                    answers = [conn.response(), conn.response()]
                else:
                    answers = []
                    for b in bodies:
                        conn.send(post(b))
                        answers.append(conn.response())
                for text, (status, headers, body) in zip(texts, answers):
                    if status != 200:
                        failures.append(f"{text}: HTTP {status} {body[:200]!r}")
                    elif answer_text(headers, body) != "Echo: " + text:
                        failures.append(f"{text}: got {answer_text(headers, body)!r}")
            conn.close()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(f"client {n}: {error!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert failures == []

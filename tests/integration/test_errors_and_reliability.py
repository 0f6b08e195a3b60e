"""Bad input, upstream failures, retries, fallbacks (streams included), timeouts,
circuit breaking and load balancing, observed through real HTTP and the OpenAI SDK."""

from __future__ import annotations

import json
import os
import random
import time

import httpx
import openai
import pytest

from conftest import Sim, free_port
from configs import SIM_ENV, config, sim_models

MSG = [{"role": "user", "content": "hello world"}]


def client(gw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=30)


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert {"message", "type", "param", "code"} <= set(body["error"])
    return body["error"]


@pytest.fixture
def gw(gateway_factory, fresh_sims):
    extra = f"""
  - name: primary
    provider: anthropic
    base_url: {fresh_sims['anthropic'].url}
    upstream_model: claude-sim
    api_key: ${{ANTHROPIC_API_KEY}}
    openness: closed
    hosting: cloud
    fallbacks: [backup]
    timeouts: {{connect: 1s, first_byte: 700ms, idle: 700ms, total: 20s}}
    retry: {{max_retries: 0}}
  - name: backup
    provider: openai
    base_url: {fresh_sims['openai'].url}/v1
    upstream_model: gpt-backup
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
  - name: needs-key
    provider: anthropic
    base_url: {fresh_sims['anthropic'].url}
    api_key: ${{NOT_SET_ANYWHERE_KEY}}
    openness: closed
    hosting: cloud
    fallbacks: [backup]
"""
    return gateway_factory(config(sim_models(fresh_sims, first_byte="700ms", idle="700ms"), extra)
                           .replace("server: {host: 127.0.0.1, port: 0}", "server: {host: 127.0.0.1, port: 0, max_body_bytes: 4096}"),
                           SIM_ENV)


def test_malformed_json_is_400_in_openai_shape(gw):
    r = gw.http.post("/v1/chat/completions", content=b'{"model": "oai", "messages": [', headers={"content-type": "application/json"})
    assert r.status_code == 400
    err = error_of(r)
    assert err["type"] == "invalid_request_error" and err["code"] == "invalid_json"
    assert "byte" in err["message"]


def test_invalid_field_names_parameter(gw):
    r = gw.http.post("/v1/chat/completions", json={"model": "oai", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"})
    assert r.status_code == 400
    assert error_of(r)["param"] == "temperature"
    with pytest.raises(openai.BadRequestError):
        client(gw).chat.completions.create(model="oai", messages=[{"role": "robot", "content": "x"}])


def test_unknown_model_is_404(gw):
    with pytest.raises(openai.NotFoundError) as info:
        client(gw).chat.completions.create(model="no-such-model", messages=MSG)
    assert info.value.body["code"] == "model_not_found"


def test_body_over_limit_is_413(gw):
    r = gw.http.post("/v1/chat/completions", json={"model": "oai", "messages": [{"role": "user", "content": "x" * 10_000}]})
    assert r.status_code == 413
    assert error_of(r)["code"] == "request_too_large"


def test_unknown_route_is_openai_shaped_404(gw):
    r = gw.http.post("/v1/nope", json={})
    assert r.status_code == 404
    error_of(r)


def test_garbage_never_crashes_the_gateway(gw):
    rng = random.Random(7)
    bodies = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(40)]
    bodies += [b"[" * 5000, b'{"model":"oai","messages":[{"role":"user","content":"\xff\xfe"}]}', b"", b"null",
               b'{"model":"oai","messages":[{"role":"user","content":[{"type":"text"}]}]}',
               json.dumps({"model": "oai", "messages": [{"role": "tool", "content": "x", "tool_call_id": 5}]}).encode()]
    for body in bodies:
        r = gw.http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
        assert r.status_code in (400, 413), (body[:40], r.status_code, r.text)
        error_of(r)
    assert gw.http.get("/healthz").status_code == 200


def test_rate_limit_is_passed_through_with_retry_after(gw, fresh_sims):
    fresh_sims["gemini"].faults({"status": 429, "retry_after": 7, "count": 2})
    with pytest.raises(openai.RateLimitError) as info:
        client(gw).chat.completions.create(model="gem", messages=MSG)
    assert info.value.response.headers["retry-after"] == "7"
    # retry-after 7s exceeds max_retry_after (2s): no retry was attempted
    assert len(fresh_sims["gemini"].requests()) == 1


def test_transient_5xx_is_retried(gw, fresh_sims):
    fresh_sims["openai"].faults({"status": 503})
    completion = client(gw).chat.completions.create(model="oai", messages=MSG)
    assert completion.choices[0].message.content == "Echo: hello world"
    assert len(fresh_sims["openai"].requests()) == 2


def test_retry_after_is_honoured(gw, fresh_sims):
    fresh_sims["anthropic"].faults({"status": 529, "retry_after": 1})
    started = time.time()
    completion = client(gw).chat.completions.create(model="claude", messages=MSG)
    assert completion.choices[0].message.content == "Echo: hello world"
    assert time.time() - started >= 0.9


@pytest.mark.parametrize("stream", [False, True])
def test_fallback_when_primary_fails(gw, fresh_sims, stream):
    fresh_sims["anthropic"].faults({"status": 500})
    raw = client(gw).chat.completions.with_raw_response.create(model="primary", messages=MSG, stream=stream)
    assert raw.headers["x-switchyard-model"] == "backup"
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    else:
        text = raw.parse().choices[0].message.content
    assert text == "Echo: hello world"
    assert fresh_sims["openai"].requests()[-1]["body"]["model"] == "gpt-backup"


def test_stream_falls_back_on_first_byte_timeout(gw, fresh_sims):
    fresh_sims["anthropic"].faults({"delay_headers_ms": 2000})
    raw = client(gw).chat.completions.with_raw_response.create(model="primary", messages=MSG, stream=True)
    assert raw.headers["x-switchyard-model"] == "backup"
    assert "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices) == "Echo: hello world"


def test_stream_error_before_content_falls_back(gw, fresh_sims):
    # message_start arrives, then an overloaded error: nothing reached the client yet.
    fresh_sims["anthropic"].faults({"mid_stream_error": True, "after_chunks": 1})
    raw = client(gw).chat.completions.with_raw_response.create(model="primary", messages=MSG, stream=True)
    assert raw.headers["x-switchyard-model"] == "backup"
    assert "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices) == "Echo: hello world"


def test_first_byte_timeout_without_fallback_is_504(gw, fresh_sims):
    fresh_sims["gemini"].faults({"delay_headers_ms": 2500})
    started = time.time()
    with pytest.raises(openai.APIStatusError) as info:
        client(gw).chat.completions.create(model="gem", messages=MSG)
    assert info.value.status_code == 504
    assert "gem: first byte timeout" in info.value.message
    assert time.time() - started < 2.0


def test_idle_timeout_mid_stream_ends_with_error_event(gw, fresh_sims):
    fresh_sims["openai"].faults({"stall_after_chunks": 3, "stall_ms": 3000})
    stream = client(gw).chat.completions.create(model="oai", messages=[{"role": "user", "content": "a b c d e f g"}], stream=True)
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    assert "idle timeout" in str(info.value)
    assert "".join(received).startswith("Echo:")


def test_all_attempts_failing_is_502_naming_deployments(gw, fresh_sims):
    fresh_sims["anthropic"].faults({"status": 500})
    fresh_sims["openai"].faults({"status": 500, "count": 2})
    with pytest.raises(openai.APIStatusError) as info:
        client(gw).chat.completions.create(model="primary", messages=MSG)
    assert info.value.status_code == 502
    assert "primary: HTTP 500" in info.value.message
    assert "backup: HTTP 500" in info.value.message


def test_model_without_key_gets_clear_error(gw, fresh_sims):
    with pytest.raises(openai.APIStatusError) as info:
        client(gw).chat.completions.create(model="needs-key", messages=MSG)
    assert info.value.status_code == 503
    assert info.value.body["code"] == "model_not_enabled"
    assert "NOT_SET_ANYWHERE_KEY" in info.value.message
    assert fresh_sims["anthropic"].requests() == []


def test_upstream_400_is_returned_not_retried(gw, fresh_sims):
    fresh_sims["anthropic"].faults({"status": 400, "message": "messages: bad thing"})
    with pytest.raises(openai.BadRequestError) as info:
        client(gw).chat.completions.create(model="primary", messages=MSG)
    assert "bad thing" in info.value.message
    assert fresh_sims["openai"].requests() == []


def test_secrets_do_not_reach_logs(gw, fresh_sims):
    fresh_sims["openai"].faults({"status": 500, "count": 2})
    with pytest.raises(openai.APIStatusError):
        client(gw).chat.completions.create(model="oai", messages=[{"role": "user", "content": "my secret prompt text"}])
    logs = gw.logs()
    assert "sk-test-key-123" not in logs
    assert "my secret prompt text" not in logs
    assert "upstream attempt failed" in logs


def test_load_balancing_and_circuit_breaker(gateway_factory, fresh_sims):
    second = Sim("openai")
    dead_port = free_port()
    try:
        cfg = config(f"""
  - name: pool
    provider: openai
    api_key: ${{OPENAI_API_KEY}}
    openness: open
    hosting: local
    retry: {{max_retries: 0}}
    deployments:
      - {{name: one, base_url: "{fresh_sims['openai'].url}/v1"}}
      - {{name: two, base_url: "{second.url}/v1"}}
      - {{name: dead, base_url: "http://127.0.0.1:{dead_port}/v1"}}
""")
        gw = gateway_factory(cfg, SIM_ENV)
        c = client(gw)
        served = []
        for _ in range(30):
            raw = c.chat.completions.with_raw_response.create(model="pool", messages=MSG)
            served.append(raw.headers["x-switchyard-deployment"])
        assert served.count("one") >= 5 and served.count("two") >= 5
        assert "dead" not in served
        # the breaker opened after 3 consecutive connection failures: no more attempts on "dead"
        failures = gw.logs().count("deployment=dead")
        assert failures == 3, gw.logs()
    finally:
        second.stop()


def _established_to(port: int) -> int:
    """Established TCP connections to 127.0.0.1:port, read from /proc (IPv4)."""
    count = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and int(remote.split(":")[1], 16) == port:
                count += 1
    return count


def test_client_disconnect_cancels_upstream_stream(gateway_factory, fresh_sims):
    # idle and first-byte limits far above the stall, so only the disconnect can end it
    gw = gateway_factory(config(sim_models(fresh_sims, first_byte="30s", idle="30s")), SIM_ENV)
    port = int(fresh_sims["openai"].url.rsplit(":", 1)[1])
    fresh_sims["openai"].faults({"stall_after_chunks": 2, "stall_ms": 4000})
    baseline = _established_to(port)  # the test harness's own control connection
    with httpx.Client(timeout=10) as raw:
        with raw.stream("POST", gw.url + "/v1/chat/completions",
                        json={"model": "oai", "stream": True, "messages": [{"role": "user", "content": "a b c d e f"}]}) as r:
            assert r.status_code == 200
            # Keep the iterator: a discarded one closes the response, and with it the connection.
            chunks = r.iter_raw()
            first = next(chunks)
            assert first.startswith(b"data: ")
            assert _established_to(port) >= baseline + 1
        # leaving the block closes the client connection mid-stream
    deadline = time.time() + 2.5
    while time.time() < deadline and _established_to(port) > baseline:
        time.sleep(0.05)
    # the upstream connection was closed long before the simulator's 4 s stall ended
    assert _established_to(port) == baseline
    assert gw.http.get("/healthz").status_code == 200

"""The hybrid policy end to end: profiles, routes, data classification, refusals,
redaction with re-fill, and the privacy invariant — checked on what the recording
cloud simulators actually received. The local tier is the real llama.cpp model."""

from __future__ import annotations

import json
import subprocess

import httpx
import openai
import pytest

from conftest import BIN, Sim, free_port
from configs import SIM_ENV

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"
AWS = "AKIAIOSFODNN7EXAMPLE"


def policy_config(sims, llama, local_extra: str = "") -> str:
    return f"""
server: {{host: 127.0.0.1, port: 0}}
models:
  - name: local-small
    provider: openai
    base_url: {llama}
    upstream_model: smollm2-135m
    openness: open
    hosting: local
    context_window: 2048
    capabilities: {{tools: false, json_schema: false}}
{local_extra}
  - name: claude
    provider: anthropic
    base_url: {sims['anthropic'].url}
    upstream_model: claude-sim
    api_key: ${{ANTHROPIC_API_KEY}}
    openness: closed
    hosting: cloud
    price: {{input_per_mtok: 15, output_per_mtok: 75}}
    quality_rank: 2
    retry: {{max_retries: 0}}
    fallbacks: [local-small]
  - name: gpt
    provider: openai
    base_url: {sims['openai'].url}/v1
    upstream_model: gpt-sim
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
    price: {{input_per_mtok: 2, output_per_mtok: 8}}
    retry: {{max_retries: 0}}
routing:
  default_profile: balanced
  profiles:
    - {{name: masked-cloud, allow_redaction: true, redaction: when-needed, strategy: strongest}}
  custom_rules:
    - {{name: project-codename, keywords: [bluebird], kind: custom, data_class: confidential}}
  routes:
    - {{name: auto, strategy: quality-router, threshold: 0.5}}
    - {{name: best, strategy: strongest}}
    - {{name: cheap, strategy: cheapest}}
"""


def cloud_requests(sims) -> list[dict]:
    return sims["anthropic"].requests() + sims["openai"].requests()


@pytest.fixture
def gw(gateway_factory, fresh_sims, llama):
    return gateway_factory(policy_config(fresh_sims, llama), SIM_ENV)


def chat(gw, model, content, headers=None, stream=False, max_tokens=8):
    c = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=120, default_headers=headers or {})
    raw = c.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], max_tokens=max_tokens, stream=stream)
    parsed = raw.parse()
    text = "".join(ch.choices[0].delta.content or "" for ch in parsed if ch.choices) if stream else parsed.choices[0].message.content
    return raw.headers, text


@pytest.mark.parametrize("secret,kind", [(CARD, "credit_card"), (AWS, "api_key"), ("bluebird", "custom")])
def test_sensitive_request_to_best_route_stays_local(gw, fresh_sims, secret, kind):
    headers, text = chat(gw, "best", f"Please summarise this note: {secret} is due Friday.")
    assert headers["x-switchyard-route"] == "best"
    assert headers["x-switchyard-model"] == "local-small"
    assert f"pii:{kind}" in headers["x-switchyard-decision"]
    assert "->local" in headers["x-switchyard-decision"] or "→" not in headers["x-switchyard-decision"]
    assert text.strip() != ""
    assert cloud_requests(fresh_sims) == []


def test_clean_request_to_best_route_goes_to_frontier(gw, fresh_sims):
    headers, text = chat(gw, "best", "Explain the proof that there are infinitely many primes.")
    assert headers["x-switchyard-model"] == "claude"
    assert headers["x-switchyard-decision"].startswith("strongest")
    assert text.startswith("Echo:")
    assert len(fresh_sims["anthropic"].requests()) == 1


def test_explicit_cloud_model_with_confidential_data_is_refused(gw, fresh_sims):
    with pytest.raises(openai.PermissionDeniedError) as info:
        chat(gw, "claude", f"my card is {CARD}")
    assert info.value.status_code == 403
    assert info.value.body["code"] == "policy_forbids_model"
    assert info.value.response.headers["x-switchyard-decision"].startswith("pii:credit_card")
    assert CARD not in info.value.message
    assert cloud_requests(fresh_sims) == []


def test_header_data_class_confidential_forces_local(gw, fresh_sims):
    headers, _ = chat(gw, "best", "Plain text, but the caller says it is confidential.",
                      headers={"x-switchyard-data-class": "confidential"})
    assert headers["x-switchyard-model"] == "local-small"
    assert "header:confidential" in headers["x-switchyard-decision"]
    assert cloud_requests(fresh_sims) == []


def test_invalid_data_class_header_is_400(gw):
    r = gw.http.post("/v1/chat/completions", json={"model": "best", "messages": [{"role": "user", "content": "x"}]},
                     headers={"x-switchyard-data-class": "secret-ish"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_data_class"


@pytest.mark.parametrize("profile,expected", [("privacy-first", "local-small"), ("max-quality", "claude"), ("prototype", "claude")])
def test_profiles(gw, fresh_sims, profile, expected):
    headers, _ = chat(gw, "auto", "Hello there, how are you?", headers={"x-switchyard-profile": profile})
    assert headers["x-switchyard-model"] == expected


def test_cheapest_route_picks_local(gw, fresh_sims):
    headers, _ = chat(gw, "cheap", "Hello")
    assert headers["x-switchyard-model"] == "local-small"
    assert headers["x-switchyard-decision"] == "cheapest->local-small"


def test_quality_router_heuristic_sends_hard_prompt_to_frontier_and_easy_to_local(gw, fresh_sims):
    easy, _ = chat(gw, "auto", "Hi! How are you?")
    assert easy["x-switchyard-model"] == "local-small"
    assert easy["x-switchyard-decision"].startswith("heuristic:")
    hard_prompt = ("Prove step by step that the function f(x) = x^3 - 3x + 1 has exactly three real roots, "
                   "then write a Python function that finds them with Newton's method, analyse its convergence "
                   "rate and explain why the derivative matters. First derive, then implement, finally compare.")
    hard, _ = chat(gw, "auto", hard_prompt)
    assert hard["x-switchyard-model"] == "claude", hard["x-switchyard-decision"]


def test_redaction_masks_cloud_request_and_refills_answer(gw, fresh_sims):
    content = f"Write to {EMAIL} about card {CARD} today"
    for stream in (False, True):
        fresh_sims["anthropic"].reset()
        headers, text = chat(gw, "best", content, headers={"x-switchyard-profile": "masked-cloud"}, stream=stream, max_tokens=64)
        assert headers["x-switchyard-model"] == "claude"
        assert "redact" in headers["x-switchyard-decision"]
        sent = json.dumps(fresh_sims["anthropic"].requests())
        assert EMAIL not in sent and CARD not in sent and "1111" not in sent
        assert "[EMAIL_1]" in sent and "[CREDIT_CARD_1]" in sent
        # The simulator echoes the masked prompt; the gateway puts the values back.
        assert text == "Echo: " + content


def test_confidential_never_falls_back_to_cloud(gateway_factory, fresh_sims, llama):
    """Local tier down (connection refused, 5xx, timeout): the cloud still sees nothing."""
    failing = Sim("openai")
    dead = free_port()
    try:
        extra = f"""
  - name: local-flaky
    provider: openai
    base_url: {failing.url}/v1
    openness: open
    hosting: local
    retry: {{max_retries: 0}}
    timeouts: {{first_byte: 500ms, total: 5s}}
  - name: local-dead
    provider: openai
    base_url: http://127.0.0.1:{dead}/v1
    openness: open
    hosting: local
    retry: {{max_retries: 0}}
"""
        cfg = policy_config(fresh_sims, f"http://127.0.0.1:{free_port()}/v1", local_extra=extra)
        gw = gateway_factory(cfg, SIM_ENV)
        reached_local = 0
        for fault in ({"status": 500, "count": 3}, {"delay_headers_ms": 2000, "count": 3}, {"status": 503, "count": 3}):
            reached_local += len(failing.requests())
            failing.reset()
            failing.faults(fault)
            for model, stream in (("best", False), ("auto", True), ("cheap", False)):
                r = gw.http.post("/v1/chat/completions", json={
                    "model": model, "stream": stream,
                    "messages": [{"role": "system", "content": "helpful"}, {"role": "user", "content": f"card {CARD}"}]})
                assert r.status_code in (502, 503, 504), r.text
                assert "error" in r.json()
        assert cloud_requests(fresh_sims) == []
        assert reached_local + len(failing.requests()) > 0
    finally:
        failing.stop()


def test_api_keys_select_profiles(gateway_factory, fresh_sims, llama):
    cfg = policy_config(fresh_sims, llama) + """
auth:
  keys:
    - {name: team-private, key: "sk-team-private-123", profile: privacy-first}
    - {name: team-proto, key: "sk-team-proto-4567", profile: prototype}
"""
    gw = gateway_factory(cfg, SIM_ENV)
    def call(key, extra=None):
        return gw.http.post("/v1/chat/completions", json={"model": "auto", "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]},
                            headers={"authorization": f"Bearer {key}", **(extra or {})})
    assert call("sk-team-private-123").headers["x-switchyard-model"] == "local-small"
    assert call("sk-team-proto-4567").headers["x-switchyard-model"] == "claude"
    # with keys configured, the profile header is ignored
    assert call("sk-team-private-123", {"x-switchyard-profile": "prototype"}).headers["x-switchyard-model"] == "local-small"
    wrong = call("sk-wrong-key-000")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    missing = gw.http.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": "x"}]})
    assert missing.status_code == 401
    assert "sk-team-private-123" not in gw.logs()


def test_route_dry_run_cli(fresh_sims, llama, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(policy_config(fresh_sims, llama))
    out = subprocess.run([BIN, "route", "--config", str(path), "--route", "best", f"email {EMAIL} and card {CARD}"],
                         capture_output=True, text=True, env={**SIM_ENV, "PATH": "/usr/bin:/bin"}, check=True)
    decision = json.loads(out.stdout)
    assert decision["model"] == "local-small"
    assert decision["detections"] == {"credit_card": 1, "email": 1}
    assert decision["data_class"] == "confidential"
    dropped = {c["name"]: c["reason"] for c in decision["candidates"] if not c["kept"]}
    assert dropped == {"claude": "class:confidential->local_only", "gpt": "class:confidential->local_only"}
    assert EMAIL not in out.stdout and CARD not in out.stdout
    assert cloud_requests(fresh_sims) == []
    refused = subprocess.run([BIN, "route", "--config", str(path), "--route", "claude", f"card {CARD}"],
                             capture_output=True, text=True, env={**SIM_ENV, "PATH": "/usr/bin:/bin"}, check=True)
    assert json.loads(refused.stdout)["status"] == 403


def test_learned_router_scores_quality_router_routes(gateway_factory, fresh_sims, llama):
    """A trained router file (MiniLM embeddings + classifier) decides `quality-router` routes."""
    from conftest import ROOT

    cfg = policy_config(fresh_sims, llama).replace(
        "routing:\n", f"routing:\n  router: {{file: {ROOT / 'routers' / 'default.router'}}}\n", 1)
    gw = gateway_factory(cfg, SIM_ENV)
    headers, _ = chat(gw, "auto", "What is the capital of France?")
    decision = headers["x-switchyard-decision"]
    assert decision.startswith("router:"), decision
    score = float(decision.split(":")[1].split("<")[0].split(">")[0])
    assert 0.0 <= score <= 1.0
    threshold = float(decision.split("=" if ">=" in decision else "<")[1].split("->")[0])
    assert threshold == 0.5
    assert headers["x-switchyard-model"] == ("claude" if score >= 0.5 else "local-small")
    # routes with another strategy are not scored
    best, _ = chat(gw, "best", "What is the capital of France?")
    assert best["x-switchyard-decision"].startswith("strongest")
    # the dry run shows the same router
    path = gw.config_path
    out = subprocess.run([BIN, "route", "--config", str(path), "--route", "auto", "What is the capital of France?"],
                         capture_output=True, text=True, env={**SIM_ENV, "PATH": "/usr/bin:/bin"}, check=True, cwd=str(ROOT))
    dry = json.loads(out.stdout)
    assert dry["score_source"] == "router"
    assert abs(dry["score"] - score) < 0.01

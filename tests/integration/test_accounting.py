"""Usage accounting end to end: every chat request becomes one row of the request log
(SQLite here), with provider-reported tokens, cost from the configured prices, the
counterfactual cost priced as `accounting.reference_model`, and the stream flag; streams
are accounted exactly like non-streams. The official OpenAI SDK is the client; the
upstreams are the three provider simulators and the real llama.cpp server."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from conftest import SqliteDB, wait_for
from configs import SIM_ENV

# USD per million tokens; every model is priced, and `ref` (never called) is the reference.
PRICES = {
    "oai": (3.0, 6.0),
    "claude": (15.0, 75.0),
    "gem": (1.5, 4.5),
    "local-small": (0.5, 1.5),
    "ref": (10.0, 40.0),
}
SIM_TIMEOUTS = ("    timeouts: {connect: 1s, first_byte: 5s, idle: 5s, total: 30s}\n"
                "    retry: {max_retries: 0}\n")


def models_yaml(sims, llama) -> str:
    def price(name: str) -> str:
        i, o = PRICES[name]
        return f"    price: {{input_per_mtok: {i}, output_per_mtok: {o}}}\n"

    return (f"""
  - name: oai
    provider: openai
    base_url: {sims['openai'].url}/v1
    upstream_model: gpt-sim
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
""" + price("oai") + SIM_TIMEOUTS + f"""
  - name: claude
    provider: anthropic
    base_url: {sims['anthropic'].url}
    upstream_model: claude-sim
    api_key: ${{ANTHROPIC_API_KEY}}
    openness: closed
    hosting: cloud
""" + price("claude") + SIM_TIMEOUTS + f"""
  - name: gem
    provider: gemini
    base_url: {sims['gemini'].url}
    upstream_model: gemini-sim
    api_key: ${{GEMINI_API_KEY}}
    openness: closed
    hosting: cloud
""" + price("gem") + SIM_TIMEOUTS + f"""
  - name: local-small
    provider: openai
    base_url: {llama}
    upstream_model: smollm2-135m
    openness: open
    hosting: local
    context_window: 2048
    capabilities: {{tools: false, json_schema: false}}
    timeouts: {{connect: 2s, first_byte: 120s, idle: 60s, total: 300s}}
""" + price("local-small") + f"""
  - name: ref
    provider: openai
    base_url: {sims['openai'].url}/v1
    upstream_model: gpt-ref
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
""" + price("ref"))


def accounting_config(sims, llama, database: str | None = "database: {url: requests.db, flush_interval: 100ms}\n",
                      extra: str = "") -> str:
    return ("server: {host: 127.0.0.1, port: 0}\n"
            + (database or "")
            + "accounting: {reference_model: ref}\n"
            + extra
            + "models:" + models_yaml(sims, llama))


def cost(model: str, prompt: int, completion: int) -> float:
    i, o = PRICES[model]
    return prompt * i / 1e6 + completion * o / 1e6


@pytest.fixture
def gw(gateway_factory, fresh_sims, llama):
    return gateway_factory(accounting_config(fresh_sims, llama), SIM_ENV)


def db_of(gw, name: str = "requests.db") -> SqliteDB:
    # relative database paths resolve against the config file's folder
    return SqliteDB(Path(gw.dir) / name)


def row(gw, request_id: str, name: str = "requests.db", timeout: float = 10) -> dict:
    db = db_of(gw, name)
    rows = wait_for(lambda: db.query("SELECT * FROM request_log WHERE id = ?", (request_id,)),
                    timeout=timeout, what=f"request_log row {request_id}")
    assert len(rows) == 1
    return rows[0]


def client(gw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def ask(gw, model: str, content: str, *, stream: bool, max_tokens: int = 50, include_usage: bool | None = None,
        temperature: float | None = None):
    """One request through the SDK. Returns (headers, text, usage-or-None, finish_reason, chunks)."""
    kwargs = {}
    if include_usage is not None:
        kwargs["stream_options"] = {"include_usage": include_usage}
    if temperature is not None:
        kwargs["temperature"] = temperature
    raw = client(gw).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], max_tokens=max_tokens, stream=stream, **kwargs)
    parsed = raw.parse()
    if not stream:
        return raw.headers, parsed.choices[0].message.content, parsed.usage, parsed.choices[0].finish_reason, None
    chunks = list(parsed)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    usages = [c.usage for c in chunks if c.usage is not None]
    return raw.headers, text, (usages[-1] if usages else None), (finish[-1] if finish else None), chunks


PROMPT = "the quick brown fox jumps"
# simulator tokens are words: user message = 5 words + 3; answer "Echo: the quick brown fox jumps" = 6 words
SIM_PROMPT_TOKENS, SIM_COMPLETION_TOKENS = 5 + 3, 6


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
def test_stream_and_non_stream_rows_are_accounted_identically(gw, fresh_sims, model):
    h1, text1, usage1, _, _ = ask(gw, model, PROMPT, stream=False)
    h2, text2, usage2, _, chunks = ask(gw, model, PROMPT, stream=True, include_usage=True)
    assert text1 == text2 == "Echo: " + PROMPT
    assert h1["x-switchyard-model"] == h2["x-switchyard-model"] == model
    id1, id2 = h1["x-request-id"], h2["x-request-id"]
    assert id1 and id2 and id1 != id2

    r1, r2 = row(gw, id1), row(gw, id2)
    for r, stream_flag in ((r1, 0), (r2, 1)):
        assert r["id"] in (id1, id2)
        assert r["model"] == model
        assert r["status"] == 200
        assert r["upstream_status"] in (200, None)
        assert r["stream"] == stream_flag
        assert r["usage_source"] == "provider", r
        assert r["prompt_tokens"] == SIM_PROMPT_TOKENS, r
        assert r["completion_tokens"] == SIM_COMPLETION_TOKENS, r
        assert r["openness"] == "closed" and r["hosting"] == "cloud"
        assert r["key_id"] is None  # dev mode: no key
        assert r["cost_usd"] > 0
        assert r["cost_usd"] == pytest.approx(cost(model, SIM_PROMPT_TOKENS, SIM_COMPLETION_TOKENS), rel=1e-9)
        assert r["counterfactual_cost_usd"] == pytest.approx(
            cost("ref", SIM_PROMPT_TOKENS, SIM_COMPLETION_TOKENS), rel=1e-9)
        assert r["latency_ms"] > 0
        assert r["error"] is None
        assert r["prompt_text"] is None and r["response_text"] is None  # store_text is off by default
    assert r1["cost_usd"] == r2["cost_usd"]
    assert r2["ttft_ms"] is not None and 0 < r2["ttft_ms"] <= r2["latency_ms"]
    # what the client saw agrees with the log
    assert (usage1.prompt_tokens, usage1.completion_tokens) == (SIM_PROMPT_TOKENS, SIM_COMPLETION_TOKENS)
    assert (usage2.prompt_tokens, usage2.completion_tokens) == (SIM_PROMPT_TOKENS, SIM_COMPLETION_TOKENS)
    # the prompt text itself is nowhere in the database files
    assert PROMPT.encode() not in db_of(gw).all_bytes()


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
def test_usage_chunk_only_when_the_client_asks(gw, fresh_sims, model):
    h_plain, text_plain, usage_plain, _, chunks_plain = ask(gw, model, PROMPT, stream=True)
    assert text_plain == "Echo: " + PROMPT
    assert usage_plain is None
    assert [c for c in chunks_plain if c.usage is not None] == []

    h_off, _, usage_off, _, chunks_off = ask(gw, model, PROMPT, stream=True, include_usage=False)
    assert usage_off is None and [c for c in chunks_off if c.usage is not None] == []

    _, _, usage_on, _, chunks_on = ask(gw, model, PROMPT, stream=True, include_usage=True)
    with_usage = [c for c in chunks_on if c.usage is not None]
    assert len(with_usage) == 1, [c.model_dump() for c in chunks_on]
    assert with_usage[0].choices == []
    assert with_usage[0] is chunks_on[-1]
    assert usage_on.prompt_tokens == SIM_PROMPT_TOKENS and usage_on.completion_tokens == SIM_COMPLETION_TOKENS

    # the client did not ask, but the gateway still accounted provider usage
    for h in (h_plain, h_off):
        r = row(gw, h["x-request-id"])
        assert r["stream"] == 1 and r["usage_source"] == "provider"
        assert (r["prompt_tokens"], r["completion_tokens"]) == (SIM_PROMPT_TOKENS, SIM_COMPLETION_TOKENS)
        assert r["cost_usd"] == pytest.approx(cost(model, SIM_PROMPT_TOKENS, SIM_COMPLETION_TOKENS), rel=1e-9)

    if model == "oai":
        # an OpenAI-compatible upstream is always asked for the usage chunk
        bodies = [r["body"] for r in fresh_sims["openai"].requests() if r["body"].get("stream")]
        assert len(bodies) == 3
        assert all((b.get("stream_options") or {}).get("include_usage") is True for b in bodies), bodies


def test_local_model_rows_provider_and_estimated(gw, fresh_sims):
    prompt = "Tell me a long story about a dragon."
    h1, text1, usage1, finish1, _ = ask(gw, "local-small", prompt, stream=False, max_tokens=8, temperature=0)
    h2, text2, _, finish2, _ = ask(gw, "local-small", prompt, stream=True, max_tokens=8, temperature=0)
    assert text1.strip() and text2.strip()
    assert finish1 == finish2 == "length", "the prompt must make SmolLM2 use all 8 tokens"
    assert usage1.completion_tokens == 8

    r1, r2 = row(gw, h1["x-request-id"]), row(gw, h2["x-request-id"], timeout=30)
    assert r1["model"] == r2["model"] == "local-small"
    assert r1["openness"] == "open" and r1["hosting"] == "local"
    assert r1["stream"] == 0 and r2["stream"] == 1
    assert r1["usage_source"] == "provider", r1
    assert (r1["prompt_tokens"], r1["completion_tokens"]) == (usage1.prompt_tokens, usage1.completion_tokens)
    assert r1["cost_usd"] == pytest.approx(cost("local-small", usage1.prompt_tokens, usage1.completion_tokens),
                                           rel=1e-9)
    # llama.cpp's server sends no usage in streams: the gateway estimates, one token per
    # streamed chunk, and the prompt from its estimate calibrated on this model's earlier
    # reported counts (the non-stream request above): the same request costs the same.
    assert r2["usage_source"] == "estimated", r2
    assert r2["completion_tokens"] == r1["completion_tokens"] == 8, r2
    assert r2["prompt_tokens"] == r1["prompt_tokens"], (r1, r2)
    assert r2["cost_usd"] == pytest.approx(r1["cost_usd"], rel=1e-9)
    assert r2["cost_usd"] > 0
    assert r2["cost_usd"] == pytest.approx(cost("local-small", r2["prompt_tokens"], r2["completion_tokens"]),
                                           rel=1e-9)
    assert r2["counterfactual_cost_usd"] == pytest.approx(
        cost("ref", r2["prompt_tokens"], r2["completion_tokens"]), rel=1e-9)
    assert r1["counterfactual_cost_usd"] > r1["cost_usd"]  # the reference is pricier


def test_upstream_error_is_logged_with_its_statuses(gw, fresh_sims):
    fresh_sims["openai"].faults({"status": 500})
    r = gw.http.post("/v1/chat/completions",
                     json={"model": "oai", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})
    assert r.status_code >= 500, r.text
    assert "error" in r.json()
    request_id = r.headers.get("x-request-id")
    assert request_id, "error responses carry x-request-id too"
    logged = row(gw, request_id)
    assert logged["status"] == r.status_code
    assert logged["upstream_status"] == 500
    assert logged["cost_usd"] == 0
    assert logged["completion_tokens"] == 0
    assert logged["error"]


def test_store_text_keeps_prompt_and_answer(gateway_factory, fresh_sims, llama, tmp_path):
    path = tmp_path / "texts.db"
    cfg = accounting_config(fresh_sims, llama,
                            database=f"database: {{url: 'sqlite:{path}', flush_interval: 100ms, store_text: true}}\n")
    gw = gateway_factory(cfg, SIM_ENV)
    db = SqliteDB(path)
    for model in ("oai", "claude"):
        for stream in (False, True):
            h, text, _, _, _ = ask(gw, model, PROMPT, stream=stream)
            r = wait_for(lambda: db.query("SELECT * FROM request_log WHERE id = ?", (h["x-request-id"],)),
                         what="the row")[0]
            stored = {k: r[k] for k in ("id", "model", "stream", "prompt_text", "response_text")}
            assert PROMPT in (r["prompt_text"] or ""), stored
            assert text in (r["response_text"] or ""), stored


def test_default_database_beside_config_and_admin_off(gateway_factory, fresh_sims, llama):
    """No `database` section: switchyard.db beside the config file (flushed within the default
    500ms). No `admin.token`: /admin/* answers 404."""
    gw = gateway_factory(accounting_config(fresh_sims, llama, database=None), SIM_ENV)
    h, _, _, _, _ = ask(gw, "gem", PROMPT, stream=False)
    r = row(gw, h["x-request-id"], name="switchyard.db")
    assert r["model"] == "gem" and r["usage_source"] == "provider"
    for path in ("/admin/keys", "/admin/report"):
        assert gw.http.get(path, headers={"Authorization": "Bearer anything"}).status_code == 404

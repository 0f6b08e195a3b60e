"""The official OpenAI SDK drives the gateway against the real local model and the
three provider simulators: non-stream, stream, usage and a full tool-call round trip."""

from __future__ import annotations

import json

import openai
import pytest

from configs import SIM_ENV, config, sim_models


@pytest.fixture
def gw(gateway_factory, fresh_sims, llama):
    local = f"""
  - name: local-small
    provider: openai
    base_url: {llama}
    upstream_model: smollm2-135m
    openness: open
    hosting: local
    context_window: 2048
"""
    return gateway_factory(config(local + sim_models(fresh_sims)), SIM_ENV)


def client(gw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def test_local_model_answers_non_stream(gw):
    raw = client(gw).chat.completions.with_raw_response.create(
        model="local-small", messages=[{"role": "user", "content": "Say hello in one word."}], max_tokens=12)
    completion = raw.parse()
    assert raw.headers["x-switchyard-model"] == "local-small"
    assert raw.headers["x-switchyard-deployment"] == "local-small"
    assert completion.choices[0].message.content.strip() != ""
    assert completion.usage.completion_tokens > 0
    assert completion.choices[0].finish_reason in ("stop", "length")


def test_local_model_streams(gw):
    stream = client(gw).chat.completions.create(
        model="local-small", messages=[{"role": "user", "content": "Count to three."}], max_tokens=12, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len(pieces) >= 2
    assert "".join(pieces).strip() != ""


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
def test_non_stream_through_each_protocol(gw, fresh_sims, model):
    c = client(gw)
    raw = c.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "system", "content": "You are terse."},
                  {"role": "user", "content": [{"type": "text", "text": "ping"}, {"type": "text", "text": "pong"}]}],
        max_tokens=50, temperature=0.3)
    completion = raw.parse()
    assert raw.headers["x-switchyard-model"] == model
    assert completion.choices[0].message.content == "Echo: ping pong"
    assert completion.choices[0].finish_reason == "stop"
    # system: 3 words; user message: 2 words + 3
    assert completion.usage.prompt_tokens == 3 + 2 + 3
    assert completion.usage.completion_tokens == 3


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
def test_stream_matches_non_stream_with_usage(gw, model):
    c = client(gw)
    messages = [{"role": "user", "content": "the quick brown fox jumps"}]
    whole = c.chat.completions.create(model=model, messages=messages, max_tokens=50)
    chunks = list(c.chat.completions.create(model=model, messages=messages, max_tokens=50, stream=True,
                                            stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == whole.choices[0].message.content == "Echo: the quick brown fox jumps"
    usage_chunks = [ch for ch in chunks if ch.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0].choices == []
    assert usage_chunks[0].usage.prompt_tokens == whole.usage.prompt_tokens
    assert usage_chunks[0].usage.completion_tokens == whole.usage.completion_tokens
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
def test_stream_without_include_usage_has_no_usage_chunk(gw, model):
    chunks = list(client(gw).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hello there"}], stream=True))
    assert all(ch.usage is None for ch in chunks)
    assert all(ch.choices for ch in chunks)


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip(gw, fresh_sims, model, stream):
    c = client(gw)
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city", "days"], "additionalProperties": False}}}]
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        calls: dict[int, dict] = {}
        finish = None
        for ch in c.chat.completions.create(model=model, messages=messages, tools=tools, stream=True):
            if not ch.choices:
                continue
            for tc in ch.choices[0].delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
                if tc.id:
                    entry["id"] = tc.id
                if tc.function and tc.function.name:
                    entry["name"] = tc.function.name
                if tc.function and tc.function.arguments:
                    entry["arguments"] += tc.function.arguments
            finish = ch.choices[0].finish_reason or finish
        assert finish == "tool_calls"
        call = calls[0]
    else:
        completion = c.chat.completions.create(model=model, messages=messages, tools=tools)
        assert completion.choices[0].finish_reason == "tool_calls"
        tc = completion.choices[0].message.tool_calls[0]
        call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "test", "days": 1}
    assert call["id"]

    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny and 21 C"},
    ]
    final = c.chat.completions.create(model=model, messages=messages, tools=tools)
    assert final.choices[0].message.content == "Tool said: sunny and 21 C"
    # The upstream saw the tool result in its own protocol's shape.
    last = fresh_sims[{"oai": "openai", "claude": "anthropic", "gem": "gemini"}[model]].requests()[-1]["body"]
    if model == "claude":
        assert last["messages"][-1]["content"][0]["type"] == "tool_result"
    elif model == "gem":
        assert last["contents"][-1]["parts"][0]["functionResponse"]["name"] == "get_weather"
    else:
        assert last["messages"][-1]["role"] == "tool"


def test_unknown_fields_reach_openai_upstream_untouched(gw, fresh_sims):
    client(gw).chat.completions.create(
        model="oai", messages=[{"role": "user", "content": "x"}],
        extra_body={"logit_bias": {"50256": -100}, "vendor_knob": {"nested": [1, 2, 3]}},
        metadata={"team": "a"}, seed=42, user="u-1")
    body = fresh_sims["openai"].requests()[-1]["body"]
    assert body["vendor_knob"] == {"nested": [1, 2, 3]}
    assert body["logit_bias"] == {"50256": -100}
    assert body["model"] == "gpt-sim"
    assert body["seed"] == 42 and body["user"] == "u-1" and body["metadata"] == {"team": "a"}


def test_upstream_credentials_are_set_per_protocol(gw, fresh_sims):
    c = client(gw)
    for model in ("oai", "claude", "gem"):
        c.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert fresh_sims["openai"].requests()[-1]["headers"]["authorization"] == "Bearer sk-test-key-123"
    anthropic_headers = fresh_sims["anthropic"].requests()[-1]["headers"]
    assert anthropic_headers["x-api-key"] == "sk-ant-test-key"
    assert anthropic_headers["anthropic-version"] == "2023-06-01"
    assert fresh_sims["gemini"].requests()[-1]["headers"]["x-goog-api-key"] == "gm-test-key"


def test_models_and_health(gw):
    ids = [m.id for m in client(gw).models.list().data]
    assert ids == ["local-small", "oai", "claude", "gem"]
    assert gw.http.get("/healthz").status_code == 200
    assert gw.http.get("/readyz").status_code == 200

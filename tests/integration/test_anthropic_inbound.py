"""Anthropic's official SDK as the client: the gateway serves `POST /v1/messages` in
Anthropic's wire format — messages, system prompts, tool use round trips, the streamed
event sequence, usage and errors — whichever upstream protocol answers (the three
simulators and the real llama.cpp model)."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from configs import SIM_ENV, config, sim_models
from conftest import SqliteDB, wait_for


@pytest.fixture
def gw(gateway_factory, fresh_sims, llama):
    local = f"""
  - name: local-small
    provider: openai
    base_url: {llama}
    upstream_model: smollm2-135m
    openness: open
    hosting: local
    price: {{input_per_mtok: 1, output_per_mtok: 1}}
    context_window: 2048
"""
    extra = "\ndatabase: {url: requests.db, flush_interval: 100ms}\n"
    return gateway_factory(config(local + sim_models(fresh_sims), extra), SIM_ENV)


def client(gw, key: str = "unused") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0, timeout=120)


UPSTREAM = {"oai": "openai", "claude": "anthropic", "gem": "gemini"}
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                            "required": ["city", "days"]}}


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
def test_messages_non_stream_and_stream_agree(gw, fresh_sims, model):
    c = client(gw)
    raw = c.messages.with_raw_response.create(
        model=model, max_tokens=50, system="Be brief.", messages=[{"role": "user", "content": "hello there"}])
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant" and message.model == model
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Echo: hello there"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw.headers["x-switchyard-model"] == model
    assert raw.headers["request-id"] == raw.headers["x-request-id"]
    # The system prompt reached the upstream in its own protocol.
    body = fresh_sims[UPSTREAM[model]].requests()[-1]["body"]
    assert "Be brief." in str(body)

    events = []
    with c.messages.stream(model=model, max_tokens=50, system="Be brief.",
                           messages=[{"role": "user", "content": "hello there"}]) as stream:
        for event in stream:
            events.append(event.type)
        final = stream.get_final_message()
    assert final.content[0].text == message.content[0].text
    assert final.usage.output_tokens == message.usage.output_tokens
    assert final.usage.input_tokens == message.usage.input_tokens
    assert final.stop_reason == "end_turn"
    # Anthropic's event order: message_start, one text block, message_delta, message_stop.
    raw_types = [t for t in events if t in ("message_start", "content_block_start", "content_block_stop",
                                            "message_delta", "message_stop")]
    assert raw_types == ["message_start", "content_block_start", "content_block_stop", "message_delta", "message_stop"]


@pytest.mark.parametrize("model", ["oai", "claude", "gem"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trip(gw, fresh_sims, model, stream):
    c = client(gw)
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        with c.messages.stream(model=model, max_tokens=100, tools=[WEATHER], messages=messages) as s:
            for _ in s:
                pass
            first = s.get_final_message()
    else:
        first = c.messages.create(model=model, max_tokens=100, tools=[WEATHER], messages=messages)
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1
    use = uses[0]
    assert use.name == "get_weather" and use.input == {"city": "test", "days": 1} and use.id
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny and 21 C"}]},
    ]
    final = c.messages.create(model=model, max_tokens=100, tools=[WEATHER], messages=messages)
    assert final.stop_reason == "end_turn"
    assert final.content[0].text == "Tool said: sunny and 21 C"


def test_tool_choice_and_parameters_translate(gw, fresh_sims):
    c = client(gw)
    c.messages.create(
        model="oai", max_tokens=20, tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"},
        stop_sequences=["END"], extra_body={"temperature": 0.2}, metadata={"user_id": "u-42"},
        messages=[{"role": "user", "content": [{"type": "text", "text": "look"}]}])
    body = fresh_sims["openai"].requests()[-1]["body"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["stop"] == ["END"] and body["temperature"] == 0.2 and body["user"] == "u-42"
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "look"}]
    assert body["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]


def test_local_model_through_the_anthropic_api(gw):
    c = client(gw)
    message = c.messages.create(model="local-small", max_tokens=8, messages=[{"role": "user", "content": "Say hi."}])
    assert message.content[0].text.strip()
    assert message.usage.output_tokens > 0
    text = ""
    with c.messages.stream(model="local-small", max_tokens=8, messages=[{"role": "user", "content": "Say hi."}]) as s:
        for t in s.text_stream:
            text += t
    assert text.strip()


def test_errors_come_in_anthropic_shape(gw, fresh_sims):
    c = client(gw)
    with pytest.raises(anthropic.NotFoundError) as e:
        c.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["type"] == "error" and e.value.body["error"]["type"] == "not_found_error"
    r = httpx.post(gw.url + "/v1/messages", json={"model": "oai", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400
    assert r.json() == {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}
    r = httpx.post(gw.url + "/v1/messages", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(gw.url + "/v1/messages", json={"model": "oai", "max_tokens": 5,
                                                  "messages": [{"role": "system", "content": "x"}]})
    assert r.status_code == 400 and "role" in r.json()["error"]["message"]
    # An upstream that keeps failing: the gateway's 502 in Anthropic's shape.
    fresh_sims["openai"].faults({"status": 500, "count": 10})
    with pytest.raises(anthropic.InternalServerError) as e:
        c.messages.create(model="oai", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 502 and e.value.body["error"]["type"] == "api_error"
    assert gw.alive()


def test_virtual_keys_and_accounting_apply(gateway_factory, fresh_sims, llama, tmp_path):
    db = tmp_path / "keys.db"
    cfg = config(sim_models(fresh_sims), f"\ndatabase: {{url: {db}, flush_interval: 100ms}}\nauth: {{require_keys: true}}\n")
    gw = gateway_factory(cfg, SIM_ENV)
    created = gw.cli("keys", "create", "--name", "anthropic-user", "--rpm", "2", "--json")
    import json
    key = json.loads(created.stdout)["key"]
    with pytest.raises(anthropic.AuthenticationError) as e:
        client(gw, "wrong").messages.create(model="oai", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["error"]["type"] == "authentication_error"
    c = client(gw, key)  # the SDK sends it as x-api-key
    raw = c.messages.with_raw_response.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x y"}])
    c.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x y"}])
    with pytest.raises(anthropic.RateLimitError) as e:
        c.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x y"}])
    assert e.value.body["error"]["type"] == "rate_limit_error"
    assert e.value.response.headers["retry-after"].isdigit()
    rows = wait_for(lambda: SqliteDB(db).query(
        f"SELECT * FROM request_log WHERE id = '{raw.headers['request-id']}'"), what="row")
    assert rows[0]["model"] == "claude" and rows[0]["cost_usd"] > 0 and rows[0]["usage_source"] == "provider"


def test_models_and_count_tokens_for_the_anthropic_sdk(gw, fresh_sims):
    c = client(gw)
    ids = [m.id for m in c.models.list()]
    assert {"oai", "claude", "gem", "local-small"} <= set(ids)
    messages = [{"role": "user", "content": "hello there"}]
    before = c.messages.count_tokens(model="claude", messages=messages).input_tokens
    assert before > 0
    longer = c.messages.count_tokens(model="claude", messages=[{"role": "user", "content": "hello there " * 50}])
    assert longer.input_tokens > before
    # Once the model has reported its own count for a prompt, the estimate follows it.
    reported = c.messages.create(model="claude", max_tokens=5, messages=messages).usage.input_tokens
    assert c.messages.count_tokens(model="claude", messages=messages).input_tokens == reported
    with pytest.raises(anthropic.BadRequestError):
        c.messages.count_tokens(model="claude", messages=[])

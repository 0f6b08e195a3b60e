"""Wire-fidelity tests: drive each simulator with the providers' official SDKs.

If the official `openai` / `anthropic` (and, when installed, `google-genai`)
clients parse the simulators' responses, streams and errors into the expected
objects and exception classes, the gateway's adapters are being tested against
something that speaks the real protocols.  Raw httpx checks cover the bytes the
SDKs hide (event order, pings, CRLF framing, headers, error bodies).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx
import openai
import pytest

from sim_harness import Sim

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                   "metric": {"type": "boolean"}, "note": {"type": "string"}},
    "required": ["city", "days", "metric"],
}
WEATHER_ARGS = {"city": "test", "days": 1, "metric": True}
WEATHER_ARGS_TOKENS = 6  # words in '{"city": "test", "days": 1, "metric": true}'


# =============================================================================== OpenAI
@pytest.fixture
def oai(openai_sim):
    return openai.OpenAI(api_key=openai_sim.key, base_url=openai_sim.url + "/v1", max_retries=0)


CHAT = [{"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hello big world"}]
CHAT_PROMPT_TOKENS = 3 + (3 + 3)  # system words + (user words + 3)


def test_openai_non_stream(oai):
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=CHAT, temperature=0.2)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.model == "gpt-4o-mini"
    c = r.choices[0]
    assert c.message.role == "assistant" and c.message.content == "Echo: hello big world"
    assert c.finish_reason == "stop" and c.message.refusal is None and c.logprobs is None
    assert r.usage.prompt_tokens == CHAT_PROMPT_TOKENS
    assert r.usage.completion_tokens == 4 and r.usage.total_tokens == CHAT_PROMPT_TOKENS + 4
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert r.usage.completion_tokens_details.reasoning_tokens == 0
    assert r.system_fingerprint


def test_openai_content_parts_and_max_tokens(oai):
    msgs = [{"role": "user", "content": [{"type": "text", "text": "one two"},
                                         {"type": "image_url",
                                          "image_url": {"url": "data:image/png;base64,AA=="}},
                                         {"type": "text", "text": "three four"}]}]
    r = oai.chat.completions.create(model="gpt-4o", messages=msgs, max_completion_tokens=3)
    assert r.choices[0].message.content == "Echo: one two"
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 3 and r.usage.prompt_tokens == 4 + 3


def test_openai_stop_sequence(oai):
    r = oai.chat.completions.create(model="gpt-4o", stop=["END", "zzz"],
                                    messages=[{"role": "user", "content": "alpha END beta"}])
    assert r.choices[0].message.content == "Echo: alpha "
    assert r.choices[0].finish_reason == "stop" and r.usage.completion_tokens == 2


def test_openai_stream_include_usage(oai):
    ref = oai.chat.completions.create(model="gpt-4o", messages=CHAT, max_tokens=3)
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=CHAT, max_tokens=3,
                                              stream=True,
                                              stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    pieces = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert pieces == ["Echo: ", "hello ", "big"]
    assert "".join(pieces) == ref.choices[0].message.content == "Echo: hello big"
    assert chunks[-2].choices[0].finish_reason == "length" == ref.choices[0].finish_reason
    assert chunks[-2].choices[0].delta.content is None
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == []
    assert chunks[-1].usage.model_dump() == ref.usage.model_dump()


def test_openai_stream_raw_framing(openai_sim):
    headers = {"Authorization": f"Bearer {openai_sim.key}"}
    body = {"model": "gpt-4o", "messages": CHAT, "stream": True}
    with openai_sim.http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["transfer-encoding"] == "chunked"
        raw = r.read().decode()
    events = raw.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    datas = [json.loads(e[len("data: "):]) for e in events[:-2]]
    assert all("usage" not in d for d in datas)  # no include_usage -> no usage key at all
    assert datas[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None,
                                       "finish_reason": "stop"}


def _tool_round_trip(oai, stream: bool):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                               "parameters": WEATHER_SCHEMA}},
             {"type": "function", "function": {"name": "other", "parameters": {}}}]
    msgs = [{"role": "user", "content": "weather in Paris?"}]
    if stream:
        chunks = list(oai.chat.completions.create(model="gpt-4o", messages=msgs, tools=tools,
                                                  stream=True))
        head = chunks[0].choices[0].delta.tool_calls[0]
        assert head.index == 0 and head.type == "function" and head.id.startswith("call_")
        assert head.function.name == "get_weather" and head.function.arguments == ""
        frags = [c.choices[0].delta.tool_calls[0].function.arguments
                 for c in chunks[1:] if c.choices and c.choices[0].delta.tool_calls]
        assert len(frags) >= 2 and all(frags)
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
        call_id, name, args = head.id, head.function.name, "".join(frags)
    else:
        r = oai.chat.completions.create(model="gpt-4o", messages=msgs, tools=tools,
                                        tool_choice="auto")
        m = r.choices[0].message
        assert r.choices[0].finish_reason == "tool_calls" and m.content is None
        assert r.usage.completion_tokens == WEATHER_ARGS_TOKENS
        call = m.tool_calls[0]
        call_id, name, args = call.id, call.function.name, call.function.arguments
    assert name == "get_weather" and json.loads(args) == WEATHER_ARGS
    msgs += [{"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "sunny and warm"}]
    r2 = oai.chat.completions.create(model="gpt-4o", messages=msgs, tools=tools)
    assert r2.choices[0].message.content == "Tool said: sunny and warm"
    assert r2.choices[0].finish_reason == "stop"
    assert r2.usage.prompt_tokens == (3 + 3) + (0 + 3) + (3 + 3)


def test_openai_tool_call_round_trip(oai):
    _tool_round_trip(oai, stream=False)


def test_openai_tool_call_stream(oai):
    _tool_round_trip(oai, stream=True)


def test_openai_tool_choice_none_and_named(oai):
    tools = [{"type": "function", "function": {"name": "a", "parameters": {}}},
             {"type": "function", "function": {"name": "b", "parameters": WEATHER_SCHEMA}}]
    msgs = [{"role": "user", "content": "hi"}]
    r = oai.chat.completions.create(model="gpt-4o", messages=msgs, tools=tools, tool_choice="none")
    assert r.choices[0].message.content == "Echo: hi"
    r = oai.chat.completions.create(model="gpt-4o", messages=msgs, tools=tools,
                                    tool_choice={"type": "function", "function": {"name": "b"}})
    assert r.choices[0].message.tool_calls[0].function.name == "b"


def test_openai_rate_limit_error(oai, openai_sim):
    openai_sim.faults({"status": 429, "retry_after": 2})
    with pytest.raises(openai.RateLimitError) as ei:
        oai.chat.completions.create(model="gpt-4o", messages=CHAT)
    e = ei.value
    assert e.status_code == 429 and e.response.headers["retry-after"] == "2"
    assert e.code == "rate_limit_exceeded" and isinstance(e.body, dict) and e.body["message"]
    # fault consumed: next call succeeds
    assert oai.chat.completions.create(model="gpt-4o", messages=CHAT).choices[0].message.content


@pytest.mark.parametrize("status,exc", [(500, openai.InternalServerError),
                                        (503, openai.InternalServerError),
                                        (400, openai.BadRequestError)])
def test_openai_status_faults(oai, openai_sim, status, exc):
    openai_sim.faults({"status": status})
    with pytest.raises(exc) as ei:
        oai.chat.completions.create(model="gpt-4o", messages=CHAT)
    assert ei.value.status_code == status
    assert set(ei.value.response.json()["error"]) == {"message", "type", "param", "code"}


def test_openai_auth_errors(openai_sim):
    bad = openai.OpenAI(api_key="sk-wrong-key-999", base_url=openai_sim.url + "/v1",
                        max_retries=0)
    with pytest.raises(openai.AuthenticationError) as ei:
        bad.chat.completions.create(model="gpt-4o", messages=CHAT)
    assert ei.value.status_code == 401 and ei.value.code == "invalid_api_key"
    r = openai_sim.http.post("/v1/chat/completions", json={"model": "x", "messages": CHAT})
    assert r.status_code == 401 and "didn't provide an API key" in r.json()["error"]["message"]


def test_openai_bad_requests(openai_sim):
    h = {"Authorization": f"Bearer {openai_sim.key}", "content-type": "application/json"}
    r = openai_sim.http.post("/v1/chat/completions", content=b"{not json", headers=h)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and "parse the JSON body" in err["message"]
    r = openai_sim.http.post("/v1/chat/completions", json={"model": "gpt-4o"}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = openai_sim.http.post("/v1/chat/completions", json=[1, 2], headers=h)
    assert r.status_code == 400
    r = openai_sim.http.post("/v1/nope", json={}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Invalid URL (POST /v1/nope)"


def test_openai_mid_stream_error(oai, openai_sim):
    openai_sim.faults({"mid_stream_error": True, "after_chunks": 2})
    got = []
    with pytest.raises(openai.APIError):
        for c in oai.chat.completions.create(model="gpt-4o", messages=CHAT, stream=True):
            got.append(c)
    assert len(got) == 2


def test_openai_models(oai):
    ids = [m.id for m in oai.models.list()]
    assert "gpt-4o" in ids


# ============================================================================ Anthropic
@pytest.fixture
def ant(anthropic_sim):
    return anthropic.Anthropic(api_key=anthropic_sim.key, base_url=anthropic_sim.url,
                               max_retries=0)


A_MSGS = [{"role": "user", "content": "hello big world"}]
A_SYSTEM = [{"type": "text", "text": "You are terse."}]


def test_anthropic_non_stream(ant):
    m = ant.messages.create(model="claude-sim-test", max_tokens=100, system=A_SYSTEM,
                            messages=A_MSGS,
                            extra_body={"temperature": 0.5, "top_p": 0.9})
    assert m.type == "message" and m.role == "assistant" and m.id.startswith("msg_")
    assert m.model == "claude-sim-test"
    assert [b.type for b in m.content] == ["text"]
    assert m.content[0].text == "Echo: hello big world"
    assert m.stop_reason == "end_turn" and m.stop_sequence is None
    assert m.usage.input_tokens == CHAT_PROMPT_TOKENS and m.usage.output_tokens == 4
    assert m.usage.cache_read_input_tokens == 0 and m.usage.cache_creation_input_tokens == 0
    assert m._request_id and m._request_id.startswith("req_")


def test_anthropic_limits(ant):
    m = ant.messages.create(model="c", max_tokens=2, messages=A_MSGS)
    assert m.content[0].text == "Echo: hello" and m.stop_reason == "max_tokens"
    m = ant.messages.create(model="c", max_tokens=50, stop_sequences=["big"], messages=A_MSGS)
    assert m.content[0].text == "Echo: hello " and m.stop_reason == "stop_sequence"
    assert m.stop_sequence == "big" and m.usage.output_tokens == 2


def test_anthropic_stream_helper(ant):
    ref = ant.messages.create(model="c", max_tokens=100, system="You are terse.",
                              messages=A_MSGS)
    with ant.messages.stream(model="c", max_tokens=100, system="You are terse.",
                             messages=A_MSGS) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == ref.content[0].text == final.content[0].text
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == ref.usage.input_tokens
    assert final.usage.output_tokens == ref.usage.output_tokens


def test_anthropic_raw_stream_event_order(ant, anthropic_sim):
    events = list(ant.messages.create(model="c", max_tokens=100, messages=A_MSGS, stream=True))
    types = [e.type for e in events]
    # the SDK hides `ping`; everything else must come in exactly this order
    assert types == ["message_start", "content_block_start"] + ["content_block_delta"] * 4 + [
        "content_block_stop", "message_delta", "message_stop"]
    assert events[0].message.usage.output_tokens == 1 and events[0].message.content == []
    assert events[-2].delta.stop_reason == "end_turn" and events[-2].usage.output_tokens == 4
    # and on the wire, with named events and the ping after content_block_start
    h = {"x-api-key": anthropic_sim.key, "anthropic-version": "2023-06-01"}
    r = anthropic_sim.http.post("/v1/messages", headers=h, json={
        "model": "c", "max_tokens": 100, "messages": A_MSGS, "stream": True})
    assert r.headers["content-type"].startswith("text/event-stream") and r.headers["request-id"]
    blocks = [b for b in r.text.split("\n\n") if b]
    names = [b.split("\n")[0] for b in blocks]
    assert names[:3] == ["event: message_start", "event: content_block_start", "event: ping"]
    for b in blocks:
        name, data = b.split("\n")
        assert json.loads(data[len("data: "):])["type"] == name[len("event: "):]


def test_anthropic_tool_use_round_trip(ant):
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}]
    msgs = [{"role": "user", "content": "weather in Paris?"}]
    m = ant.messages.create(model="c", max_tokens=100, tools=tools, messages=msgs,
                            tool_choice={"type": "auto"})
    assert m.stop_reason == "tool_use" and m.content[0].type == "tool_use"
    use = m.content[0]
    assert use.id.startswith("toolu_") and use.name == "get_weather" and use.input == WEATHER_ARGS
    assert m.usage.output_tokens == WEATHER_ARGS_TOKENS
    # streamed: input_json_delta fragments assemble to the same input
    with ant.messages.stream(model="c", max_tokens=100, tools=tools, messages=msgs) as s:
        partials = [e.delta.partial_json for e in s if e.type == "content_block_delta"]
        final = s.get_final_message()
    assert len([p for p in partials if p]) >= 2
    assert json.loads("".join(partials)) == WEATHER_ARGS and final.content[0].input == WEATHER_ARGS
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == WEATHER_ARGS_TOKENS
    msgs += [{"role": "assistant", "content": [use.model_dump()]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                           "content": [{"type": "text", "text": "sunny"}]}]}]
    m2 = ant.messages.create(model="c", max_tokens=100, tools=tools, messages=msgs)
    assert m2.content[0].text == "Tool said: sunny" and m2.stop_reason == "end_turn"


def test_anthropic_errors(ant, anthropic_sim):
    anthropic_sim.faults({"status": 429, "retry_after": 3}, {"status": 529}, {"status": 500})
    with pytest.raises(anthropic.RateLimitError) as ei:
        ant.messages.create(model="c", max_tokens=10, messages=A_MSGS)
    assert ei.value.response.headers["retry-after"] == "3"
    assert ei.value.body["error"]["type"] == "rate_limit_error"
    assert ei.value.response.headers["request-id"].startswith("req_")
    with pytest.raises(anthropic.InternalServerError) as ei:
        ant.messages.create(model="c", max_tokens=10, messages=A_MSGS)
    assert ei.value.status_code == 529 and ei.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.InternalServerError) as ei:
        ant.messages.create(model="c", max_tokens=10, messages=A_MSGS)
    assert ei.value.status_code == 500 and ei.value.body["error"]["type"] == "api_error"
    bad = anthropic.Anthropic(api_key="nope", base_url=anthropic_sim.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as ei:
        bad.messages.create(model="c", max_tokens=10, messages=A_MSGS)
    assert ei.value.body == {"type": "error", "error": {"type": "authentication_error",
                                                        "message": "invalid x-api-key"}}


def test_anthropic_bad_requests(anthropic_sim, ant):
    h = {"x-api-key": anthropic_sim.key, "anthropic-version": "2023-06-01"}
    body = {"model": "c", "max_tokens": 10, "messages": A_MSGS}
    r = anthropic_sim.http.post("/v1/messages", headers={"x-api-key": anthropic_sim.key}, json=body)
    assert r.status_code == 400
    assert r.json()["error"] == {"type": "invalid_request_error",
                                 "message": "anthropic-version: header is required"}
    r = anthropic_sim.http.post("/v1/messages", headers=h, json={"model": "c", "messages": A_MSGS})
    assert r.status_code == 400 and r.json()["error"]["message"] == "max_tokens: Field required"
    r = anthropic_sim.http.post("/v1/messages", headers=h, content=b"{oops")
    assert r.status_code == 400 and r.json()["type"] == "error"
    with pytest.raises(anthropic.BadRequestError):
        ant.messages.create(model="c", max_tokens=10, messages=[])


def test_anthropic_mid_stream_error(ant, anthropic_sim):
    anthropic_sim.faults({"mid_stream_error": True, "after_chunks": 3})
    seen = []
    with pytest.raises(anthropic.APIStatusError) as ei:
        for e in ant.messages.create(model="c", max_tokens=10, messages=A_MSGS, stream=True):
            seen.append(e.type)
    assert seen == ["message_start", "content_block_start"]  # 3rd wire event was the ping
    assert ei.value.body["error"]["type"] == "overloaded_error"


def test_anthropic_count_tokens(ant):
    r = ant.messages.count_tokens(model="c", system="You are terse.", messages=A_MSGS)
    assert r.input_tokens == CHAT_PROMPT_TOKENS


# =============================================================================== Gemini
def g_url(sim, model="gemini-2.5-flash", method="generateContent", sse=False):
    return f"/v1beta/models/{model}:{method}" + ("?alt=sse" if sse else "")


def g_headers(sim):
    return {"x-goog-api-key": sim.key}


G_BODY = {"systemInstruction": {"parts": [{"text": "You are terse."}]},
          "contents": [{"role": "user", "parts": [{"text": "hello big"}, {"text": "world"}]}],
          "generationConfig": {"temperature": 0.1, "topP": 0.5, "seed": 7}}


def sse_chunks(raw: str) -> list[dict]:
    assert raw.endswith("\r\n\r\n")
    return [json.loads(e[len("data: "):]) for e in raw.split("\r\n\r\n") if e]


def test_gemini_generate_and_stream(gemini_sim):
    r = gemini_sim.http.post(g_url(gemini_sim), json=G_BODY, headers=g_headers(gemini_sim))
    assert r.status_code == 200, r.text
    d = r.json()
    cand = d["candidates"][0]
    assert cand["content"] == {"role": "model", "parts": [{"text": "Echo: hello big world"}]}
    assert cand["finishReason"] == "STOP" and cand["index"] == 0
    u = d["usageMetadata"]
    assert (u["promptTokenCount"], u["candidatesTokenCount"], u["totalTokenCount"]) == (
        CHAT_PROMPT_TOKENS, 4, CHAT_PROMPT_TOKENS + 4)
    assert d["modelVersion"] == "gemini-2.5-flash" and d["responseId"]

    s = gemini_sim.http.post(g_url(gemini_sim, method="streamGenerateContent", sse=True)
                             + "&key=" + gemini_sim.key, json=G_BODY)
    assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
    chunks = sse_chunks(s.text)
    assert len(chunks) == 4
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == \
        "Echo: hello big world"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"] == u


def test_gemini_json_array_stream(gemini_sim):
    r = gemini_sim.http.post(g_url(gemini_sim, method="streamGenerateContent"), json=G_BODY,
                             headers=g_headers(gemini_sim))
    arr = r.json()
    assert isinstance(arr, list) and len(arr) == 4
    assert arr[-1]["candidates"][0]["finishReason"] == "STOP"


def test_gemini_limits(gemini_sim):
    body = dict(G_BODY, generationConfig={"maxOutputTokens": 2})
    d = gemini_sim.http.post(g_url(gemini_sim), json=body, headers=g_headers(gemini_sim)).json()
    assert d["candidates"][0]["content"]["parts"][0]["text"] == "Echo: hello"
    assert d["candidates"][0]["finishReason"] == "MAX_TOKENS"
    body = dict(G_BODY, generationConfig={"stopSequences": ["world"]})
    d = gemini_sim.http.post(g_url(gemini_sim), json=body, headers=g_headers(gemini_sim)).json()
    assert d["candidates"][0]["content"]["parts"][0]["text"] == "Echo: hello big "
    assert d["candidates"][0]["finishReason"] == "STOP"


def test_gemini_function_call_round_trip(gemini_sim):
    tools = [{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
                                        "parameters": dict(WEATHER_SCHEMA, type="OBJECT")}]}]
    body = {"contents": [{"role": "user", "parts": [{"text": "weather?"}]}], "tools": tools,
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}}}
    d = gemini_sim.http.post(g_url(gemini_sim), json=body, headers=g_headers(gemini_sim)).json()
    part = d["candidates"][0]["content"]["parts"][0]
    assert part == {"functionCall": {"name": "get_weather", "args": WEATHER_ARGS}}
    assert d["candidates"][0]["finishReason"] == "STOP"
    s = gemini_sim.http.post(g_url(gemini_sim, method="streamGenerateContent", sse=True),
                             json=body, headers=g_headers(gemini_sim))
    chunks = sse_chunks(s.text)
    assert chunks[-1]["candidates"][0]["content"]["parts"][0] == part
    assert chunks[-1]["usageMetadata"] == d["usageMetadata"]
    body["contents"] += [{"role": "model", "parts": [part]},
                         {"role": "user", "parts": [{"functionResponse": {
                             "name": "get_weather", "response": {"result": "sunny"}}}]}]
    d = gemini_sim.http.post(g_url(gemini_sim), json=body, headers=g_headers(gemini_sim)).json()
    assert d["candidates"][0]["content"]["parts"] == [{"text": "Tool said: sunny"}]


def test_gemini_errors(gemini_sim):
    http = gemini_sim.http
    r = http.post(g_url(gemini_sim), json=G_BODY, params={"key": "wrong"})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert r.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    r = http.post(g_url(gemini_sim), json=G_BODY)
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    r = http.post(g_url(gemini_sim, model="gpt-4o"), json=G_BODY, headers=g_headers(gemini_sim))
    assert r.status_code == 404 and r.json()["error"] == {
        "code": 404, "status": "NOT_FOUND", "message": r.json()["error"]["message"]}
    r = http.post(g_url(gemini_sim), content=b"{x", headers=g_headers(gemini_sim))
    assert r.status_code == 400 and r.json()["error"]["code"] == 400
    r = http.post(g_url(gemini_sim), json={"contents": []}, headers=g_headers(gemini_sim))
    assert r.status_code == 400 and "contents is not specified" in r.json()["error"]["message"]
    gemini_sim.faults({"status": 429, "retry_after": 7}, {"status": 503}, {"status": 500})
    r = http.post(g_url(gemini_sim), json=G_BODY, headers=g_headers(gemini_sim))
    assert r.status_code == 429 and r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert r.json()["error"]["details"][0]["retryDelay"] == "7s"
    r = http.post(g_url(gemini_sim), json=G_BODY, headers=g_headers(gemini_sim))
    assert r.status_code == 503 and r.json()["error"]["status"] == "UNAVAILABLE"
    r = http.post(g_url(gemini_sim), json=G_BODY, headers=g_headers(gemini_sim))
    assert r.status_code == 500 and r.json()["error"]["status"] == "INTERNAL"


def test_gemini_google_genai_sdk(gemini_sim):
    genai = pytest.importorskip("google.genai")
    from google.genai import errors, types

    client = genai.Client(api_key=gemini_sim.key,
                          http_options=types.HttpOptions(base_url=gemini_sim.url))
    r = client.models.generate_content(
        model="gemini-2.5-flash", contents="hello big world",
        config=types.GenerateContentConfig(system_instruction="You are terse."))
    assert r.text == "Echo: hello big world"
    assert r.usage_metadata.prompt_token_count == CHAT_PROMPT_TOKENS
    text = "".join(c.text for c in client.models.generate_content_stream(
        model="gemini-2.5-flash", contents="hello big world"))
    assert text == "Echo: hello big world"
    gemini_sim.faults({"status": 429})
    with pytest.raises(errors.ClientError) as ei:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert ei.value.code == 429


# ======================================================================= control + faults
def test_journal_records_requests(openai_sim, oai):
    oai.chat.completions.create(model="gpt-4o", messages=CHAT)
    openai_sim.http.post("/v1/chat/completions?x=1", content=b"not json",
                         headers={"Authorization": "Bearer k"})
    reqs = openai_sim.requests()
    assert len(reqs) == 2
    assert reqs[0]["method"] == "POST" and reqs[0]["path"] == "/v1/chat/completions"
    assert reqs[0]["headers"]["authorization"] == f"Bearer {openai_sim.key}"
    assert reqs[0]["body"]["messages"] == CHAT
    assert reqs[1]["path"] == "/v1/chat/completions?x=1" and reqs[1]["body"] == "not json"
    openai_sim.reset()
    assert openai_sim.requests() == []
    assert openai_sim.http.get("/_sim/health").status_code == 200
    assert openai_sim.http.post("/_sim/faults", json={"bogus": 1}).status_code == 400


def test_fault_count_and_path_filter(openai_sim, oai):
    openai_sim.faults({"status": 500, "count": 2}, {"status": 503, "path": "/v1/models"})
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            oai.chat.completions.create(model="gpt-4o", messages=CHAT)
    assert oai.chat.completions.create(model="gpt-4o", messages=CHAT).choices
    with pytest.raises(openai.InternalServerError) as ei:
        oai.models.list()
    assert ei.value.status_code == 503


def test_fault_delay_headers(openai_sim):
    openai_sim.faults({"delay_headers_ms": 1500})
    h = {"Authorization": f"Bearer {openai_sim.key}"}
    with pytest.raises(httpx.ReadTimeout):
        openai_sim.http.post("/v1/chat/completions", json={"model": "m", "messages": CHAT},
                             headers=h, timeout=httpx.Timeout(5, read=0.3))
    t = time.monotonic()
    assert openai_sim.http.post("/v1/models", headers=h).status_code == 404  # POST: no route
    assert time.monotonic() - t < 1.0  # fault was consumed once


def test_fault_stall_and_drop(anthropic_sim):
    h = {"x-api-key": anthropic_sim.key, "anthropic-version": "2023-06-01"}
    body = {"model": "c", "max_tokens": 10, "messages": A_MSGS, "stream": True}
    anthropic_sim.faults({"stall_after_chunks": 2, "stall_ms": 3000}, {"drop_after_chunks": 4})
    got = []
    with pytest.raises(httpx.ReadTimeout):
        with anthropic_sim.http.stream("POST", "/v1/messages", json=body, headers=h,
                                       timeout=httpx.Timeout(5, read=0.5)) as r:
            for chunk in r.iter_raw():
                got.append(chunk)
    assert b"".join(got).count(b"event: ") == 2
    got = []
    with pytest.raises(httpx.RemoteProtocolError):
        with anthropic_sim.http.stream("POST", "/v1/messages", json=body, headers=h) as r:
            for chunk in r.iter_raw():
                got.append(chunk)
    assert b"".join(got).count(b"event: ") == 4


def test_concurrency_64_streams(gemini_sim):
    url = g_url(gemini_sim, method="streamGenerateContent", sse=True)

    def one(i):
        body = {"contents": [{"parts": [{"text": f"request number {i}"}]}]}
        r = gemini_sim.http.post(url, json=body, headers=g_headers(gemini_sim))
        return "".join(c["candidates"][0]["content"]["parts"][0]["text"]
                       for c in sse_chunks(r.text))

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(one, range(256)))
    assert results == [f"Echo: request number {i}" for i in range(256)]


def test_cli_latency_token_delay_and_ready_file():
    with tempfile.TemporaryDirectory() as d:
        ready = os.path.join(d, "ready")
        sim = Sim("openai", "--latency-ms", "300", "--token-delay-ms", "50", "--ready-file", ready)
        try:
            assert open(ready).read().strip() == sim.url
            h = {"Authorization": f"Bearer {sim.key}"}
            t = time.monotonic()
            r = sim.http.post("/v1/chat/completions", headers=h, json={
                "model": "m", "messages": CHAT, "stream": True})
            elapsed = time.monotonic() - t
            assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
            # 300 ms head latency + 50 ms between each of the 7 events
            assert elapsed >= 0.3 + 6 * 0.05
        finally:
            sim.stop()


def test_gemini_mid_stream_error_and_drop(gemini_sim):
    url = g_url(gemini_sim, method="streamGenerateContent", sse=True)
    gemini_sim.faults({"mid_stream_error": True, "after_chunks": 1}, {"drop_after_chunks": 2})
    r = gemini_sim.http.post(url, json=G_BODY, headers=g_headers(gemini_sim))
    chunks = sse_chunks(r.text)
    assert len(chunks) == 2 and chunks[-1]["error"]["status"] == "UNAVAILABLE"
    with pytest.raises(httpx.RemoteProtocolError):
        gemini_sim.http.post(url, json=G_BODY, headers=g_headers(gemini_sim))
    assert gemini_sim.http.post(url, json=G_BODY, headers=g_headers(gemini_sim)).status_code == 200


def test_non_stream_stall_is_a_body_delay(openai_sim):
    openai_sim.faults({"stall_after_chunks": 0, "stall_ms": 1500})
    h = {"Authorization": f"Bearer {openai_sim.key}"}
    with openai_sim.http.stream("POST", "/v1/chat/completions", headers=h,
                                json={"model": "m", "messages": CHAT},
                                timeout=httpx.Timeout(5, read=0.5)) as r:
        assert r.status_code == 200  # head arrives at once...
        with pytest.raises(httpx.ReadTimeout):
            r.read()  # ...the body does not


def test_a_client_resetting_an_idle_keep_alive_connection_is_not_an_error():
    # A gateway dropping a pooled connection may close it with a reset while the handler
    # waits for the next request; the simulator must treat that as normal (its stop()
    # fails on any traceback in its stderr).
    import socket
    import struct

    sim = Sim("openai")
    try:
        host, port = sim.url.rsplit("//", 1)[1].split(":")
        body = json.dumps({"model": "gpt-sim", "messages": [{"role": "user", "content": "hi"}]}).encode()
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + sim.key.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert s.recv(65536).startswith(b"HTTP/1.")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        time.sleep(0.3)
    finally:
        sim.stop()

"""Anthropic Messages API wire format (POST /v1/messages and friends).

Why: the gateway's Anthropic adapter must cope with the real protocol: the
`x-api-key` + mandatory `anthropic-version` headers, `message` objects with
typed content blocks, the named-event SSE stream (message_start,
content_block_start, ping, content_block_delta, content_block_stop,
message_delta, message_stop, and `event: error`), and
`{"type":"error","error":{type,message}}` bodies with a `request-id` header.
Behaviour comes from echo_model; this module only shapes it.
"""

from __future__ import annotations

import json

import echo_model as em
from wire_common import (BAD_JSON, NO_BODY, JsonResponse, Request, StreamResponse,
                         WireError, dumps, fmt_num, rand_id)

STOP_REASON = {
    em.FINISH_STOP: "end_turn",
    em.FINISH_STOP_SEQUENCE: "stop_sequence",
    em.FINISH_LENGTH: "max_tokens",
    em.FINISH_TOOL: "tool_use",
}

# status -> (error type, default message)
ERRORS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not Found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed the rate limit for your organization. "
                              "Please try again later."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}

MODELS = [("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
          ("claude-opus-4-1-20250805", "Claude Opus 4.1"),
          ("claude-3-5-haiku-20241022", "Claude Haiku 3.5")]


class AnthropicWire:
    name = "anthropic"

    def __init__(self, api_key: str | None):
        self.api_key = api_key

    # ---- errors -----------------------------------------------------------------
    def error(self, status: int, message: str | None = None, *, etype: str | None = None,
              retry_after: float | None = None, **_ignored) -> JsonResponse:
        d_type, d_msg = ERRORS.get(status, ("api_error", "Internal server error"))
        body = {"type": "error", "error": {"type": etype or d_type,
                                           "message": message if message is not None else d_msg}}
        headers = self._headers()
        if retry_after is not None:
            headers["retry-after"] = fmt_num(retry_after)
        return JsonResponse(status, body, headers)

    def mid_stream_error(self) -> bytes:
        return _event("error", {"type": "error", "error": {"type": "overloaded_error",
                                                           "message": "Overloaded"}})

    def _headers(self) -> dict[str, str]:
        return {"request-id": rand_id("req_011C", 20)}

    def _bad(self, message: str) -> WireError:
        return WireError(self.error(400, message))

    # ---- routing ----------------------------------------------------------------
    def handle(self, req: Request):
        known = {("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"),
                 ("GET", "/v1/models")}
        if (req.method, req.path) not in known and not req.path.startswith("/v1/models/"):
            raise WireError(self.error(404))
        self._check_headers(req)
        if req.path == "/v1/models":
            data = [_model(mid, name) for mid, name in MODELS]
            return JsonResponse(200, {"data": data, "has_more": False,
                                      "first_id": data[0]["id"], "last_id": data[-1]["id"]},
                                self._headers())
        if req.path.startswith("/v1/models/"):
            mid = req.path[len("/v1/models/"):]
            return JsonResponse(200, _model(mid, mid), self._headers())
        if req.path == "/v1/messages/count_tokens":
            conv, _ = self._parse(req, need_max_tokens=False)
            return JsonResponse(200, {"input_tokens": em.prompt_tokens(conv)}, self._headers())
        return self._messages(req)

    def _check_headers(self, req: Request) -> None:
        if self.api_key is not None:
            # x-api-key is the documented header; current SDKs (anthropic>=2) send the
            # same key as `Authorization: Bearer`, which the API also accepts.
            key = req.headers.get("x-api-key")
            auth = req.headers.get("authorization", "")
            if not key and auth.lower().startswith("bearer "):
                key = auth[7:].strip()
            if not key:
                raise WireError(self.error(401, "x-api-key header is required"))
            if key != self.api_key:
                raise WireError(self.error(401, "invalid x-api-key"))
        if not req.headers.get("anthropic-version"):
            raise self._bad("anthropic-version: header is required")

    # ---- request parsing --------------------------------------------------------
    # top-level field -> (accepted JSON types, pydantic-style wording Anthropic reports)
    TYPES = {
        "system": ((str, list), "a valid string or a valid list"),
        "tools": ((list,), "a valid list"), "tool_choice": ((dict,), "a valid dictionary"),
        "stop_sequences": ((list,), "a valid list"), "stream": ((bool,), "a valid boolean"),
        "temperature": ((int, float), "a valid number"), "top_p": ((int, float), "a valid number"),
        "top_k": ((int,), "a valid integer"), "metadata": ((dict,), "a valid dictionary"),
    }

    def _parse(self, req: Request, need_max_tokens: bool = True) -> tuple[em.Conversation, bool]:
        body = req.json
        if body is NO_BODY:
            raise self._bad("body: Field required")
        if body is BAD_JSON:
            raise self._bad("There was an error parsing the body of the request: invalid JSON")
        if not isinstance(body, dict):
            raise self._bad("body: Input should be a valid dictionary or object")
        for name in ("model", "messages") + (("max_tokens",) if need_max_tokens else ()):
            if name not in body:
                raise self._bad(f"{name}: Field required")
        for name, (types, wording) in self.TYPES.items():
            val = body.get(name)
            if val is not None and (not isinstance(val, types)
                                    or (isinstance(val, bool) and bool not in types)):
                raise self._bad(f"{name}: Input should be {wording}")
        for i, seq in enumerate(body.get("stop_sequences") or []):
            if not isinstance(seq, str):
                raise self._bad(f"stop_sequences.{i}: Input should be a valid string")
        if not isinstance(body["model"], str):
            raise self._bad("model: Input should be a valid string")
        max_tokens = body.get("max_tokens")
        if need_max_tokens and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)):
            raise self._bad("max_tokens: Input should be a valid integer")
        if need_max_tokens and max_tokens < 1:
            raise self._bad("max_tokens: Input should be greater than or equal to 1")
        raw_msgs = body["messages"]
        if not isinstance(raw_msgs, list):
            raise self._bad("messages: Input should be a valid list")
        if not raw_msgs:
            raise self._bad("messages: at least one message is required")

        messages = []
        for i, m in enumerate(raw_msgs):
            if not isinstance(m, dict):
                raise self._bad(f"messages.{i}: Input should be a valid dictionary or object")
            role = m.get("role")
            if role not in ("user", "assistant"):
                raise self._bad(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            content = m.get("content")
            if isinstance(content, str):
                messages.append(em.Message(role, content))
                continue
            if not isinstance(content, list):
                raise self._bad(f"messages.{i}.content: Input should be a valid list")
            texts, result = [], None
            for block in content:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    texts.append(block["text"])
                elif block.get("type") == "tool_result":
                    result = _blocks_text(block.get("content"))
                    texts.append(result)
            if result is not None and role == "user":
                messages.append(em.Message("tool", em.join_text(texts), tool_result=result))
            else:
                messages.append(em.Message(role, em.join_text(texts)))

        system = body.get("system")
        system = system if isinstance(system, str) else _blocks_text(system)

        tools = [em.Tool(t["name"], t.get("input_schema") or {})
                 for t in body.get("tools") or []
                 if isinstance(t, dict) and isinstance(t.get("name"), str)]
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            choice = choice.get("name") if choice.get("type") == "tool" else choice.get("type")
        else:
            choice = None
        stop = [s for s in body.get("stop_sequences") or [] if isinstance(s, str)]

        conv = em.Conversation(model=body["model"], messages=messages, system=system,
                               tools=tools, tool_choice=choice, stop=stop,
                               max_tokens=max_tokens if need_max_tokens else None)
        return conv, body.get("stream") is True

    # ---- rendering --------------------------------------------------------------
    def _messages(self, req: Request):
        conv, stream = self._parse(req)
        ans = em.answer(conv)
        msg_id = rand_id("msg_01", 22)
        tool_id = rand_id("toolu_01", 22) if ans.tool_name else None
        if stream:
            return StreamResponse(self._stream(conv, ans, msg_id, tool_id),
                                  headers=self._headers(), error_event=self.mid_stream_error())
        if ans.tool_name:
            content = [{"type": "tool_use", "id": tool_id, "name": ans.tool_name,
                        "input": ans.tool_args}]
        else:
            content = [{"type": "text", "text": ans.text}]
        body = _message(msg_id, conv.model, content, STOP_REASON[ans.finish], ans.stop_sequence,
                        _usage(ans.prompt_tokens, ans.completion_tokens))
        return JsonResponse(200, body, self._headers())

    def _stream(self, conv, ans, msg_id, tool_id) -> list[bytes]:
        events = [_event("message_start", {"type": "message_start", "message": _message(
            msg_id, conv.model, [], None, None, _usage(ans.prompt_tokens, 1))})]
        if ans.tool_name:
            block = {"type": "tool_use", "id": tool_id, "name": ans.tool_name, "input": {}}
            pieces = [""] + em.fragments(json.dumps(ans.tool_args))
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        else:
            block = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in ans.tokens]
        events.append(_event("content_block_start", {"type": "content_block_start", "index": 0,
                                                     "content_block": block}))
        events.append(_event("ping", {"type": "ping"}))
        for d in deltas:
            events.append(_event("content_block_delta", {"type": "content_block_delta",
                                                         "index": 0, "delta": d}))
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        events.append(_event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_REASON[ans.finish], "stop_sequence": ans.stop_sequence},
            "usage": {"output_tokens": ans.completion_tokens}}))
        events.append(_event("message_stop", {"type": "message_stop"}))
        return events


def _event(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(data) + b"\n\n"


def _message(msg_id, model, content, stop_reason, stop_sequence, usage) -> dict:
    return {"id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": stop_sequence,
            "usage": usage}


def _usage(input_tokens: int, output_tokens: int) -> dict:
    return {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": output_tokens,
            "service_tier": "standard"}


def _blocks_text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return em.join_text([b.get("text", "") for b in content
                             if isinstance(b, dict) and b.get("type") == "text"
                             and isinstance(b.get("text"), str)])
    return ""


def _model(mid: str, name: str) -> dict:
    return {"type": "model", "id": mid, "display_name": name,
            "created_at": "2025-01-01T00:00:00Z"}

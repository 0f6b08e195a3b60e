"""OpenAI Chat Completions wire format (POST /v1/chat/completions, GET /v1/models).

Why: the gateway's OpenAI adapter must be tested against byte-level realistic
responses: `chat.completion` objects, `chat.completion.chunk` SSE streams ending
in `data: [DONE]`, the optional usage-only chunk of `stream_options.include_usage`,
and `{"error": {message, type, param, code}}` error bodies with OpenAI's status
codes and messages.  Behaviour comes from echo_model; this module only shapes it.
"""

from __future__ import annotations

import json
import time

import echo_model as em
from wire_common import (BAD_JSON, NO_BODY, JsonResponse, Request, StreamResponse,
                         WireError, dumps, fmt_num, rand_id)

FINISH = {
    em.FINISH_STOP: "stop",
    em.FINISH_STOP_SEQUENCE: "stop",
    em.FINISH_LENGTH: "length",
    em.FINISH_TOOL: "tool_calls",
}

# status -> (type, code, default message)
ERRORS = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for requests. Please try again in 1s."),
    500: ("server_error", None,
          "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later"),
}

MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini"]
FINGERPRINT = "fp_sim0000001"
CREATED_AT = 1715367049


class OpenAIWire:
    name = "openai"

    def __init__(self, api_key: str | None):
        self.api_key = api_key

    # ---- errors -----------------------------------------------------------------
    def error(self, status: int, message: str | None = None, *, etype: str | None = None,
              code: str | None = "", param: str | None = None,
              retry_after: float | None = None) -> JsonResponse:
        d_type, d_code, d_msg = ERRORS.get(status, ("server_error", None, "Unexpected error."))
        body = {"error": {
            "message": message if message is not None else d_msg,
            "type": etype or d_type,
            "param": param,
            "code": d_code if code == "" else code,
        }}
        headers = self._headers()
        if status == 429:
            headers.update({"x-ratelimit-limit-requests": "500",
                            "x-ratelimit-remaining-requests": "0",
                            "x-ratelimit-reset-requests": "1s"})
        if retry_after is not None:
            headers["retry-after"] = fmt_num(retry_after)
        return JsonResponse(status, body, headers)

    def mid_stream_error(self) -> bytes:
        err = {"error": {"message": ERRORS[500][2], "type": "server_error",
                         "param": None, "code": None}}
        return b"data: " + dumps(err) + b"\n\n"

    def _headers(self) -> dict[str, str]:
        return {"x-request-id": "req_" + rand_id("", 32).lower(),
                "openai-processing-ms": "1", "openai-version": "2020-10-01"}

    # ---- routing ----------------------------------------------------------------
    def handle(self, req: Request):
        if not req.path.startswith("/v1/"):
            raise WireError(self.error(404, f"Invalid URL ({req.method} {req.path})", code=None))
        self._check_auth(req)
        if req.path == "/v1/chat/completions" and req.method == "POST":
            return self._chat(req)
        if req.path == "/v1/models" and req.method == "GET":
            return JsonResponse(200, {"object": "list", "data": [_model(m) for m in MODELS]},
                                self._headers())
        if req.path.startswith("/v1/models/") and req.method == "GET":
            return JsonResponse(200, _model(req.path[len("/v1/models/"):]), self._headers())
        raise WireError(self.error(404, f"Invalid URL ({req.method} {req.path})", code=None))

    def _check_auth(self, req: Request) -> None:
        if self.api_key is None:
            return
        auth = req.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise WireError(self.error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                "or as the password field (with blank username) if you're accessing the API "
                "from your browser and are prompted for a username. You can obtain an API key "
                "from https://platform.openai.com/account/api-keys.", code=None))
        key = auth[7:].strip()
        if key != self.api_key:
            masked = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 8 else key
            raise WireError(self.error(
                401, f"Incorrect API key provided: {masked}. You can find your API key at "
                     "https://platform.openai.com/account/api-keys."))

    # ---- request parsing --------------------------------------------------------
    def _bad(self, message: str, param: str | None = None, code: str | None = None):
        return WireError(self.error(400, message, param=param, code=code))

    # field -> (accepted JSON types, wording used in OpenAI's invalid_type message)
    TYPES = {
        "messages": ((list,), "an array"), "tools": ((list,), "an array"),
        "tool_choice": ((str, dict), "one of a string or object"),
        "stop": ((str, list), "one of a string or array"),
        "max_tokens": ((int,), "an integer"), "max_completion_tokens": ((int,), "an integer"),
        "stream": ((bool,), "a boolean"), "stream_options": ((dict,), "an object"),
        "n": ((int,), "an integer"), "temperature": ((int, float), "a number"),
        "top_p": ((int, float), "a number"),
    }

    def _check_types(self, body: dict) -> None:
        for key, (types, wording) in self.TYPES.items():
            val = body.get(key)
            if val is None:
                continue
            bad_bool = isinstance(val, bool) and bool not in types
            if bad_bool or not isinstance(val, types):
                raise self._bad(f"Invalid type for '{key}': expected {wording}, but got "
                                f"{_jtype(val)} instead.", key, "invalid_type")
        for i, m in enumerate(body.get("messages") or []):
            content = m.get("content") if isinstance(m, dict) else None
            if content is not None and not isinstance(content, (str, list)):
                raise self._bad(f"Invalid type for 'messages[{i}].content': expected one of a "
                                f"string or array of objects, but got {_jtype(content)} instead.",
                                f"messages[{i}].content", "invalid_type")
        for i, s in enumerate(body.get("stop") if isinstance(body.get("stop"), list) else []):
            if not isinstance(s, str):
                raise self._bad(f"Invalid type for 'stop[{i}]': expected a string, but got "
                                f"{_jtype(s)} instead.", f"stop[{i}]", "invalid_type")

    def _parse(self, req: Request) -> tuple[em.Conversation, dict]:
        body = req.json
        if body is BAD_JSON or body is NO_BODY or not isinstance(body, dict):
            raise self._bad(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON. If you have trouble figuring "
                "out how to fix this, please contact us through our help center at "
                "help.openai.com.)")
        model = body.get("model")
        if not model:
            raise self._bad("you must provide a model parameter")
        if not isinstance(model, str):
            raise self._bad("Invalid type for 'model': expected a string, but got "
                            f"{_jtype(model)} instead.", "model", "invalid_type")
        self._check_types(body)
        if "messages" not in body:
            raise self._bad("Missing required parameter: 'messages'.", "messages",
                            "missing_required_parameter")
        raw_msgs = body["messages"]
        if not isinstance(raw_msgs, list):
            raise self._bad("Invalid type for 'messages': expected an array, but got "
                            f"{_jtype(raw_msgs)} instead.", "messages", "invalid_type")
        if not raw_msgs:
            raise self._bad("Invalid 'messages': empty array. Expected an array with minimum "
                            "length 1, but got an empty array instead.", "messages", "empty_array")

        system: list[str] = []
        messages: list[em.Message] = []
        for i, m in enumerate(raw_msgs):
            if not isinstance(m, dict):
                raise self._bad(f"Invalid type for 'messages[{i}]': expected an object, but got "
                                f"{_jtype(m)} instead.", f"messages[{i}]", "invalid_type")
            role = m.get("role")
            text = _content_text(m.get("content"))
            if role in ("system", "developer"):
                system.append(text)
            elif role in ("user", "assistant"):
                messages.append(em.Message(role, text))
            elif role in ("tool", "function"):
                messages.append(em.Message("tool", text, tool_result=text))
            else:
                raise self._bad(f"Invalid value: '{role}'. Supported values are: 'system', "
                                "'assistant', 'user', 'function', 'tool', and 'developer'.",
                                f"messages[{i}].role", "invalid_value")

        tools = []
        for t in body.get("tools") or []:
            fn = t.get("function") if isinstance(t, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                tools.append(em.Tool(fn["name"], fn.get("parameters") or {}))
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            choice = (choice.get("function") or {}).get("name")

        max_tokens = None
        for key in ("max_completion_tokens", "max_tokens"):
            val = body.get(key)
            if val is None:
                continue
            if isinstance(val, bool) or not isinstance(val, int):
                raise self._bad(f"Invalid type for '{key}': expected an integer, but got "
                                f"{_jtype(val)} instead.", key, "invalid_type")
            max_tokens = val if max_tokens is None else min(max_tokens, val)

        stop = body.get("stop")
        stop = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str)]

        stream = body.get("stream") is True
        opts = body.get("stream_options")
        if opts is not None and not stream:
            raise self._bad("The 'stream_options' parameter is only allowed when 'stream' is "
                            "enabled.", "stream_options", "invalid_value")
        include_usage = stream and isinstance(opts, dict) and opts.get("include_usage") is True

        conv = em.Conversation(model=model, messages=messages, system=" ".join(system),
                               tools=tools, tool_choice=choice, max_tokens=max_tokens, stop=stop)
        return conv, {"stream": stream, "include_usage": include_usage}

    # ---- rendering --------------------------------------------------------------
    def _chat(self, req: Request):
        conv, opts = self._parse(req)
        ans = em.answer(conv)
        cid = rand_id("chatcmpl-", 29)
        created = int(time.time())
        call_id = rand_id("call_", 24) if ans.tool_name else None
        if opts["stream"]:
            return StreamResponse(self._stream(conv, ans, cid, created, call_id,
                                               opts["include_usage"]),
                                  headers=self._headers(), error_event=self.mid_stream_error())
        message = {"role": "assistant", "content": ans.text if ans.tool_name is None else None,
                   "refusal": None, "annotations": []}
        if ans.tool_name:
            message["tool_calls"] = [{"id": call_id, "type": "function", "function": {
                "name": ans.tool_name, "arguments": _args_json(ans)}}]
        body = {
            "id": cid, "object": "chat.completion", "created": created, "model": conv.model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": FINISH[ans.finish]}],
            "usage": _usage(ans), "service_tier": "default", "system_fingerprint": FINGERPRINT,
        }
        return JsonResponse(200, body, self._headers())

    def _stream(self, conv, ans, cid, created, call_id, include_usage) -> list[bytes]:
        def chunk(delta, finish=None, choices=True, usage=None):
            obj = {"id": cid, "object": "chat.completion.chunk", "created": created,
                   "model": conv.model, "service_tier": "default",
                   "system_fingerprint": FINGERPRINT,
                   "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                "finish_reason": finish}] if choices else []}
            if include_usage:
                obj["usage"] = usage
            return b"data: " + dumps(obj) + b"\n\n"

        events = []
        if ans.tool_name:
            events.append(chunk({"role": "assistant", "content": None, "tool_calls": [{
                "index": 0, "id": call_id, "type": "function",
                "function": {"name": ans.tool_name, "arguments": ""}}], "refusal": None}))
            for frag in em.fragments(_args_json(ans)):
                events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}))
        else:
            events.append(chunk({"role": "assistant", "content": "", "refusal": None}))
            for piece in ans.tokens:
                events.append(chunk({"content": piece}))
        events.append(chunk({}, FINISH[ans.finish]))
        if include_usage:
            events.append(chunk(None, choices=False, usage=_usage(ans)))
        events.append(b"data: [DONE]\n\n")
        return events


def _args_json(ans: em.Answer) -> str:
    return json.dumps(ans.tool_args, separators=(",", ":"))


def _usage(ans: em.Answer) -> dict:
    return {
        "prompt_tokens": ans.prompt_tokens,
        "completion_tokens": ans.completion_tokens,
        "total_tokens": ans.total_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def _content_text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return em.join_text([p.get("text", "") for p in content
                             if isinstance(p, dict) and p.get("type") == "text"
                             and isinstance(p.get("text"), str)])
    return ""


def _model(mid: str) -> dict:
    return {"id": mid, "object": "model", "created": CREATED_AT, "owned_by": "system"}


def _jtype(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number" if isinstance(v, float) else "an integer"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"

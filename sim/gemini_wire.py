"""Google Gemini API wire format (generativelanguage v1beta/v1 REST).

Why: the gateway's Gemini adapter must handle Google's conventions, which differ
from the other two: the model and method live in the URL
(`models/{model}:generateContent` / `:streamGenerateContent?alt=sse`), the key
comes from `x-goog-api-key` or `?key=`, streaming is SSE `data:` lines separated
by CRLF CRLF (or a JSON array without `alt=sse`), finish reasons are upper-case
enums, and errors are google.rpc.Status bodies `{"error":{code,message,status}}`.
A wrong key is 400 INVALID_ARGUMENT (reason API_KEY_INVALID) and a missing key
is 403 PERMISSION_DENIED, exactly as the real service answers.
"""

from __future__ import annotations

import json
import re

import echo_model as em
from wire_common import (BAD_JSON, NO_BODY, JsonResponse, Request, StreamResponse,
                         WireError, dumps, fmt_num, rand_id)

FINISH = {
    em.FINISH_STOP: "STOP",
    em.FINISH_STOP_SEQUENCE: "STOP",
    em.FINISH_LENGTH: "MAX_TOKENS",
    em.FINISH_TOOL: "STOP",
}

# status -> (google.rpc status, default message)
ERRORS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED",
          "You exceeded your current quota, please check your plan and billing details. For more "
          "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."),
    499: ("CANCELLED", "The operation was cancelled."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
                      "https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}

MODEL_PREFIXES = ("gemini-", "gemma-", "learnlm-")
MODELS = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"]
REQUEST_FIELDS = {"contents", "tools", "toolConfig", "tool_config", "safetySettings",
                  "safety_settings", "systemInstruction", "system_instruction",
                  "generationConfig", "generation_config", "cachedContent", "cached_content",
                  "model", "labels"}
LIST_FIELDS = {"contents", "tools", "safetySettings", "safety_settings"}
OBJECT_FIELDS = {"toolConfig", "tool_config", "systemInstruction", "system_instruction",
                 "generationConfig", "generation_config"}
ROUTE = re.compile(r"^/(v1beta|v1|v1alpha)/models/([^/:]+)(?::([A-Za-z]+))?$")
JSON_CT = "application/json; charset=UTF-8"


def _get(d: dict, camel: str, default=None):
    """Proto JSON accepts both lowerCamel and snake_case field names."""
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    return d.get(camel, d.get(snake, default))


class GeminiWire:
    name = "gemini"

    def __init__(self, api_key: str | None):
        self.api_key = api_key

    # ---- errors -----------------------------------------------------------------
    def error(self, status: int, message: str | None = None, *, etype: str | None = None,
              retry_after: float | None = None, details: list | None = None,
              **_ignored) -> JsonResponse:
        d_status, d_msg = ERRORS.get(status, ("UNKNOWN", "Unknown error."))
        err = {"code": status, "message": message if message is not None else d_msg,
               "status": etype or d_status}
        details = list(details or [])
        headers = {"content-type": JSON_CT}
        if retry_after is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": fmt_num(retry_after) + "s"})
            headers["retry-after"] = fmt_num(retry_after)
        if details:
            err["details"] = details
        return JsonResponse(status, {"error": err}, headers)

    def _error_bytes(self) -> bytes:
        return dumps({"error": {"code": 503, "message": ERRORS[503][1], "status": "UNAVAILABLE"}})

    def _bad(self, message: str) -> WireError:
        return WireError(self.error(400, message))

    # ---- routing ----------------------------------------------------------------
    def handle(self, req: Request):
        if req.method == "GET" and re.fullmatch(r"/(v1beta|v1|v1alpha)/models/?", req.path):
            self._check_auth(req)
            return JsonResponse(200, {"models": [_model(m) for m in MODELS]},
                                {"content-type": JSON_CT})
        match = ROUTE.match(req.path)
        if not match:
            raise WireError(self.error(404, "Requested entity was not found."))
        version, model, method = match.groups()
        self._check_auth(req)
        if not model.startswith(MODEL_PREFIXES):
            raise WireError(self.error(
                404, f"models/{model} is not found for API version {version}, or is not "
                     f"supported for {method or 'get'}. Call ListModels to see the list of "
                     "available models and their supported methods."))
        if method is None and req.method == "GET":
            return JsonResponse(200, _model(model), {"content-type": JSON_CT})
        if req.method != "POST" or method not in ("generateContent", "streamGenerateContent",
                                                  "countTokens"):
            raise WireError(self.error(404, "Requested entity was not found."))
        if method == "countTokens":
            return self._count_tokens(req, model)
        conv = self._parse(req, model)
        ans = em.answer(conv)
        rid = rand_id("", 22)
        chunks = self._chunks(conv, ans, rid)
        if method == "generateContent":
            return JsonResponse(200, self._whole(conv, ans, rid), {"content-type": JSON_CT})
        if req.query.get("alt") == "sse":
            return StreamResponse([b"data: " + dumps(c) + b"\r\n\r\n" for c in chunks],
                                  error_event=b"data: " + self._error_bytes() + b"\r\n\r\n")
        # Without alt=sse Google streams one JSON array, element by element.
        events = [(b"[" if i == 0 else b",\r\n") + dumps(c) for i, c in enumerate(chunks)]
        events.append(b"]")
        return StreamResponse(events, content_type=JSON_CT,
                              error_event=b",\r\n" + self._error_bytes() + b"]")

    def _check_auth(self, req: Request) -> None:
        if self.api_key is None:
            return
        key = req.headers.get("x-goog-api-key") or req.query.get("key")
        if not key:
            raise WireError(self.error(
                403, "Method doesn't allow unregistered callers (callers without established "
                     "identity). Please use API Key or other form of API consumer identity to "
                     "call this API."))
        if key != self.api_key:
            msg = "API key not valid. Please pass a valid API key."
            raise WireError(self.error(400, msg, details=[
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com",
                 "metadata": {"service": "generativelanguage.googleapis.com"}},
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
                 "message": msg}]))

    # ---- request parsing --------------------------------------------------------
    def _body(self, req: Request) -> dict:
        body = req.json
        if body is BAD_JSON or (body is not NO_BODY and not isinstance(body, dict)):
            raise self._bad("Invalid JSON payload received. Unexpected token.")
        body = {} if body is NO_BODY else body
        for name, val in body.items():
            if name not in REQUEST_FIELDS:
                raise self._bad(f'Invalid JSON payload received. Unknown name "{name}": '
                                "Cannot find field.")
            if name in LIST_FIELDS and not isinstance(val, list):
                raise self._bad(f"Invalid value at '{name}', {json.dumps(val)}")
            if name not in LIST_FIELDS and name in OBJECT_FIELDS and not isinstance(val, dict):
                raise self._bad(f"Invalid value at '{name}', {json.dumps(val)}")
        gen = _get(body, "generationConfig") or {}
        stops = _get(gen, "stopSequences")
        if stops is not None and (not isinstance(stops, list)
                                  or not all(isinstance(x, str) for x in stops)):
            raise self._bad("Invalid value at 'generation_config.stop_sequences', "
                            + json.dumps(stops))
        return body

    def _parse(self, req: Request, model: str) -> em.Conversation:
        body = self._body(req)
        contents = body.get("contents")
        if not contents:
            raise self._bad("* GenerateContentRequest.contents: contents is not specified\n")
        messages = []
        for i, c in enumerate(contents):
            if not isinstance(c, dict):
                raise self._bad(f"* GenerateContentRequest.contents[{i}]: must be an object\n")
            parts = c.get("parts") or []
            if not isinstance(parts, list) or not parts:
                raise self._bad(f"* GenerateContentRequest.contents[{i}].parts: contents.parts "
                                "must not be empty.\n")
            texts, result = [], None
            for part in parts:
                if not isinstance(part, dict):
                    continue
                if isinstance(part.get("text"), str) and not part.get("thought"):
                    texts.append(part["text"])
                fr = _get(part, "functionResponse")
                if isinstance(fr, dict):
                    result = _response_text(fr.get("response"))
                    texts.append(result)
            role = "assistant" if c.get("role") == "model" else "user"
            if result is not None and role == "user":
                messages.append(em.Message("tool", em.join_text(texts), tool_result=result))
            else:
                messages.append(em.Message(role, em.join_text(texts)))

        system = _get(body, "systemInstruction")
        if isinstance(system, dict):
            system = em.join_text([p.get("text", "") for p in system.get("parts") or []
                                   if isinstance(p, dict) and isinstance(p.get("text"), str)])
        elif not isinstance(system, str):
            system = ""

        tools = []
        for t in body.get("tools") or []:
            for fd in (_get(t, "functionDeclarations") or []) if isinstance(t, dict) else []:
                if isinstance(fd, dict) and isinstance(fd.get("name"), str):
                    schema = fd.get("parameters") or _get(fd, "parametersJsonSchema") or {}
                    tools.append(em.Tool(fd["name"], schema))
        choice = None
        fcc = _get(_get(body, "toolConfig") or {}, "functionCallingConfig") or {}
        if isinstance(fcc, dict):
            mode = str(fcc.get("mode", "")).upper()
            allowed = _get(fcc, "allowedFunctionNames") or []
            if mode == "NONE":
                choice = "none"
            elif mode == "ANY" and allowed:
                choice = allowed[0]

        gen = _get(body, "generationConfig") or {}
        max_tokens = _get(gen, "maxOutputTokens")
        if max_tokens is not None and (isinstance(max_tokens, bool)
                                       or not isinstance(max_tokens, int)):
            raise self._bad("Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), "
                            f"{json.dumps(max_tokens)}")
        stop = [s for s in _get(gen, "stopSequences") or [] if isinstance(s, str)]
        return em.Conversation(model=model, messages=messages, system=system, tools=tools,
                               tool_choice=choice, max_tokens=max_tokens, stop=stop)

    def _count_tokens(self, req: Request, model: str):
        body = self._body(req)
        inner = _get(body, "generateContentRequest")
        conv = self._parse(Request(req.method, req.path, req.target, req.query, req.headers,
                                   req.body, inner if isinstance(inner, dict) else body), model)
        n = em.prompt_tokens(conv)
        return JsonResponse(200, {"totalTokens": n, "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": n}]}, {"content-type": JSON_CT})

    # ---- rendering --------------------------------------------------------------
    def _parts(self, ans: em.Answer, text: str) -> list[dict]:
        if ans.tool_name:
            return [{"functionCall": {"name": ans.tool_name, "args": ans.tool_args}}]
        return [{"text": text}]

    def _whole(self, conv, ans, rid) -> dict:
        return {"candidates": [{"content": {"parts": self._parts(ans, ans.text), "role": "model"},
                                "finishReason": FINISH[ans.finish], "index": 0}],
                "usageMetadata": _usage(ans), "modelVersion": conv.model, "responseId": rid}

    def _chunks(self, conv, ans, rid) -> list[dict]:
        pieces = [None] if ans.tool_name else (ans.tokens or [""])
        out = []
        for i, piece in enumerate(pieces):
            cand = {"content": {"parts": self._parts(ans, piece), "role": "model"}, "index": 0}
            chunk = {"candidates": [cand]}
            if i == len(pieces) - 1:
                cand["finishReason"] = FINISH[ans.finish]
                chunk["usageMetadata"] = _usage(ans)
            chunk["modelVersion"] = conv.model
            chunk["responseId"] = rid
            out.append(chunk)
        return out


def _usage(ans: em.Answer) -> dict:
    return {"promptTokenCount": ans.prompt_tokens, "candidatesTokenCount": ans.completion_tokens,
            "totalTokenCount": ans.total_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": ans.prompt_tokens}]}


def _response_text(response) -> str:
    """Text of a functionResponse.response: its "result"/"output"/"content" string if it
    has one, otherwise the compact JSON of the whole object."""
    if isinstance(response, dict):
        for key in ("result", "output", "content"):
            if isinstance(response.get(key), str):
                return response[key]
    if isinstance(response, str):
        return response
    return json.dumps(response, separators=(",", ":"))


def _model(mid: str) -> dict:
    return {"name": f"models/{mid}", "version": "001", "displayName": mid,
            "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"]}

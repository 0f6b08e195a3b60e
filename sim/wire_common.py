"""Types shared by the provider wire modules and the HTTP server.

Why: the server (provider_sim.py) owns sockets, framing, latency and fault
injection; the wire modules own only the providers' JSON/SSE shapes.  These
small value types are the contract between the two, so a wire module never
touches a socket and the server never knows a provider's field names.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

_ALNUM = string.ascii_letters + string.digits


def rand_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def fmt_num(x: float) -> str:
    """Header-friendly number: 1 -> "1", 0.5 -> "0.5"."""
    return str(int(x)) if float(x).is_integer() else str(x)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


NO_BODY = object()  # sentinel: request had no body
BAD_JSON = object()  # sentinel: request body was not valid JSON


@dataclass
class Request:
    method: str
    path: str  # without the query string
    target: str  # path with query string, as sent
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any  # parsed body, or NO_BODY / BAD_JSON


@dataclass
class JsonResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamResponse:
    """A 200 streaming response: `events` are complete, already-framed byte strings
    (one SSE event each); the server writes one HTTP chunk per event so it can delay,
    stall, drop or inject an error between any two of them."""

    events: list[bytes]
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    error_event: bytes = b""  # written instead of the rest for a `mid_stream_error` fault


class WireError(Exception):
    """Raised by a wire module to answer with the provider's own error body."""

    def __init__(self, response: JsonResponse):
        super().__init__(response.status)
        self.response = response

"""Test-control state behind the /_sim/ endpoints: a request journal and a fault queue.

Why: gateway tests need to (a) assert exactly what the gateway sent upstream
(headers, translated bodies, retries) and (b) make the upstream misbehave on
demand (errors, slow first byte, stalled or dropped streams).  Both live in
memory, shared by all handler threads, so every access takes the lock.

Fault objects (queued FIFO by POST /_sim/faults, each consumed by the next
matching provider request):
  {"status": 429, "retry_after": 1, "message": "...", "type": "..."}  error response
  {"delay_headers_ms": 3000}                     sleep before the response head
  {"stall_after_chunks": 2, "stall_ms": 5000}    stream N events, then go silent
  {"drop_after_chunks": 2}                       stream N events, then close the socket
  {"mid_stream_error": true, "after_chunks": 2}  stream N events, then the provider's
                                                 in-stream error, then end the stream
  optional on any fault: "count": 3 (repeat), "path": "substr" and/or "method": "POST"
  (only requests whose path+query contains substr / whose method matches consume it)
"""

from __future__ import annotations

import threading
from collections import deque
import time
from typing import Any

FAULT_KEYS = {"status", "retry_after", "message", "type", "delay_headers_ms",
              "stall_after_chunks", "stall_ms", "drop_after_chunks", "mid_stream_error",
              "after_chunks", "count", "path", "method"}


class ControlState:
    def __init__(self, journal_limit: int = 10000) -> None:
        self._lock = threading.Lock()
        # bounded so long benchmark runs don't grow memory without limit
        self._requests: deque[dict] = deque(maxlen=max(journal_limit, 1))
        self._faults: list[dict] = []

    # ---- journal ----------------------------------------------------------------
    def record(self, entry: dict) -> None:
        entry["time"] = time.time()
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict]:
        with self._lock:
            return list(self._requests)

    # ---- faults -----------------------------------------------------------------
    @staticmethod
    def validate(faults: Any) -> list[dict]:
        """Accept one fault object or a list of them; raise ValueError on anything else."""
        if isinstance(faults, dict):
            faults = [faults]
        if not isinstance(faults, list):
            raise ValueError("expected a JSON list of fault objects")
        for f in faults:
            if not isinstance(f, dict):
                raise ValueError("each fault must be a JSON object")
            unknown = set(f) - FAULT_KEYS
            if unknown:
                raise ValueError(f"unknown fault keys: {sorted(unknown)}")
            status = f.get("status")
            if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                                       or not 100 <= status <= 599):
                raise ValueError("status must be an integer HTTP status code")
            for key in ("retry_after", "delay_headers_ms", "stall_ms", "stall_after_chunks",
                        "drop_after_chunks", "after_chunks"):
                val = f.get(key)
                if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float))
                                        or val < 0):
                    raise ValueError(f"{key} must be a non-negative number")
            count = f.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError("count must be a positive integer")
        return [dict(f) for f in faults]

    def add_faults(self, faults: list[dict]) -> None:
        with self._lock:
            self._faults.extend(faults)

    def faults(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def take_fault(self, method: str, target: str) -> dict | None:
        with self._lock:
            for i, f in enumerate(self._faults):
                if "path" in f and str(f["path"]) not in target:
                    continue
                if "method" in f and str(f["method"]).upper() != method:
                    continue
                if f.get("count", 1) > 1:
                    f["count"] = f.get("count", 1) - 1
                else:
                    del self._faults[i]
                return dict(f)
        return None

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()

"""Deterministic stand-in "model" shared by all three provider simulators.

Why: gateway tests must be able to predict every byte a provider returns, so
the simulators never generate text; they echo.  Each wire module translates its
provider's request into a provider-neutral `Conversation`, calls `answer()`, and
renders the resulting `Answer` in its own wire format.  Keeping the behaviour in
one place guarantees the three providers agree (same text, same token counts)
for the same conversation.

Rules (see sim/README.md for the full table):
  * answer = "Echo: " + text of the last user message (text parts joined by " ")
  * last message is a tool result -> "Tool said: " + that result's text
  * tools declared, last message is a user turn, tool choice not "none"
    -> call the first tool (or the one tool_choice names) with its required args
  * stop sequences cut the answer before the earliest match   -> finish "stop_sequence"
  * more answer words than the max-token limit -> keep the first N -> finish "length"
  * "tokens" are whitespace-separated words;
    prompt_tokens = words(system) + sum(words(message) + 3)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Internal finish reasons; each wire module maps them to its own vocabulary.
FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_STOP_SEQUENCE = "stop_sequence"
FINISH_TOOL = "tool_calls"

PER_MESSAGE_OVERHEAD = 3


@dataclass
class Message:
    """One turn. role is 'user', 'assistant' or 'tool' (a turn carrying tool results)."""

    role: str
    text: str = ""
    tool_result: str | None = None  # text of the last tool result in this turn


@dataclass
class Tool:
    name: str
    schema: dict = field(default_factory=dict)


@dataclass
class Conversation:
    model: str
    messages: list[Message]
    system: str = ""
    tools: list[Tool] = field(default_factory=list)
    tool_choice: str | None = None  # None/'auto'/'required' -> first tool, 'none', or a tool name
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)


@dataclass
class Answer:
    text: str
    finish: str
    prompt_tokens: int
    completion_tokens: int
    stop_sequence: str | None = None
    tool_name: str | None = None
    tool_args: dict | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens(self) -> list[str]:
        """Stream pieces: one per word, trailing whitespace attached, joining to `text`."""
        return split_tokens(self.text)


def count_words(text: str) -> int:
    return len(text.split())


def split_tokens(text: str) -> list[str]:
    pieces = re.findall(r"\S+\s*", text)
    if not pieces:
        return [text] if text else []
    lead = text[: len(text) - len("".join(pieces))]
    pieces[0] = lead + pieces[0]
    return pieces


def join_text(parts: list[str]) -> str:
    return " ".join(p for p in parts if p)


def prompt_tokens(conv: Conversation) -> int:
    return count_words(conv.system) + sum(
        count_words(m.text) + PER_MESSAGE_OVERHEAD for m in conv.messages
    )


def placeholder_for(schema: Any) -> Any:
    """Value used for one required property: strings "test", numbers 1, booleans true."""
    if not isinstance(schema, dict):
        return "test"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "string")
    kind = str(kind).lower()
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return required_args(schema)
    if kind == "null":
        return None
    return "test"


def required_args(schema: Any) -> dict:
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") or {}
    required = schema.get("required") or []
    if not isinstance(props, dict) or not isinstance(required, list):
        return {}
    return {name: placeholder_for(props.get(name)) for name in required if isinstance(name, str)}


def _choose_tool(conv: Conversation) -> Tool | None:
    if not conv.tools or conv.tool_choice == "none":
        return None
    if conv.tool_choice not in (None, "auto", "required", "any"):
        for tool in conv.tools:
            if tool.name == conv.tool_choice:
                return tool
    return conv.tools[0]


def answer(conv: Conversation) -> Answer:
    p_tokens = prompt_tokens(conv)
    last = conv.messages[-1] if conv.messages else None

    if last is not None and last.role == "tool":
        text = "Tool said: " + (last.tool_result or "")
    else:
        tool = _choose_tool(conv) if last is not None and last.role == "user" else None
        if tool is not None:
            args = required_args(tool.schema)
            return Answer(
                text="",
                finish=FINISH_TOOL,
                prompt_tokens=p_tokens,
                completion_tokens=count_words(json.dumps(args)),
                tool_name=tool.name,
                tool_args=args,
            )
        user = next((m for m in reversed(conv.messages) if m.role == "user"), None)
        text = "Echo: " + (user.text if user else "")

    finish, stop_seq = FINISH_STOP, None
    hits = [(text.find(s), s) for s in conv.stop if s and s in text]
    if hits:
        pos, stop_seq = min(hits, key=lambda h: h[0])
        text, finish = text[:pos], FINISH_STOP_SEQUENCE

    if conv.max_tokens is not None and count_words(text) > conv.max_tokens:
        text = "".join(split_tokens(text)[: max(conv.max_tokens, 0)]).rstrip()
        finish, stop_seq = FINISH_LENGTH, None

    return Answer(
        text=text,
        finish=finish,
        prompt_tokens=p_tokens,
        completion_tokens=count_words(text),
        stop_sequence=stop_seq,
    )


def fragments(s: str, parts: int = 3) -> list[str]:
    """Split a string into at least two non-empty pieces (for streamed tool arguments)."""
    if len(s) < 2:
        return [s, ""] if s else ["", ""]
    size = max(1, -(-len(s) // parts))
    out = [s[i : i + size] for i in range(0, len(s), size)]
    if len(out) < 2:
        out = [s[: len(s) // 2], s[len(s) // 2 :]]
    return out

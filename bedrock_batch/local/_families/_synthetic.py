"""The synthetic text generator shared by every family: deterministic, cheap text and tool calls.

Everything an answer contains is derived from the request's digest
(:attr:`RecordContext.seed`, a CRC-32 of the compact request body): the text is a slice of a
fixed word sequence, message ids come from a BLAKE2 hash, tool inputs are generated from the
tool's JSON schema (:mod:`._schema_instances`). No random generator is seeded per record
unless a tool call needs one. Each family puts these pieces in its own response schema
(``_anthropic``, ``_titan_text``, ...).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from ._context import RecordContext
from ._schema_instances import instance_for

__all__ = [
    "Text",
    "answer_id",
    "bounded_max_tokens",
    "ends_with_tool_results",
    "estimate_tokens",
    "pick_tool",
    "prompt_text",
    "tool_input",
    "words",
]

_VOCABULARY = (
    *("the", "answer", "depends", "on", "context", "and", "on", "history", "ritual"),
    *("practice", "meaning", "community", "season", "tradition", "temple", "offering"),
    *("memory", "family", "respect", "harmony", "nature", "balance", "renewal", "gratitude"),
    *("purification", "ancestors", "festival", "symbol", "teaching", "path", "mindfulness"),
    *("impermanence", "compassion", "ceremony", "moment", "place", "people", "time", "care"),
    *("form", "spirit", "way"),
)


def _word_pool(size: int = 8192) -> tuple[str, list[int]]:
    state, words = 2026, []
    for _ in range(size):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        words.append(_VOCABULARY[(state >> 16) % len(_VOCABULARY)])
    offsets, at = [], 0
    for word in words:
        offsets.append(at)
        at += len(word) + 1
    offsets.append(at)
    return " ".join(words) + " ", offsets


_POOL, _OFFSETS = _word_pool()
_POOL_WORDS = len(_OFFSETS) - 1
_ID_ALPHABET = bytes.maketrans(b"+/", b"PQ")
_TEXT_KEYS = frozenset({"text", "prompt", "inputText", "content", "system"})


def words(seed: int, count: int) -> str:
    """``count`` words of the fixed sequence, starting where ``seed`` says."""
    if count <= 0:
        return ""
    count = min(count, _POOL_WORDS)
    start = seed % (_POOL_WORDS - count + 1)
    return _POOL[_OFFSETS[start] : _OFFSETS[start + count] - 1]


def answer_id(seed: int, record_id: str, size: int = 22) -> str:
    digest = hashlib.blake2b(f"{seed}:{record_id}".encode(), digest_size=18).digest()
    return base64.b64encode(digest).translate(_ID_ALPHABET)[:size].decode("ascii")


def prompt_text(body: Any) -> str:
    """The prompt text of a request body: message texts, then system, prompt and inputText."""
    parts: list[str] = []
    if not isinstance(body, dict):
        return ""
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                for block in content:
                    text = block.get("text") if isinstance(block, dict) else None
                    if isinstance(text, str):
                        parts.append(text)
                    else:
                        _collect(block, parts)
    system = body.get("system")
    if isinstance(system, str):
        parts.append(system)
    elif isinstance(system, list):
        _collect(system, parts)
    for key in ("prompt", "inputText"):
        if isinstance(body.get(key), str):
            parts.append(body[key])
    return "\n".join(parts)


def _collect(node: Any, parts: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if key in _TEXT_KEYS:
                    parts.append(value)
            elif isinstance(value, (dict, list)):
                _collect(value, parts)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _collect(item, parts)


def estimate_tokens(text: str) -> int:
    """About four characters a token for ASCII text; more for other scripts."""
    if not text:
        return 0
    extra = len(text.encode("utf-8")) - len(text)
    return max(1, -(-len(text) // 4) + extra // 2)


def bounded_max_tokens(ctx: RecordContext, value: Any) -> int:
    """``value`` when it is a usable ``max_tokens`` (a non-negative integer), else the model's
    output ceiling: each family reads the value from its own request field."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return ctx.model.max_output_tokens or 4096


class Text:
    """The generated text of one answer and its token counts."""

    __slots__ = ("input_tokens", "output_tokens", "text", "truncated")

    def __init__(self, ctx: RecordContext, max_tokens: int) -> None:
        prompt = prompt_text(ctx.model_input)
        seed = ctx.seed
        self.input_tokens = estimate_tokens(prompt) + 7
        stripped = prompt.strip()
        first = stripped.split("\n", 1)[0][:60] if stripped else ""
        want = 16 + seed % 145
        base = estimate_tokens(first) + 2
        room = max(0, max_tokens - base)
        count = min(want, room)
        self.truncated = want > room
        drawn = words(seed >> 3, count)
        self.text = (f"{first} — " if first else "") + drawn + ("" if self.truncated else ".")
        self.output_tokens = max(1, min(base + count, max_tokens)) if max_tokens else 0


# --- tool use ------------------------------------------------------------------------------------


def ends_with_tool_results(messages: Any, anthropic: bool) -> bool:
    """Whether the last message carries tool results (Anthropic ``tool_result`` blocks or
    Converse ``toolResult`` blocks)."""
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return False
    content = messages[-1].get("content")
    if not isinstance(content, list):
        return False
    if anthropic:
        return any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    return any(isinstance(b, dict) and "toolResult" in b for b in content)


def pick_tool(
    kind: str, name: Any, tools: list[tuple[str, Any]], seed: int, after_results: bool
) -> tuple[str, Any] | None:
    """Which tool the synthetic model calls (None: it answers with text)."""
    if not tools or kind == "none":
        return None
    if kind == "tool":
        return next((t for t in tools if t[0] == name), None)
    if kind == "auto" and after_results:
        return None  # the tool loop ends: the model answers the tool results with text
    return tools[seed % len(tools)]


def tool_input(schema: Any, seed: int) -> Any:
    """A tool call's input: an instance of the tool's JSON schema (an object)."""
    value = instance_for(schema, seed) if isinstance(schema, Mapping) else {}
    return value if isinstance(value, dict) else {}

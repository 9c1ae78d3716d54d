"""Local Bedrock's prompt cache: which cached prefixes a request writes or reads (facts §12.4).

A request marks the end of a cacheable prefix with Claude's ``cache_control`` (on a tool, a
system block or a message block) or a Converse / Nova ``cachePoint`` block (in
``toolConfig.tools``, ``system`` or a message's ``content``). The prefix runs, in the order
tools, system, messages, up to the last marker. The emulator's rule (documented, deterministic):
the first request carrying a prefix writes it, every later one reads it; a prefix under
``min_tokens`` tokens is not cached; entries never expire while the emulator runs (the TTL,
``5m`` or ``1h``, is accepted but not modelled). Only models whose catalogue
``prompt_caching`` is True cache; on the others the markers are accepted and ignored.

Whether batch jobs honour cache markers is UNVERIFIED (the real Converse batch lines had null
cache fields): Local Bedrock accounts for caching on bedrock-runtime, and in batch jobs only
with its batch-cache knob on (``LocalBedrock(prompt_caching=PromptCaching(batch=True))``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .._encoding import encode
from ._synthetic import estimate_tokens

__all__ = ["anthropic_prefix", "messages_prefix"]


def _tokens(block: Any) -> int:
    if isinstance(block, Mapping) and isinstance(block.get("text"), str):
        return estimate_tokens(block["text"])
    if isinstance(block, str):
        return estimate_tokens(block)
    return estimate_tokens(encode(block))


def _prefix(blocks: Iterator[tuple[Any, bool]]) -> tuple[str, int] | None:
    """The blocks up to the last marked one, as (canonical JSON, tokens); None: no marker."""
    seen: list[Any] = []
    tokens = 0
    best: tuple[int, int] | None = None
    for block, marked in blocks:
        seen.append(block)
        tokens += _tokens(block)
        if marked:
            best = (len(seen), tokens)
    if best is None:
        return None
    return encode(seen[: best[0]]), best[1]


def _anthropic_blocks(body: Mapping[str, Any]) -> Iterator[tuple[Any, bool]]:
    for tool in body.get("tools") or []:
        yield tool, isinstance(tool, Mapping) and "cache_control" in tool
    system = body.get("system")
    if isinstance(system, str):
        yield system, False
    for block in system if isinstance(system, list) else []:
        yield block, isinstance(block, Mapping) and "cache_control" in block
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            yield content, False
        for block in content if isinstance(content, list) else []:
            yield block, isinstance(block, Mapping) and "cache_control" in block


def anthropic_prefix(body: Mapping[str, Any]) -> tuple[str, int] | None:
    """The cached prefix of a Claude Messages body (``cache_control`` markers)."""
    return _prefix(_anthropic_blocks(body))


def _messages_blocks(body: Mapping[str, Any]) -> Iterator[tuple[Any, bool]]:
    config = body.get("toolConfig")
    tools = config.get("tools") if isinstance(config, Mapping) else None
    groups = [tools or [], body.get("system") or []]
    for message in body.get("messages") or []:
        if isinstance(message, Mapping):
            groups.append(message.get("content") or [])
    for group in groups:
        for block in group if isinstance(group, list) else []:
            marked = isinstance(block, Mapping) and "cachePoint" in block
            yield ({} if marked else block), marked


def messages_prefix(body: Mapping[str, Any]) -> tuple[str, int] | None:
    """The cached prefix of a Converse or Nova body (``cachePoint`` blocks)."""
    return _prefix(_messages_blocks(body))

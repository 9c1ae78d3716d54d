"""Token accounting helpers shared by the families, and the synthetic latency.

Each family reads the usage of an answer where it reports it (its ``usage`` method): the
manifest's ``inputTokenCount`` / ``outputTokenCount``, the runtime's
``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count`` headers and the synthetic
latency all come from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["cache_tokens", "latency_ms", "token_count"]


def token_count(value: Any) -> int:
    """``value`` when it is a token count (a non-negative integer), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def latency_ms(output_tokens: int) -> int:
    """The synthetic model's latency: a fixed overhead plus a per-token time."""
    return 200 + 9 * output_tokens


#: Where each response schema reports cache reads and writes (facts §12.4): Converse,
#: Converse batch lines and Nova InvokeModel, Anthropic.
_CACHE_FIELDS = (
    ("cacheReadInputTokens", "cacheWriteInputTokens"),
    ("cacheReadInputTokenCount", "cacheWriteInputTokenCount"),
    ("cache_read_input_tokens", "cache_creation_input_tokens"),
)


def cache_tokens(output: Any) -> tuple[int, int]:
    """(cache-read, cache-write) input tokens of an answer, in any spelling (null is 0)."""
    usage = output.get("usage") if isinstance(output, Mapping) else None
    if not isinstance(usage, Mapping):
        return 0, 0
    for read, write in _CACHE_FIELDS:
        if usage.get(read) is not None or usage.get(write) is not None:
            return token_count(usage.get(read)), token_count(usage.get(write))
    return 0, 0

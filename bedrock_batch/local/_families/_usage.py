"""Token accounting helpers shared by the families, and the synthetic latency.

Each family reads the usage of an answer where it reports it (its ``usage`` method): the
manifest's ``inputTokenCount`` / ``outputTokenCount``, the runtime's
``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count`` headers and the synthetic
latency all come from there.
"""

from __future__ import annotations

from typing import Any

__all__ = ["latency_ms", "token_count"]


def token_count(value: Any) -> int:
    """``value`` when it is a token count (a non-negative integer), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def latency_ms(output_tokens: int) -> int:
    """The synthetic model's latency: a fixed overhead plus a per-token time."""
    return 200 + 9 * output_tokens

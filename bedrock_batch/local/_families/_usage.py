"""Token accounting of the emulator: what each answer it gave cost, from the answer itself.

The manifest's ``inputTokenCount`` / ``outputTokenCount``, the runtime's
``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count`` headers and the synthetic
latency all come from here. Each family reports usage in its documented place (Anthropic
``usage.input_tokens`` / ``output_tokens``; Converse and Nova ``usage.inputTokens`` /
``outputTokens``; Titan ``inputTextTokenCount`` and ``results[].tokenCount``; Llama
``prompt_token_count`` / ``generation_token_count``); Mistral's body carries none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["latency_ms", "usage_of"]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def usage_of(family: str, invocation_type: str, output: Any) -> tuple[int, int]:
    """(input tokens, output tokens) an answer reports, read where its family puts them."""
    if not isinstance(output, Mapping):
        return 0, 0
    if invocation_type == "Converse" or family == "nova":
        usage = output.get("usage")
        if isinstance(usage, Mapping):
            return _count(usage.get("inputTokens")), _count(usage.get("outputTokens"))
        return 0, 0
    if family == "anthropic":
        usage = output.get("usage")
        if isinstance(usage, Mapping):
            return _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
        return 0, 0
    if family == "titan-text":
        results = output.get("results")
        generated = (
            sum(_count(r.get("tokenCount")) for r in results if isinstance(r, Mapping))
            if isinstance(results, list)
            else 0
        )
        return _count(output.get("inputTextTokenCount")), generated
    if family in ("titan-embed-text", "titan-embed-image"):
        return _count(output.get("inputTextTokenCount")), 0
    if family == "llama":
        return _count(output.get("prompt_token_count")), _count(
            output.get("generation_token_count")
        )
    return 0, 0  # Mistral: the documented body has no token counts


def latency_ms(output_tokens: int) -> int:
    """The synthetic model's latency: a fixed overhead plus a per-token time."""
    return 200 + 9 * output_tokens

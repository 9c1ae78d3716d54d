"""Reading a ``modelOutput`` of any family: its text, embedding and token usage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["NO_USAGE", "Usage", "output_embedding", "output_text", "output_usage"]


@attrs.frozen
class Usage:
    """Token counts of one record (or of many, added up with ``+``)."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


def _int(value: Any) -> int:
    return value if type(value) is int else 0


def output_text(output: Mapping[str, Any] | None) -> str | None:
    """The generated text of any family's ``modelOutput``; None for embeddings or no output."""
    if not isinstance(output, Mapping):
        return None
    # Converse and Nova: output.message.content[*].text (null members are skipped).
    message = output.get("output", {})
    if isinstance(message, Mapping) and isinstance(message.get("message"), Mapping):
        blocks = message["message"].get("content") or []
        texts = [
            b["text"] for b in blocks if isinstance(b, Mapping) and isinstance(b.get("text"), str)
        ]
        return "".join(texts)
    # Anthropic Messages: content[*] of type text.
    if isinstance(output.get("content"), list):
        return "".join(
            b.get("text", "")
            for b in output["content"]
            if isinstance(b, Mapping) and b.get("type") == "text"
        )
    # Titan Text: results[0].outputText.
    if isinstance(output.get("results"), list) and output["results"]:
        first = output["results"][0]
        return first.get("outputText") if isinstance(first, Mapping) else None
    # Llama: generation.
    if isinstance(output.get("generation"), str):
        return str(output["generation"])
    # Mistral chat: choices[0].message.content; Mistral text: outputs[0].text.
    if isinstance(output.get("choices"), list) and output["choices"]:
        msg = (
            output["choices"][0].get("message", {})
            if isinstance(output["choices"][0], Mapping)
            else {}
        )
        content = msg.get("content") if isinstance(msg, Mapping) else None
        return content if isinstance(content, str) else None
    if isinstance(output.get("outputs"), list) and output["outputs"]:
        first = output["outputs"][0]
        return first.get("text") if isinstance(first, Mapping) else None
    return None


def output_embedding(output: Mapping[str, Any] | None) -> list[float] | None:
    """The float embedding of a Titan embeddings ``modelOutput``; None otherwise."""
    if not isinstance(output, Mapping):
        return None
    emb = output.get("embedding")
    if isinstance(emb, list):
        return emb
    by_type = output.get("embeddingsByType")
    if isinstance(by_type, Mapping) and isinstance(by_type.get("float"), list):
        return list(by_type["float"])
    return None


#: No tokens (shared: most results of a failed record carry it).
NO_USAGE = Usage()


def output_usage(output: Mapping[str, Any] | None) -> Usage:
    """Token usage from any family's ``modelOutput`` (zeros when the family reports none)."""
    if type(output) is not dict:  # decoded JSON: a dict or nothing usable
        if not isinstance(output, Mapping):
            return NO_USAGE
        output = dict(output)
    usage = output.get("usage")
    if type(usage) is dict:
        if "input_tokens" in usage or "output_tokens" in usage:  # Anthropic
            return Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")))
        return Usage(_int(usage.get("inputTokens")), _int(usage.get("outputTokens")))
    if "prompt_token_count" in output:  # Llama
        return Usage(
            _int(output.get("prompt_token_count")), _int(output.get("generation_token_count"))
        )
    results = output.get("results")
    if type(results) is list:  # Titan Text
        out = sum(_int(r.get("tokenCount")) for r in results if type(r) is dict)
        return Usage(_int(output.get("inputTextTokenCount")), out)
    if "inputTextTokenCount" in output:  # Titan embeddings
        return Usage(_int(output.get("inputTextTokenCount")), 0)
    return NO_USAGE

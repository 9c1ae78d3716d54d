"""The Meta Llama family (Llama 3.x): ``prompt``, ``max_gen_len``, ``temperature``, ``top_p``,
``images``; answers ``generation`` with ``prompt_token_count`` / ``generation_token_count``.

Rules written from the model's documented request body and phrased in the JSON-schema style
(``bedrock-facts.md`` §7).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._context import RecordContext
from ._rules_common import (
    ceiling,
    schema_extra,
    schema_integer,
    schema_number,
    schema_required,
    schema_string,
    schema_strings,
)
from ._synthetic import Text, bounded_max_tokens
from ._usage import token_count

__all__ = ["LLAMA", "Llama", "check_llama"]


def check_llama(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Llama 3.x: ``prompt``, ``max_gen_len``, ``temperature``, ``top_p``, ``images``."""
    schema_required(body, ("prompt",))
    schema_extra(body, frozenset({"prompt", "max_gen_len", "temperature", "top_p", "images"}))
    schema_string(body, "prompt")
    schema_integer(body, "max_gen_len", 1, ceiling(model, 2048))
    schema_number(body, "temperature", 0, 1)
    schema_number(body, "top_p", 0, 1)
    schema_strings(body, "images")


def _answer(ctx: RecordContext) -> dict[str, Any]:
    text = Text(ctx, bounded_max_tokens(ctx, ctx.model_input.get("max_gen_len", 512)))
    return {
        "generation": text.text,
        "prompt_token_count": text.input_tokens,
        "generation_token_count": text.output_tokens,
        "stop_reason": "length" if text.truncated else "stop",
    }


class Llama:
    """Llama 3.x on InvokeModel."""

    name = "llama"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The family's request rules."""
        check_llama(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """A Llama response: ``generation``."""
        return _answer(ctx)

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """``prompt_token_count`` / ``generation_token_count``."""
        if not isinstance(output, Mapping):
            return 0, 0
        return token_count(output.get("prompt_token_count")), token_count(
            output.get("generation_token_count")
        )

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """None: the body references no S3 object."""
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return output


LLAMA = Llama()

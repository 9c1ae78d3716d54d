"""A toy model family for Local Bedrock, written the way a real family module is: its own request
rules (phrased with the shared refusal helpers), its synthetic answers (from the shared text
generator) in its own response schema, and its usage accounting.

Request body: ``{"prompt": str, "max_words": int (1..64, optional)}``.
Answer: ``{"answer": str, "finish": "stop" | "length", "tokens": {"in": int, "out": int}}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bedrock_batch._catalog import ModelInfo
from bedrock_batch.local import RecordContext
from bedrock_batch.local._families._rules_common import (
    schema_extra,
    schema_integer,
    schema_required,
    schema_string,
)
from bedrock_batch.local._families._synthetic import Text, bounded_max_tokens
from bedrock_batch.local._families._usage import token_count

NAME = "toy-echo"
_KEYS = frozenset({"prompt", "max_words"})


class ToyEcho:
    """The toy family."""

    name = NAME

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        schema_required(body, ("prompt",))
        schema_extra(body, _KEYS)
        schema_string(body, "prompt")
        schema_integer(body, "max_words", 1, 64)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        text = Text(ctx, bounded_max_tokens(ctx, ctx.model_input.get("max_words", 64)))
        return {
            "answer": text.text,
            "finish": "length" if text.truncated else "stop",
            "tokens": {"in": text.input_tokens, "out": text.output_tokens},
        }

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        tokens = output.get("tokens") if isinstance(output, Mapping) else None
        if not isinstance(tokens, Mapping):
            return 0, 0
        return token_count(tokens.get("in")), token_count(tokens.get("out"))

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        return output


TOY = ToyEcho()
#: The toy's catalogue row (a test fixture adds it to ``CATALOG`` and removes it).
TOY_MODEL = ModelInfo("toy.echo-v1:0", NAME, "Toy Echo", 256)  # type: ignore[arg-type]

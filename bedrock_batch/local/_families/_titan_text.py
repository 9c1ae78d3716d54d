"""The Amazon Titan Text family (Titan Text G1 Express / Premier): ``inputText`` plus an optional
``textGenerationConfig``; answers ``results[].outputText`` with ``inputTextTokenCount`` and
``results[].tokenCount``.

Rules written from the model's documented request body (Bedrock user guide, "Inference request
parameters and response fields for foundation models") and phrased in the JSON-schema style
(``bedrock-facts.md`` §7).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._context import RecordContext
from ._rules_common import (
    ceiling,
    json_object,
    schema_extra,
    schema_integer,
    schema_number,
    schema_required,
    schema_string,
    schema_strings,
)
from ._synthetic import Text, bounded_max_tokens
from ._usage import token_count

__all__ = ["TITAN_TEXT", "TitanText", "check_titan_text"]


def check_titan_text(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Titan Text G1: ``inputText`` plus an optional ``textGenerationConfig``."""
    schema_required(body, ("inputText",))
    schema_extra(body, frozenset({"inputText", "textGenerationConfig"}))
    schema_string(body, "inputText")
    config = json_object(body, "textGenerationConfig")
    where = "#/textGenerationConfig"
    schema_extra(
        config, frozenset({"maxTokenCount", "temperature", "topP", "stopSequences"}), where
    )
    schema_integer(config, "maxTokenCount", 0, ceiling(model, 8192), where)
    schema_number(config, "temperature", 0, 1, where)
    schema_number(config, "topP", 0, 1, where)
    schema_strings(config, "stopSequences", where)


def _answer(ctx: RecordContext) -> dict[str, Any]:
    config = ctx.model_input.get("textGenerationConfig")
    value = config.get("maxTokenCount", 512) if isinstance(config, dict) else 512
    text = Text(ctx, bounded_max_tokens(ctx, value))
    return {
        "inputTextTokenCount": text.input_tokens,
        "results": [
            {
                "tokenCount": text.output_tokens,
                "outputText": text.text,
                "completionReason": "LENGTH" if text.truncated else "FINISH",
            }
        ],
    }


class TitanText:
    """Titan Text G1 on InvokeModel."""

    name = "titan-text"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The family's request rules."""
        check_titan_text(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """A Titan Text response: ``results[].outputText``."""
        return _answer(ctx)

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """``inputTextTokenCount`` and the sum of ``results[].tokenCount``."""
        if not isinstance(output, Mapping):
            return 0, 0
        results = output.get("results")
        generated = (
            sum(token_count(r.get("tokenCount")) for r in results if isinstance(r, Mapping))
            if isinstance(results, list)
            else 0
        )
        return token_count(output.get("inputTextTokenCount")), generated

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """None: the body references no S3 object."""
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return output


TITAN_TEXT = TitanText()

"""The Converse family: the one shared family that answers every model when the invocation
type is ``Converse`` (bedrock-runtime ``Converse`` and Converse-type batch jobs).

Converse differs between on-demand and batch: on bedrock-runtime ``toolConfig`` is tool use; in
a Converse-type *batch* job a record carrying ``toolConfig`` is refused with a per-record 400
(``bedrock-facts.md`` §7, newest docs variant). What a model supports (tools, tool choices)
comes from its catalogue columns, never from its family.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._context import RecordContext
from ._rules_common import (
    Refusal,
    is_integer,
    malformed,
    schema_extra,
    schema_integer,
    schema_number,
)
from ._rules_messages import (
    check_cache_points,
    check_messages,
    check_tool_blocks_need_config,
    s3_locations,
    tool_names,
)
from ._synthetic import bounded_max_tokens
from ._synthetic_messages import messages_answer, messages_usage

__all__ = ["BATCH_TOOL_CONFIG", "CONVERSE", "Converse", "check_converse"]

_CONVERSE_BATCH_KEYS = frozenset(
    {
        "messages",
        "system",
        "inferenceConfig",
        "additionalModelRequestFields",
        "additionalModelResponseFieldPaths",
        "guardrailConfig",
        "promptVariables",
        "requestMetadata",
        "performanceConfig",
        "toolConfig",
        "outputConfig",
    }
)
_CONVERSE_RUNTIME_KEYS = _CONVERSE_BATCH_KEYS | {"serviceTier"}
_CONVERSE_CONFIG = frozenset({"maxTokens", "temperature", "topP", "stopSequences"})
BATCH_TOOL_CONFIG = (
    "Tool use (toolConfig) is not supported for batch inference with the Converse API."
)
_CONVERSE_BLOCK_KEYS = (
    "audio", "cachePoint", "citationsContent", "document", "guardContent", "image",
    "reasoningContent", "searchResult", "text", "toolResult", "toolUse", "video",
)  # fmt: skip


def _model_supports(tool_config: Mapping[str, Any], model: ModelInfo | None) -> None:
    if model is None:
        return
    if not model.tools:
        raise Refusal("This model doesn't support tool use.")
    choice = tool_config.get("toolChoice") or {}
    for kind in choice:
        if kind not in model.tool_choices:
            raise Refusal(
                f"This model doesn't support the toolConfig.toolChoice.{kind} field. "
                f"Remove toolConfig.toolChoice.{kind} and try again."
            )


def _output_config(output_config: Any) -> None:
    where = "#/outputConfig"
    if not isinstance(output_config, dict):
        raise malformed(where, "expected type: JSONObject")
    text_format = output_config.get("textFormat")
    if text_format is None:
        return
    if not isinstance(text_format, dict) or text_format.get("type") != "json_schema":
        raise malformed(f"{where}/textFormat/type", "json_schema is the only supported value")
    structure = text_format.get("structure")
    definition = structure.get("jsonSchema") if isinstance(structure, dict) else None
    if not isinstance(definition, dict) or not isinstance(definition.get("schema"), str):
        raise malformed(f"{where}/textFormat/structure", "required key [jsonSchema] not found")
    try:
        schema = json.loads(definition["schema"])
    except ValueError:
        schema = None
    if not isinstance(schema, dict):
        raise malformed(
            f"{where}/textFormat/structure/jsonSchema/schema", "expected a JSON schema object"
        )


def check_converse(body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
    """A Converse request body (without ``modelId``), on bedrock-runtime or in a batch job."""
    allowed = _CONVERSE_RUNTIME_KEYS if on_demand else _CONVERSE_BATCH_KEYS
    extra = next((key for key in body if key not in allowed), None)
    if extra is not None:
        raise Refusal(f"The model input is invalid: extraneous key [{extra}] is not permitted")
    if "toolConfig" in body and not on_demand:
        raise Refusal(BATCH_TOOL_CONFIG)
    check_messages(body)
    config = body.get("inferenceConfig", {})
    if not isinstance(config, dict):
        raise malformed("#/inferenceConfig", "expected type: JSONObject")
    schema_extra(config, _CONVERSE_CONFIG, "#/inferenceConfig")
    if model is not None and model.is_embedding:
        raise Refusal("The Converse API does not support embedding models.")
    ceiling = model.max_output_tokens if model is not None else 64_000
    if is_integer(config.get("maxTokens")) and config["maxTokens"] > ceiling:
        raise Refusal(f"The maximum tokens you requested exceeds the model limit of {ceiling}.")
    schema_integer(config, "maxTokens", 1, ceiling, "#/inferenceConfig")
    schema_number(config, "temperature", 0, 1, "#/inferenceConfig")
    schema_number(config, "topP", 0, 1, "#/inferenceConfig")
    if not isinstance(body.get("additionalModelRequestFields", {}), dict):
        raise malformed("#/additionalModelRequestFields", "expected type: JSONObject")
    if (
        model is not None
        and model.exclusive_sampling
        and "temperature" in config
        and "topP" in config
    ):
        raise Refusal("`temperature` and `top_p` cannot both be specified")
    if "toolConfig" in body:
        tool_names(body["toolConfig"])
        _model_supports(body["toolConfig"], model)
    check_tool_blocks_need_config(body)
    check_cache_points(body)
    if "outputConfig" in body:
        _output_config(body["outputConfig"])


def _batch_converse(output: dict[str, Any]) -> dict[str, Any]:
    """A Converse response as batch output writes it: every union member, nulls included."""
    message = (output.get("output") or {}).get("message") or {}
    blocks = []
    for block in message.get("content") or []:
        full: dict[str, Any] = dict.fromkeys(_CONVERSE_BLOCK_KEYS)
        full.update(block)
        blocks.append(full)
    usage = output.get("usage") or {}
    return {
        "output": {"message": {"content": blocks}},
        "stopReason": output.get("stopReason", "end_turn"),
        "usage": {
            "serverToolUsage": {"webSearchRequests": None},
            "cacheReadInputTokens": usage.get("cacheReadInputTokens"),
            "cacheWriteInputTokens": usage.get("cacheWriteInputTokens"),
            "cacheReadInputTokenCount": usage.get("cacheReadInputTokens"),
            "cacheWriteInputTokenCount": usage.get("cacheWriteInputTokens"),
            "cacheDetails": None,
            "inputTokens": usage.get("inputTokens", 0),
            "outputTokens": usage.get("outputTokens", 0),
            "totalTokens": usage.get("totalTokens", 0),
        },
    }


def _max_tokens(ctx: RecordContext) -> int:
    config = ctx.model_input.get("inferenceConfig")
    value: Any = None
    if isinstance(config, dict):
        value = config.get("maxTokens", config.get("max_new_tokens"))
    return bounded_max_tokens(ctx, value)


class Converse:
    """The Converse API, for any model."""

    name = "converse"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The Converse request rules (batch or on-demand)."""
        check_converse(body, model, on_demand=on_demand)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """A Converse response: text, a ``toolUse`` block, or JSON for ``outputConfig``."""
        return messages_answer(ctx, _max_tokens(ctx))

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """``usage.inputTokens`` / ``usage.outputTokens``."""
        return messages_usage(output)

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """Images, videos and documents by ``s3Location``."""
        return s3_locations(body)

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """Batch output writes every union member of a content block, nulls included."""
        return _batch_converse(output)


CONVERSE = Converse()

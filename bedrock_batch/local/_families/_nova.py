"""The Amazon Nova family (its native ``messages-v1`` InvokeModel body): its request rules,
native tools included, its synthetic answers and usage (the Converse response shape).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._context import RecordContext
from ._rules_common import malformed, schema_extra, schema_integer, schema_number
from ._rules_messages import (
    check_cache_points,
    check_messages,
    check_tool_blocks_need_config,
    s3_locations,
    tool_names,
)
from ._synthetic import bounded_max_tokens
from ._synthetic_messages import messages_answer, messages_usage

__all__ = ["NOVA", "Nova", "check_nova"]

_NOVA_KEYS = frozenset({"schemaVersion", "system", "messages", "inferenceConfig", "toolConfig"})
_NOVA_CONFIG = frozenset(
    {"maxTokens", "max_new_tokens", "temperature", "topP", "topK", "stopSequences"}
)


def check_nova(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Nova's native InvokeModel body (``schemaVersion`` ``messages-v1``), native tools included."""
    schema_extra(body, _NOVA_KEYS)
    if "schemaVersion" in body and body["schemaVersion"] != "messages-v1":
        raise malformed("#/schemaVersion", "messages-v1 is the only supported value")
    check_messages(body)
    config = body.get("inferenceConfig", {})
    if not isinstance(config, dict):
        raise malformed("#/inferenceConfig", "expected type: JSONObject")
    where = "#/inferenceConfig"
    schema_extra(config, _NOVA_CONFIG, where)
    ceiling = model.max_output_tokens if model is not None else 10_000
    schema_integer(config, "maxTokens", 1, ceiling, where)
    schema_integer(config, "max_new_tokens", 1, ceiling, where)
    schema_number(config, "temperature", 0, 1, where)
    schema_number(config, "topP", 0, 1, where)
    schema_integer(config, "topK", 0, 128, where)
    if "toolConfig" in body:
        tool_names(body["toolConfig"])
    check_tool_blocks_need_config(body)
    check_cache_points(body)


def _max_tokens(ctx: RecordContext) -> int:
    config = ctx.model_input.get("inferenceConfig")
    value: Any = None
    if isinstance(config, dict):
        value = config.get("maxTokens", config.get("max_new_tokens"))
    if value is None:
        value = 5000  # Nova's documented default for InvokeModel
    return bounded_max_tokens(ctx, value)


class Nova:
    """Nova's native body on InvokeModel."""

    name = "nova"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """Nova's request rules."""
        check_nova(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """A Converse-shaped response: text, or a ``toolUse`` block when a tool is called."""
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
        """The answer as it is."""
        return output


NOVA = Nova()

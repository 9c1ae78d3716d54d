"""Request rules of the messages-shaped bodies: Amazon Nova (InvokeModel) and Converse.

Nova's native body and the Converse API share their message and tool shapes (``messages`` of
single-member content blocks; ``toolConfig`` with ``toolSpec`` / ``inputSchema.json`` and a
``toolChoice`` of ``auto`` / ``any`` / ``tool``). Converse differs between on-demand and batch:
on bedrock-runtime ``toolConfig`` is tool use; in a Converse-type *batch* job a record carrying
``toolConfig`` is refused with a per-record 400 (``bedrock-facts.md`` §7, newest docs variant).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._models import capabilities
from ._rules_common import (
    Refusal,
    is_integer,
    malformed,
    schema_extra,
    schema_integer,
    schema_number,
    schema_required,
)

__all__ = ["check_converse", "check_nova", "tool_names"]

_BLOCK_KINDS = frozenset(
    {
        "text",
        "image",
        "video",
        "document",
        "toolUse",
        "toolResult",
        "reasoningContent",
        "cachePoint",
    }
)
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_CHOICES = ("auto", "any", "tool")
_NOVA_KEYS = frozenset({"schemaVersion", "system", "messages", "inferenceConfig", "toolConfig"})
_NOVA_CONFIG = frozenset(
    {"maxTokens", "max_new_tokens", "temperature", "topP", "topK", "stopSequences"}
)
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
TOOL_BLOCKS_NEED_CONFIG = (
    "The toolConfig field must be defined when using toolUse and toolResult content blocks."
)


def _blocks(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            for block in message.get("content") or []:
                if isinstance(block, dict):
                    yield block


def _messages(body: Mapping[str, Any]) -> None:
    schema_required(body, ("messages",))
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise malformed("#/messages", "expected minItems: 1")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise malformed(f"#/messages/{i}/role", "not a valid enum value")
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise malformed(f"#/messages/{i}/content", "expected type: JSONArray")
        for j, block in enumerate(content):
            if (
                not isinstance(block, dict)
                or len(block) != 1
                or next(iter(block)) not in _BLOCK_KINDS
            ):
                raise malformed(f"#/messages/{i}/content/{j}", "not a valid content block")
            if "text" in block and not (isinstance(block["text"], str) and block["text"]):
                raise malformed(f"#/messages/{i}/content/{j}/text", "expected minLength: 1")
    if messages[0]["role"] != "user":
        raise Refusal(
            "A conversation must start with a user message. "
            "Try again with a conversation that starts with a user message."
        )
    system = body.get("system", [])
    if not isinstance(system, list) or not all(isinstance(s, dict) for s in system):
        raise malformed("#/system", "expected type: JSONArray")


def tool_names(tool_config: Any) -> list[str]:
    """Check a Converse-shaped ``toolConfig`` (structure only); returns its tool names."""
    if not isinstance(tool_config, dict):
        raise malformed("#/toolConfig", "expected type: JSONObject")
    tools = tool_config.get("tools")
    if not isinstance(tools, list) or not tools:
        raise malformed("#/toolConfig/tools", "expected minItems: 1")
    names: list[str] = []
    for i, tool in enumerate(tools):
        where = f"#/toolConfig/tools/{i}"
        if isinstance(tool, dict) and "cachePoint" in tool:
            continue
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(spec, dict):
            raise malformed(where, "required key [toolSpec] not found")
        schema_required(spec, ("name", "inputSchema"), f"{where}/toolSpec")
        name = spec["name"]
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise malformed(
                f"{where}/toolSpec/name", "string does not match pattern ^[a-zA-Z0-9_-]{1,64}$"
            )
        schema = spec["inputSchema"]
        if not isinstance(schema, dict) or not isinstance(schema.get("json"), dict):
            raise malformed(f"{where}/toolSpec/inputSchema", "required key [json] not found")
        names.append(name)
    if len(set(names)) != len(names):
        raise malformed("#/toolConfig/tools", "tool names must be unique")
    choice = tool_config.get("toolChoice")
    if choice is not None:
        kinds = [k for k in _CHOICES if isinstance(choice, dict) and k in choice]
        if not isinstance(choice, dict) or len(kinds) != 1 or len(choice) != 1:
            raise malformed(
                "#/toolConfig/toolChoice", "exactly one of [auto, any, tool] is required"
            )
        if kinds[0] == "tool":
            picked = choice["tool"].get("name") if isinstance(choice["tool"], dict) else None
            if picked not in names:
                raise malformed(
                    "#/toolConfig/toolChoice/tool/name",
                    f"{picked} is not the name of a tool in toolConfig",
                )
    return names


def _model_supports(tool_config: Mapping[str, Any], model: ModelInfo | None) -> None:
    if model is None:
        return
    caps = capabilities(model)
    if not caps.tools:
        raise Refusal("This model doesn't support tool use.")
    choice = tool_config.get("toolChoice") or {}
    for kind in choice:
        if kind not in caps.tool_choices:
            raise Refusal(
                f"This model doesn't support the toolConfig.toolChoice.{kind} field. "
                f"Remove toolConfig.toolChoice.{kind} and try again."
            )


def _tool_blocks_need_config(body: Mapping[str, Any]) -> None:
    if "toolConfig" not in body and any("toolUse" in b or "toolResult" in b for b in _blocks(body)):
        raise Refusal(TOOL_BLOCKS_NEED_CONFIG)


def check_nova(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Nova's native InvokeModel body (``schemaVersion`` ``messages-v1``), native tools included."""
    schema_extra(body, _NOVA_KEYS)
    if "schemaVersion" in body and body["schemaVersion"] != "messages-v1":
        raise malformed("#/schemaVersion", "messages-v1 is the only supported value")
    _messages(body)
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
    _tool_blocks_need_config(body)


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
    _messages(body)
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
    _tool_blocks_need_config(body)
    if "outputConfig" in body:
        _output_config(body["outputConfig"])

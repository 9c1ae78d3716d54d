"""The request rules of each model family, as Bedrock applies them to ``modelInput``.

Used by the client before anything is uploaded ("fail before you pay") and by Local Bedrock,
which turns a broken record into the per-record 400 error line Bedrock writes. The messages
mimic the service's wording where it is known (see ``bedrock-facts.md`` §2 and §7).

Each checker returns the first problem as a string, or ``None`` when the body is acceptable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .._catalog import Family, ModelInfo
from ._schema_rules import (
    _TOOL_NAME,
    _Bad,
    _is_int,
    _malformed,
    _schema_extra,
    _schema_num,
    _schema_required,
    _schema_str,
    _schema_str_list,
)
from ._schemas_anthropic import ANTHROPIC_VERSION, _anthropic, _anthropic_plain

__all__ = [
    "ANTHROPIC_VERSION",
    "check_model_input",
    "input_text",
    "iter_s3_locations",
    "requested_output_tokens",
]

_Check = Callable[[Mapping[str, Any], "ModelInfo | None"], "str | None"]


# --- Amazon Titan ------------------------------------------------------------------------------

_TITAN_TEXT_CONFIG = frozenset({"maxTokenCount", "temperature", "topP", "stopSequences"})


def _titan_text(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_required(body, "inputText")
    _schema_extra(body, frozenset({"inputText", "textGenerationConfig"}))
    _schema_str(body, "inputText")
    cfg = body.get("textGenerationConfig", {})
    if not isinstance(cfg, dict):
        raise _malformed("#/textGenerationConfig: expected type: JSONObject")
    _schema_extra(cfg, _TITAN_TEXT_CONFIG, "#/textGenerationConfig")
    ceiling = model.max_output_tokens if model else 8192
    _schema_num(cfg, "maxTokenCount", 0, ceiling, integer=True, path="#/textGenerationConfig")
    _schema_num(cfg, "temperature", 0, 1, path="#/textGenerationConfig")
    _schema_num(cfg, "topP", 0, 1, path="#/textGenerationConfig")
    _schema_str_list(cfg, "stopSequences", path="#/textGenerationConfig")
    return None


def _titan_embed_text(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_required(body, "inputText")
    _schema_extra(body, frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"}))
    _schema_str(body, "inputText")
    if len(body["inputText"]) > 50000:
        raise _malformed("#/inputText: expected maxLength: 50000")
    if "dimensions" in body and body["dimensions"] not in (256, 512, 1024):
        raise _malformed(f"#/dimensions: {body['dimensions']} is not a valid enum value")
    if "normalize" in body and not isinstance(body["normalize"], bool):
        raise _malformed("#/normalize: expected type: Boolean")
    types = body.get("embeddingTypes", ["float"])
    if not isinstance(types, list) or not types or not set(types) <= {"float", "binary"}:
        raise _malformed("#/embeddingTypes: expected a non-empty subset of [float, binary]")
    return None


def _titan_embed_image(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_extra(body, frozenset({"inputText", "inputImage", "embeddingConfig"}))
    if "inputText" not in body and "inputImage" not in body:
        raise _malformed("#: at least one of [inputText, inputImage] is required")
    _schema_str(body, "inputText")
    _schema_str(body, "inputImage")
    cfg = body.get("embeddingConfig", {})
    if not isinstance(cfg, dict):
        raise _malformed("#/embeddingConfig: expected type: JSONObject")
    _schema_extra(cfg, frozenset({"outputEmbeddingLength"}), "#/embeddingConfig")
    if "outputEmbeddingLength" in cfg and cfg["outputEmbeddingLength"] not in (256, 384, 1024):
        raise _malformed("#/embeddingConfig/outputEmbeddingLength: not a valid enum value")
    return None


# --- Meta Llama 3.x -----------------------------------------------------------------------------


def _llama(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_required(body, "prompt")
    _schema_extra(body, frozenset({"prompt", "max_gen_len", "temperature", "top_p", "images"}))
    _schema_str(body, "prompt")
    _schema_num(body, "max_gen_len", 1, model.max_output_tokens if model else 2048, integer=True)
    _schema_num(body, "temperature", 0, 1)
    _schema_num(body, "top_p", 0, 1)
    _schema_str_list(body, "images")
    return None


# --- Mistral -----------------------------------------------------------------------------------

_MISTRAL_KEYS = frozenset(
    {
        "messages",
        "prompt",
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
    }
)


def _mistral(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_extra(body, _MISTRAL_KEYS)
    if "messages" not in body and "prompt" not in body:
        raise _malformed("#: required key [messages] not found")
    if "messages" in body:
        msgs = body["messages"]
        if not isinstance(msgs, list) or not msgs:
            raise _malformed("#/messages: expected minItems: 1")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in (
                "system",
                "user",
                "assistant",
                "tool",
            ):
                raise _malformed(f"#/messages/{i}/role: not a valid enum value")
            if not isinstance(m.get("content"), (str, list)):
                raise _malformed(f"#/messages/{i}: required key [content] not found")
    else:
        _schema_str(body, "prompt")
    _schema_num(body, "max_tokens", 1, model.max_output_tokens if model else 8192, integer=True)
    _schema_num(body, "temperature", 0, 1)
    _schema_num(body, "top_p", 0, 1)
    _schema_num(body, "top_k", 0, 200, integer=True)
    if "tools" in body:
        tools = body["tools"]
        if not isinstance(tools, list):
            raise _malformed("#/tools: expected type: JSONArray")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                raise _malformed(f"#/tools/{i}/type: function is the only supported value")
            if not isinstance(tool.get("function"), dict):
                raise _malformed(f"#/tools/{i}: required key [function] not found")
            _schema_required(tool["function"], "name", path=f"#/tools/{i}/function")
            _schema_str(tool["function"], "name", path=f"#/tools/{i}/function")
    if "tool_choice" in body and body["tool_choice"] not in ("auto", "any", "none"):
        raise _malformed(f"#/tool_choice: {body['tool_choice']} is not a valid enum value")
    return None


# --- Amazon Nova and Converse ---------------------------------------------------------------------

_CONTENT_KINDS = frozenset(
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


def _messages_content(body: Mapping[str, Any]) -> None:
    _schema_required(body, "messages")
    msgs = body["messages"]
    if not isinstance(msgs, list) or not msgs:
        raise _malformed("#/messages: expected minItems: 1")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise _malformed(f"#/messages/{i}/role: not a valid enum value")
        content = m.get("content")
        if not isinstance(content, list) or not content:
            raise _malformed(f"#/messages/{i}/content: expected type: JSONArray")
        for j, block in enumerate(content):
            if (
                not isinstance(block, dict)
                or len(block) != 1
                or next(iter(block)) not in _CONTENT_KINDS
            ):
                raise _malformed(f"#/messages/{i}/content/{j}: not a valid content block")
            if "text" in block and (not isinstance(block["text"], str) or not block["text"]):
                raise _malformed(f"#/messages/{i}/content/{j}/text: expected minLength: 1")
    if msgs[0].get("role") != "user":
        raise _Bad(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        )
    system = body.get("system", [])
    if not isinstance(system, list) or not all(isinstance(s, dict) for s in system):
        raise _malformed("#/system: expected type: JSONArray")


_NOVA_CONFIG = frozenset(
    {"maxTokens", "max_new_tokens", "temperature", "topP", "topK", "stopSequences"}
)


def _nova(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_extra(
        body,
        frozenset({"schemaVersion", "system", "messages", "inferenceConfig", "toolConfig"}),
    )
    if "schemaVersion" in body and body["schemaVersion"] != "messages-v1":
        raise _malformed("#/schemaVersion: messages-v1 is the only supported value")
    _messages_content(body)
    cfg = body.get("inferenceConfig", {})
    if not isinstance(cfg, dict):
        raise _malformed("#/inferenceConfig: expected type: JSONObject")
    _schema_extra(cfg, _NOVA_CONFIG, "#/inferenceConfig")
    ceiling = model.max_output_tokens if model else 10000
    for key in ("maxTokens", "max_new_tokens"):
        _schema_num(cfg, key, 1, ceiling, integer=True, path="#/inferenceConfig")
    _schema_num(cfg, "temperature", 0, 1, path="#/inferenceConfig")
    _schema_num(cfg, "topP", 0, 1, path="#/inferenceConfig")
    _schema_num(cfg, "topK", 0, 128, integer=True, path="#/inferenceConfig")
    if "toolConfig" in body:
        _tool_config(body["toolConfig"])
    return _tool_blocks_without_config(body)


_TOOLS_NEED_CONFIG = (
    "The toolConfig field must be defined when using toolUse and toolResult content blocks."
)


def _tool_blocks_without_config(body: Mapping[str, Any]) -> str | None:
    if "toolConfig" in body:
        return None
    for msg in body.get("messages") or []:
        for block in msg.get("content") or []:
            if "toolUse" in block or "toolResult" in block:
                return _TOOLS_NEED_CONFIG
    return None


def _tool_config(cfg: Any) -> list[str]:
    """Check a Converse/Nova ``toolConfig``; returns the tool names."""
    if not isinstance(cfg, dict):
        raise _malformed("#/toolConfig: expected type: JSONObject")
    tools = cfg.get("tools")
    if not isinstance(tools, list) or not tools:
        raise _malformed("#/toolConfig/tools: expected minItems: 1")
    names: list[str] = []
    for i, tool in enumerate(tools):
        path = f"#/toolConfig/tools/{i}"
        if isinstance(tool, dict) and "cachePoint" in tool:
            continue
        if not isinstance(tool, dict) or not isinstance(tool.get("toolSpec"), dict):
            raise _malformed(f"{path}: required key [toolSpec] not found")
        spec = tool["toolSpec"]
        _schema_required(spec, "name", "inputSchema", path=f"{path}/toolSpec")
        if not isinstance(spec["name"], str) or not _TOOL_NAME.match(spec["name"]):
            raise _malformed(
                f"{path}/toolSpec/name: string does not match pattern ^[a-zA-Z0-9_-]{{1,64}}$"
            )
        if not isinstance(spec["inputSchema"], dict) or not isinstance(
            spec["inputSchema"].get("json"), dict
        ):
            raise _malformed(f"{path}/toolSpec/inputSchema: required key [json] not found")
        names.append(spec["name"])
    if len(names) != len(set(names)):
        raise _malformed("#/toolConfig/tools: tool names must be unique")
    choice = cfg.get("toolChoice")
    if choice is not None:
        if (
            not isinstance(choice, dict)
            or len(choice) != 1
            or next(iter(choice)) not in ("auto", "any", "tool")
        ):
            raise _malformed(
                "#/toolConfig/toolChoice: exactly one of [auto, any, tool] is required"
            )
        if "tool" in choice:
            name = choice["tool"].get("name") if isinstance(choice["tool"], dict) else None
            if name not in names:
                raise _malformed(
                    f"#/toolConfig/toolChoice/tool/name: {name} is not the name of a tool in toolConfig"
                )
    return names


_CONVERSE_KEYS = frozenset(
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
_CONVERSE_CONFIG = frozenset({"maxTokens", "temperature", "topP", "stopSequences"})


def _converse(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    if "toolConfig" in body:
        return "Tool use (toolConfig) is not supported for batch inference with the Converse API."
    return _converse_runtime(body, model)


def _converse_runtime(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    """A Converse request as bedrock-runtime takes it on demand (``toolConfig`` allowed)."""
    for key in body:
        if key not in _CONVERSE_KEYS:
            return f"The model input is invalid: extraneous key [{key}] is not permitted"
    if "toolConfig" in body:
        _tool_config(body["toolConfig"])
    _messages_content(body)
    cfg = body.get("inferenceConfig", {})
    if not isinstance(cfg, dict):
        raise _malformed("#/inferenceConfig: expected type: JSONObject")
    _schema_extra(cfg, _CONVERSE_CONFIG, "#/inferenceConfig")
    ceiling = model.max_output_tokens if model else 64000
    if model is not None and model.is_embedding:
        return "The Converse API does not support embedding models."
    if "maxTokens" in cfg and _is_int(cfg["maxTokens"]) and cfg["maxTokens"] > ceiling:
        return f"The maximum tokens you requested exceeds the model limit of {ceiling}."
    _schema_num(cfg, "maxTokens", 1, ceiling, integer=True, path="#/inferenceConfig")
    _schema_num(cfg, "temperature", 0, 1, path="#/inferenceConfig")
    _schema_num(cfg, "topP", 0, 1, path="#/inferenceConfig")
    extra = body.get("additionalModelRequestFields", {})
    if not isinstance(extra, dict):
        raise _malformed("#/additionalModelRequestFields: expected type: JSONObject")
    if model and model.exclusive_sampling and "temperature" in cfg and "topP" in cfg:
        return "`temperature` and `top_p` cannot both be specified"
    problem = _tool_blocks_without_config(body)
    if problem:
        return problem
    if "outputConfig" in body:
        _output_config(body["outputConfig"])
    return None


def _output_config(cfg: Any) -> None:
    """Structured output: ``textFormat`` of type ``json_schema`` with a JSON schema string."""
    if not isinstance(cfg, dict):
        raise _malformed("#/outputConfig: expected type: JSONObject")
    fmt = cfg.get("textFormat")
    if fmt is None:
        return
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise _malformed("#/outputConfig/textFormat/type: json_schema is the only supported value")
    structure = fmt.get("structure")
    schema_def = structure.get("jsonSchema") if isinstance(structure, dict) else None
    if not isinstance(schema_def, dict) or not isinstance(schema_def.get("schema"), str):
        raise _malformed("#/outputConfig/textFormat/structure: required key [jsonSchema] not found")
    try:
        parsed = json.loads(schema_def["schema"])
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise _malformed(
            "#/outputConfig/textFormat/structure/jsonSchema/schema: expected a JSON schema object"
        )


_CHECKS: dict[str, _Check] = {
    "anthropic": _anthropic,
    "titan-text": _titan_text,
    "titan-embed-text": _titan_embed_text,
    "titan-embed-image": _titan_embed_image,
    "llama": _llama,
    "mistral": _mistral,
    "nova": _nova,
    "converse": _converse,
    "converse-runtime": _converse_runtime,
}


def check_model_input(
    model_input: Any,
    family: Family | None,
    *,
    invocation_type: str = "InvokeModel",
    model: ModelInfo | None = None,
    on_demand: bool = False,
) -> str | None:
    """Return the message Bedrock would give this ``modelInput``, or None when it is valid.

    ``family`` None with InvokeModel means "unknown model": only the JSON-object shape is checked.
    ``on_demand`` checks a Converse body as bedrock-runtime takes it (tool use allowed) rather
    than as a batch record.
    """
    if not isinstance(model_input, dict):
        return "Malformed input request: #: expected type: JSONObject, please reformat your input and try again."
    if invocation_type == "Converse":
        kind: str | None = "converse-runtime" if on_demand else "converse"
    else:
        kind = family
    if kind is None:
        return None
    if kind == "anthropic" and _anthropic_plain(model_input, model):
        return None
    try:
        return _CHECKS[kind](model_input, model)
    except _Bad as bad:
        return str(bad)


def requested_output_tokens(
    model_input: Any,
    family: Family | None,
    *,
    invocation_type: str = "InvokeModel",
    default: int = 4096,
) -> int:
    """The output-token ceiling a request asks for (``default`` when it names none)."""
    if not isinstance(model_input, dict):
        return default
    value: Any
    if invocation_type == "Converse" or family == "nova":
        cfg = model_input.get("inferenceConfig") or {}
        value = cfg.get("maxTokens", cfg.get("max_new_tokens")) if isinstance(cfg, dict) else None
    elif family in {"anthropic", "mistral"}:
        value = model_input.get("max_tokens")
    elif family == "titan-text":
        cfg = model_input.get("textGenerationConfig") or {}
        value = cfg.get("maxTokenCount", 512) if isinstance(cfg, dict) else None
    elif family == "llama":
        value = model_input.get("max_gen_len", 512)
    elif family in ("titan-embed-text", "titan-embed-image"):
        return 0
    else:
        value = None
    return value if _is_int(value) and value >= 0 else default


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "prompt", "inputText", "content", "system") or isinstance(
                value, (dict, list)
            ):
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def input_text(model_input: Any) -> str:
    """All prompt text of a request body (messages, system, prompt, inputText), joined."""
    return "\n".join(_texts(model_input))


def iter_s3_locations(node: Any) -> Iterator[str]:
    """Every ``s3Location.uri`` referenced inside a request body (Nova images and videos)."""
    if isinstance(node, dict):
        loc = node.get("s3Location")
        if isinstance(loc, dict) and isinstance(loc.get("uri"), str):
            yield loc["uri"]
        for value in node.values():
            yield from iter_s3_locations(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_s3_locations(item)

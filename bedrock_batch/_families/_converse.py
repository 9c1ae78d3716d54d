"""The Converse API, shared by every model: its request rules (batch and on-demand), its body
builder, its forced tool, and how to read its output. Nova's native InvokeModel body uses the
same message shapes (:mod:`._nova` builds on this module)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .._catalog import ModelInfo
from .._errors import ValidationError
from ._features import CACHE_POINT, check_cache_points, closed_schema
from ._protocol import (
    Images,
    S3Media,
    TextGenerationFamily,
    drop_none,
    iter_s3_locations,
    mapping,
)
from ._schema_rules import (
    _TOOL_NAME,
    _Bad,
    _is_int,
    _malformed,
    _schema_extra,
    _schema_num,
    _schema_required,
    run_rules,
)
from ._usage import UNKNOWN_USAGE, Usage, count

__all__ = ["CONVERSE", "ConverseFamily"]

# --- request rules ----------------------------------------------------------------------------

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
    check_cache_points(body)
    if msgs[0].get("role") != "user":
        raise _Bad(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        )
    system = body.get("system", [])
    if not isinstance(system, list) or not all(isinstance(s, dict) for s in system):
        raise _malformed("#/system: expected type: JSONArray")


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
        if "strict" in spec and not isinstance(spec["strict"], bool):
            raise _malformed(f"{path}/toolSpec/strict: expected type: Boolean")
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


# --- the family -------------------------------------------------------------------------------


def converse_message_body(
    prompt: str,
    *,
    system: str | None,
    max_tokens: int | None,
    temperature: float | None,
    top_p: float | None,
    stop_sequences: list[str] | None,
    images: Images,
) -> dict[str, Any]:
    """A single-turn ``messages`` body (Converse's, and Nova's without its ``schemaVersion``)."""
    content: list[dict[str, Any]] = [{"text": prompt}]
    content += [{"image": {"format": f, "source": {"bytes": b}}} for f, b in images]
    config = drop_none(
        {
            "maxTokens": max_tokens,
            "temperature": temperature,
            "topP": top_p,
            "stopSequences": stop_sequences,
        }
    )
    body: dict[str, Any] = {"messages": [{"role": "user", "content": content}]}
    if system:
        body["system"] = [{"text": system}]
    if config:
        body["inferenceConfig"] = config
    return body


class ConverseFamily(TextGenerationFamily):
    """The Converse API (``invocation_type="Converse"``), for any model."""

    name = "converse"
    invocation_type = "Converse"

    def build_prompt(
        self,
        prompt: str,
        *,
        system: str | None,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop_sequences: list[str] | None,
        images: Images,
    ) -> dict[str, Any]:
        return converse_message_body(
            prompt, system=system, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
            stop_sequences=stop_sequences, images=images,
        )  # fmt: skip

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_converse_runtime if on_demand else _converse, body, model)

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        cfg = body.get("inferenceConfig") or {}
        value: Any = (
            cfg.get("maxTokens", cfg.get("max_new_tokens")) if isinstance(cfg, dict) else None
        )
        return value if _is_int(value) and value >= 0 else default

    def s3_locations(self, body: Any) -> Iterator[str]:
        return iter_s3_locations(body)

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        spec = {"name": name, "description": description, "inputSchema": {"json": schema}}
        return {
            "toolConfig": {"tools": [{"toolSpec": spec}], "toolChoice": {"tool": {"name": name}}}
        }

    def native_structured_output(
        self, schema: dict[str, Any], name: str, model: ModelInfo | None
    ) -> dict[str, Any]:
        text = json.dumps(closed_schema(schema), separators=(",", ":"))
        definition = {"schema": text, "name": name}
        structure = {"jsonSchema": definition}
        return {"outputConfig": {"textFormat": {"type": "json_schema", "structure": structure}}}

    def requested_format(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        config = body.get("outputConfig") if isinstance(body, dict) else None
        fmt = config.get("textFormat") if isinstance(config, dict) else None
        structure = fmt.get("structure") if isinstance(fmt, dict) else None
        definition = structure.get("jsonSchema") if isinstance(structure, dict) else None
        if not isinstance(definition, dict):
            return None
        try:
            schema = json.loads(definition.get("schema") or "")
        except (TypeError, ValueError):
            schema = None
        return str(definition.get("name", "")), schema if isinstance(schema, dict) else {}

    def strict_tool(self, fields: dict[str, Any]) -> dict[str, Any]:
        config = dict(fields["toolConfig"])
        first_tool = {"toolSpec": {**config["tools"][0]["toolSpec"], "strict": True}}
        config["tools"] = [first_tool, *config["tools"][1:]]
        return {**fields, "toolConfig": config}

    def add_cache_point(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        if where == "system":
            system = body.get("system")
            if not isinstance(system, list) or not system:
                raise ValidationError("cache='system' needs a system text")
            return {**body, "system": [*system, dict(CACHE_POINT)]}
        return _add_to_first_turn(body, [dict(CACHE_POINT)])

    def add_videos(self, body: dict[str, Any], videos: Sequence[S3Media]) -> dict[str, Any]:
        blocks = [{"video": {"format": v.format, "source": _s3_source(v)}} for v in videos]
        return _add_to_first_turn(body, blocks, before_text=True)

    def add_documents(self, body: dict[str, Any], documents: Sequence[S3Media]) -> dict[str, Any]:
        blocks = [
            {
                "document": drop_none(
                    {
                        "format": d.format,
                        "name": d.name or _document_name(d),
                        "source": _s3_source(d),
                    }
                )
            }
            for d in documents
        ]
        return _add_to_first_turn(body, blocks, before_text=True)

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        config = body.get("toolConfig") if isinstance(body, dict) else None
        if isinstance(config, dict):
            forced = (config.get("toolChoice") or {}).get("tool")
            if isinstance(forced, dict):
                for tool in config.get("tools") or ():
                    spec = tool.get("toolSpec") if isinstance(tool, dict) else None
                    if isinstance(spec, dict) and spec.get("name") == forced.get("name"):
                        schema = (spec.get("inputSchema") or {}).get("json")
                        return str(forced["name"]), schema if isinstance(schema, dict) else {}
        return None

    def output_text(self, output: Any) -> str | None:
        # output.message.content[*].text (null members are skipped).
        message = mapping(output) and output.get("output", {})
        if isinstance(message, Mapping) and isinstance(message.get("message"), Mapping):
            blocks = message["message"].get("content")
            blocks = blocks if isinstance(blocks, list) else []
            texts = [
                b["text"]
                for b in blocks
                if isinstance(b, Mapping) and isinstance(b.get("text"), str)
            ]
            return "".join(texts)
        return None

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        message = output.get("output") if isinstance(output, dict) else None
        message = message.get("message") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            use = block.get("toolUse") if isinstance(block, dict) else None
            if isinstance(use, dict) and use.get("name") == name:
                return True, use.get("input")
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        reason = mapping(output) and output.get("stopReason")
        return reason if isinstance(reason, str) else None

    def output_embedding(self, output: Any) -> list[float] | None:
        return None

    def output_usage(self, output: Any) -> Usage:
        usage = output.get("usage") if type(output) is dict else None
        if type(usage) is dict and ("inputTokens" in usage or "outputTokens" in usage):
            read = usage.get("cacheReadInputTokens", usage.get("cacheReadInputTokenCount"))
            write = usage.get("cacheWriteInputTokens", usage.get("cacheWriteInputTokenCount"))
            return Usage(
                count(usage.get("inputTokens")),
                count(usage.get("outputTokens")),
                cache_read_tokens=count(read),
                cache_write_tokens=count(write),
            )
        return UNKNOWN_USAGE


def _s3_source(media: S3Media) -> dict[str, Any]:
    location = drop_none({"uri": media.uri, "bucketOwner": media.bucket_owner})
    return {"s3Location": location}


def _document_name(media: S3Media) -> str:
    """A document name from its key (letters, digits, spaces, hyphens, brackets: Bedrock's)."""
    stem = media.uri.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in " -()[]" else "-" for c in stem)
    return cleaned or "document"


def _add_to_first_turn(
    body: dict[str, Any], blocks: list[dict[str, Any]], *, before_text: bool = False
) -> dict[str, Any]:
    """``body`` with ``blocks`` added to its first user turn (before its text, or at its end)."""
    messages = [dict(m) for m in body["messages"]]
    content = list(messages[0]["content"])
    messages[0]["content"] = [*blocks, *content] if before_text else [*content, *blocks]
    return {**body, "messages": messages}


#: The one Converse family.
CONVERSE = ConverseFamily()

"""The late-2026 request features shared by the family modules (facts §12.3, §12.4): the rules
of Bedrock's own structured outputs (Claude ``output_config.format`` and the deprecated
``output_format``, ``strict`` tools) and of prompt-cache markers (Claude ``cache_control``,
Converse/Nova ``cachePoint``), and the schema a native structured output sends.

UNVERIFIED and configurable: which JSON Schema keywords the service refuses in a native schema
(the facts list none for certain). :data:`NATIVE_SCHEMA_DROP` names keywords to leave out of
the schema *sent* (empty by default; e.g. ``NATIVE_SCHEMA_DROP.update({"minLength"})``); the
answer is still validated against the full schema when a pydantic model is given.
:data:`NATIVE_SCHEMA_UNSUPPORTED` names keywords that ``add_prompt`` refuses in a native (or
strict-tool) schema with a :class:`~bedrock_batch.ValidationError` before anything is uploaded,
rather than let every record fail with the service's 400: a guess (conditionals, negation and
the other keywords a constrained-decoding grammar cannot express), to edit as the service is
known better. The ``ttl``
values taken in a cache marker (``5m``, ``1h``) are botocore's for ``cachePoint`` and a guess
for ``cache_control``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .._catalog import ModelInfo
from ._schema_rules import _malformed

__all__ = [
    "CACHE_CONTROL",
    "CACHE_POINT",
    "NATIVE_SCHEMA_DROP",
    "NATIVE_SCHEMA_UNSUPPORTED",
    "check_cache_control",
    "check_cache_points",
    "check_claude_structured",
    "check_strict_tool",
    "closed_schema",
    "open_object",
    "unsupported_keyword",
]

#: Claude's cache marker (facts §12.4).
CACHE_CONTROL: dict[str, Any] = {"type": "ephemeral"}
#: Converse's and Nova's cache marker block (facts §12.4).
CACHE_POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}
#: JSON Schema keywords left out of a native structured output's schema (UNVERIFIED: a knob).
NATIVE_SCHEMA_DROP: set[str] = set()
#: JSON Schema keywords refused in a native structured output's schema (UNVERIFIED, a guess:
#: the facts list no unsupported keyword for certain; edit the set to change it).
NATIVE_SCHEMA_UNSUPPORTED: set[str] = {
    "if", "then", "else", "not", "dependentSchemas", "dependentRequired", "patternProperties",
    "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains", "$dynamicRef",
}  # fmt: skip
_NAMED = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_LITERAL = ("enum", "const", "default", "examples", "required", "dependentRequired")
_TTLS = ("5m", "1h")
NOT_SUPPORTED = "This model does not support structured outputs."


def closed_schema(schema: Any) -> Any:
    """A copy of ``schema`` with ``additionalProperties: false`` on every object (required by
    Bedrock's structured outputs, facts §12.3 REPORTED) and without the keywords of
    :data:`NATIVE_SCHEMA_DROP`."""
    if isinstance(schema, list):
        return [closed_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: value if key in ("enum", "const", "default") else closed_schema(value)
        for key, value in schema.items()
        if key not in NATIVE_SCHEMA_DROP
    }
    kind = out.get("type")
    if kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in out:
        out["additionalProperties"] = False
    return out


def unsupported_keyword(schema: Any, where: str = "$") -> tuple[str, str] | None:
    """(keyword, where) of the first keyword of :data:`NATIVE_SCHEMA_UNSUPPORTED` that
    ``schema`` uses (property names are not keywords), else None."""
    stack: list[tuple[Any, str]] = [(schema, where)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, list):
            stack.extend((item, f"{at}.{i}") for i, item in enumerate(node))
            continue
        if not isinstance(node, Mapping):
            continue
        for key, value in node.items():
            if key in NATIVE_SCHEMA_UNSUPPORTED and key not in NATIVE_SCHEMA_DROP:
                return key, f"{at}.{key}"
            if key in _NAMED and isinstance(value, Mapping):
                stack.extend((sub, f"{at}.{key}.{name}") for name, sub in value.items())
            elif key not in _LITERAL and isinstance(value, (dict, list)):
                stack.append((value, f"{at}.{key}"))
    return None


def open_object(schema: Any, where: str) -> str | None:
    """Where an object of ``schema`` lacks ``additionalProperties: false`` (None: nowhere)."""
    stack: list[tuple[Any, str]] = [(schema, where)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, list):
            stack.extend((item, f"{at}.{i}") for i, item in enumerate(node))
            continue
        if not isinstance(node, Mapping):
            continue
        kind = node.get("type")
        is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
        if is_object and node.get("additionalProperties") is not False:
            return at
        for key, value in node.items():
            if isinstance(value, (dict, list)) and key not in ("enum", "const", "default"):
                stack.append((value, f"{at}.{key}"))
    return None


def _supports(model: ModelInfo | None) -> bool:
    return model is None or model.native_structured_outputs is True


def _closed(schema: Any, where: str) -> str | None:
    at = open_object(schema, where)
    if at is not None:
        return f"{at}: For 'object' type, 'additionalProperties' must be explicitly set to false"
    return None


def check_claude_structured(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    """Claude's ``output_config`` (its ``format``) and the deprecated ``output_format``."""
    config = body.get("output_config")
    if config is not None and not isinstance(config, dict):
        return "output_config: Input should be a valid dictionary"
    fmt = (config or {}).get("format")
    if "output_format" in body and fmt is not None:
        return "output_format: Cannot be used together with output_config.format"
    where = "output_config.format"
    if fmt is None and "output_format" in body:
        fmt, where = body["output_format"], "output_format"
    if fmt is None:
        return None
    if not _supports(model):
        return f"{where}: {NOT_SUPPORTED}"
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return f"{where}.type: Input should be 'json_schema'"
    if not isinstance(fmt.get("schema"), dict):
        return f"{where}.schema: Field required"
    return _closed(fmt["schema"], f"{where}.schema")


def check_strict_tool(tool: Mapping[str, Any], model: ModelInfo | None, where: str) -> str | None:
    """``strict`` on a Claude tool: a boolean; when true, the model must support structured
    outputs and the tool's schema be closed."""
    strict = tool["strict"]
    if not isinstance(strict, bool):
        return f"{where}.strict: Input should be a valid boolean"
    if not strict:
        return None
    if not _supports(model):
        return f"{where}.strict: {NOT_SUPPORTED}"
    return _closed(tool.get("input_schema"), f"{where}.input_schema")


def _claude_marked(body: Mapping[str, Any]) -> Iterator[tuple[Any, str]]:
    for i, tool in enumerate(body.get("tools") or []):
        yield tool, f"tools.{i}"
    system = body.get("system")
    for j, block in enumerate(system if isinstance(system, list) else []):
        yield block, f"system.{j}"
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, Mapping) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            yield block, f"messages.{i}.content.{j}"


def check_cache_control(body: Mapping[str, Any]) -> str | None:
    """Every Claude ``cache_control``: ``{"type": "ephemeral", "ttl"?: "5m" | "1h"}``."""
    for block, where in _claude_marked(body):
        if not isinstance(block, Mapping) or "cache_control" not in block:
            continue
        control = block["cache_control"]
        at = f"{where}.cache_control"
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            return f"{at}.type: Input should be 'ephemeral'"
        extra = next((key for key in control if key not in ("type", "ttl")), None)
        if extra is not None:
            return f"{at}.{extra}: Extra inputs are not permitted"
        if "ttl" in control and control["ttl"] not in _TTLS:
            return f"{at}.ttl: Input should be '5m' or '1h'"
    return None


def _cache_points(body: Mapping[str, Any]) -> Iterator[tuple[Any, str]]:
    config = body.get("toolConfig")
    tools = config.get("tools") if isinstance(config, dict) else None
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        if isinstance(tool, dict) and "cachePoint" in tool:
            yield tool["cachePoint"], f"#/toolConfig/tools/{i}/cachePoint"
    system = body.get("system")
    for j, block in enumerate(system if isinstance(system, list) else []):
        if isinstance(block, dict) and "cachePoint" in block:
            yield block["cachePoint"], f"#/system/{j}/cachePoint"
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, dict) and "cachePoint" in block:
                yield block["cachePoint"], f"#/messages/{i}/content/{j}/cachePoint"


def check_cache_points(body: Mapping[str, Any]) -> None:
    """Every Converse/Nova ``cachePoint``: ``{"type": "default", "ttl"?: "5m" | "1h"}``;
    raises the malformed-request refusal."""
    for point, where in _cache_points(body):
        if not isinstance(point, dict) or point.get("type") != "default":
            raise _malformed(f"{where}/type: default is the only supported value")
        extra = next((key for key in point if key not in ("type", "ttl")), None)
        if extra is not None:
            raise _malformed(f"{where}: extraneous key [{extra}] is not permitted")
        if "ttl" in point and point["ttl"] not in _TTLS:
            raise _malformed(f"{where}/ttl: {point['ttl']} is not a valid enum value")

"""Claude's late-2026 request features (``bedrock-facts.md`` §12.3, §12.4): structured outputs
(``output_config.format`` and the deprecated ``output_format``, ``strict: true`` on a tool) and
prompt caching (``cache_control`` on tool, system and message blocks).

Structured outputs are accepted only on models whose catalogue ``native_structured_outputs`` is
True. The service's wording for the refusals below is UNVERIFIED (plausible messages in
Anthropic's pydantic style); so are the ``ttl`` values taken in ``cache_control`` (``5m`` and
``1h``, as Converse's ``cachePoint``) and the rule that every object of a schema sets
``additionalProperties: false`` (REPORTED, facts §12.3).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._rules_common import Refusal

__all__ = [
    "NOT_SUPPORTED",
    "check_cache_control",
    "check_strict_tool",
    "check_structured",
    "open_object",
    "output_schema",
]

NOT_SUPPORTED = "This model does not support structured outputs."
_TTLS = ("5m", "1h")


def _supports(model: ModelInfo | None) -> bool:
    return model is None or model.native_structured_outputs is True


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


def _schema(fmt: Any, where: str) -> None:
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise Refusal(f"{where}.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise Refusal(f"{where}.schema: Field required")
    at = open_object(schema, f"{where}.schema")
    if at is not None:
        raise Refusal(
            f"{at}: For 'object' type, 'additionalProperties' must be explicitly set to false"
        )


def check_structured(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """``output_config`` (its ``format``) and the deprecated ``output_format``."""
    config = body.get("output_config")
    if config is not None and not isinstance(config, dict):
        raise Refusal("output_config: Input should be a valid dictionary")
    fmt = (config or {}).get("format")
    if "output_format" in body and fmt is not None:
        raise Refusal("output_format: Cannot be used together with output_config.format")
    if fmt is None and "output_format" in body:
        fmt, where = body["output_format"], "output_format"
    else:
        where = "output_config.format"
    if fmt is None:
        return
    if not _supports(model):
        raise Refusal(f"{where}: {NOT_SUPPORTED}")
    _schema(fmt, where)


def check_strict_tool(strict: Any, schema: Any, model: ModelInfo | None, where: str) -> None:
    """``strict`` on a tool: a boolean; when true, the model must support structured outputs."""
    if not isinstance(strict, bool):
        raise Refusal(f"{where}.strict: Input should be a valid boolean")
    if not strict:
        return
    if not _supports(model):
        raise Refusal(f"{where}.strict: {NOT_SUPPORTED}")
    at = open_object(schema, f"{where}.input_schema")
    if at is not None:
        raise Refusal(
            f"{at}: For 'object' type, 'additionalProperties' must be explicitly set to false"
        )


def output_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the answer must follow (``output_config.format`` or ``output_format``)."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    if fmt is None:
        fmt = body.get("output_format")
    schema = fmt.get("schema") if isinstance(fmt, Mapping) else None
    return schema if isinstance(schema, dict) else None


def _marked(body: Mapping[str, Any]) -> Iterator[tuple[Any, str]]:
    for i, tool in enumerate(body.get("tools") or []):
        yield tool, f"tools.{i}"
    system = body.get("system")
    for j, block in enumerate(system if isinstance(system, list) else []):
        yield block, f"system.{j}"
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, Mapping) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            yield block, f"messages.{i}.content.{j}"


def check_cache_control(body: Mapping[str, Any]) -> None:
    """Every ``cache_control``: ``{"type": "ephemeral", "ttl"?: "5m" | "1h"}``."""
    for block, where in _marked(body):
        if not isinstance(block, Mapping) or "cache_control" not in block:
            continue
        control = block["cache_control"]
        at = f"{where}.cache_control"
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            raise Refusal(f"{at}.type: Input should be 'ephemeral'")
        extra = next((key for key in control if key not in ("type", "ttl")), None)
        if extra is not None:
            raise Refusal(f"{at}.{extra}: Extra inputs are not permitted")
        if "ttl" in control and control["ttl"] not in _TTLS:
            raise Refusal(f"{at}.ttl: Input should be '5m' or '1h'")

"""Request rules shared by the messages-shaped bodies: Amazon Nova (InvokeModel) and Converse.

Nova's native body and the Converse API share their message and tool shapes (``messages`` of
single-member content blocks; ``toolConfig`` with ``toolSpec`` / ``inputSchema.json`` and a
``toolChoice`` of ``auto`` / ``any`` / ``tool``), and both reference S3 objects by
``s3Location``. Each family's own rules are in ``_nova`` and ``_converse``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ._rules_common import Refusal, malformed, schema_required

__all__ = [
    "TOOL_BLOCKS_NEED_CONFIG",
    "check_cache_points",
    "check_messages",
    "check_tool_blocks_need_config",
    "s3_locations",
    "tool_names",
]

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
TOOL_BLOCKS_NEED_CONFIG = (
    "The toolConfig field must be defined when using toolUse and toolResult content blocks."
)


def _blocks(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            for block in message.get("content") or []:
                if isinstance(block, dict):
                    yield block


def check_messages(body: Mapping[str, Any]) -> None:
    """``messages`` (and ``system``) of a messages-shaped body."""
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


def check_tool_blocks_need_config(body: Mapping[str, Any]) -> None:
    """``toolUse`` / ``toolResult`` blocks need a ``toolConfig``."""
    if "toolConfig" not in body and any("toolUse" in b or "toolResult" in b for b in _blocks(body)):
        raise Refusal(TOOL_BLOCKS_NEED_CONFIG)


def s3_locations(node: Any) -> Iterator[str]:
    """Every ``s3Location.uri`` a body references (images, videos, documents)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            location = item.get("s3Location")
            if isinstance(location, dict) and isinstance(location.get("uri"), str):
                yield location["uri"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


_CACHE_TTLS = ("5m", "1h")


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
    """Every ``cachePoint``: ``{"type": "default", "ttl"?: "5m" | "1h"}`` (botocore 1.44.8;
    the ``ttl`` values are the model's, whether Bedrock honours them is UNVERIFIED)."""
    for point, where in _cache_points(body):
        if not isinstance(point, dict) or point.get("type") != "default":
            raise malformed(f"{where}/type", "default is the only supported value")
        extra = next((key for key in point if key not in ("type", "ttl")), None)
        if extra is not None:
            raise malformed(where, f"extraneous key [{extra}] is not permitted")
        if "ttl" in point and point["ttl"] not in _CACHE_TTLS:
            raise malformed(f"{where}/ttl", f"{point['ttl']} is not a valid enum value")

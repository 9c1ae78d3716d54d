"""Anthropic Messages (Claude): the request rules as Bedrock applies them to ``modelInput`` (the
full check, and a shortcut for the common plain text conversation), the body builder, the
forced tool, and how to read an answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._catalog import ModelInfo
from .._errors import ValidationError
from ._features import (
    CACHE_CONTROL,
    check_cache_control,
    check_claude_structured,
    check_strict_tool,
    closed_schema,
)
from ._protocol import Images, TextGenerationFamily
from ._schema_rules import _TOOL_NAME, _is_int, _is_num
from ._usage import UNKNOWN_USAGE, Usage, count

__all__ = ["ANTHROPIC", "ANTHROPIC_VERSION", "AnthropicFamily"]

ANTHROPIC_VERSION = "bedrock-2023-05-31"

_ANTHROPIC_KEYS = frozenset(
    {
        "anthropic_version",
        "anthropic_beta",
        "max_tokens",
        "messages",
        "system",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        "output_config",
        "output_format",
    }
)
_ANTHROPIC_BLOCKS = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)


_PLAIN_KEYS = frozenset(
    {"anthropic_version", "max_tokens", "messages", "system", "temperature", "top_p", "top_k", "stop_sequences"}
)  # fmt: skip
_UNIT = (int, float)


def _anthropic_plain(body: dict[str, Any], model: ModelInfo | None) -> bool:
    """A shortcut for the common case: True only for a plain text conversation that
    :func:`_anthropic` accepts (a property test holds it to that). False says nothing: the
    full check then runs and finds the message."""
    for key in body:
        if key not in _PLAIN_KEYS:
            return False
    max_tokens = body.get("max_tokens")
    if (
        body.get("anthropic_version") != ANTHROPIC_VERSION
        or type(max_tokens) is not int
        or not 1 <= max_tokens <= (model.max_output_tokens if model else 64000)
    ):
        return False
    messages = body.get("messages")
    if type(messages) is not list or not messages:
        return False
    role = "user"
    for msg in messages:
        if type(msg) is not dict or len(msg) != 2 or msg.get("role") != role:
            return False
        content = msg.get("content")
        if type(content) is list and content:
            for block in content:
                if type(block) is not dict or len(block) != 2 or block.get("type") != "text":
                    return False
                text = block.get("text")
                if type(text) is not str or not text:
                    return False
        elif type(content) is not str or not content:
            return False
        role = "assistant" if role == "user" else "user"
    if len(body) == 3:
        return True
    system = body.get("system")
    if system is not None and type(system) is not str:
        return False
    for key in ("temperature", "top_p"):
        if key in body:
            value = body[key]
            if type(value) not in _UNIT or not 0 <= value <= 1:
                return False
    top_k = body.get("top_k", 0)
    if type(top_k) is not int or top_k < 0:
        return False
    if "stop_sequences" in body:
        stops = body["stop_sequences"]
        if type(stops) is not list or any(type(s) is not str for s in stops):
            return False
    return not (model and model.exclusive_sampling and "temperature" in body and "top_p" in body)


def _anthropic(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    for key in ("anthropic_version", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    for key in body:
        if key not in _ANTHROPIC_KEYS:
            return f"{key}: Extra inputs are not permitted"
    if body["anthropic_version"] != ANTHROPIC_VERSION:
        return f"anthropic_version: Input should be '{ANTHROPIC_VERSION}'"
    max_tokens = body["max_tokens"]
    if not _is_int(max_tokens) or max_tokens < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    ceiling = model.max_output_tokens if model else 64000
    if max_tokens > ceiling:
        return f"max_tokens: {max_tokens} > {ceiling}, which is the maximum allowed number of output tokens"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: Input should be a non-empty list"
    pending_uses: list[str] = []  # tool_use ids of the previous (assistant) message
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or set(msg) - {"role", "content"} or "content" not in msg:
            return f"messages.{i}: Input should be an object with role and content"
        if msg.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if i == 0 and msg["role"] != "user":
            return 'messages: first message must use the "user" role'
        if i and messages[i - 1].get("role") == msg["role"]:
            return 'messages: roles must alternate between "user" and "assistant"'
        content = msg["content"]
        blocks: list[Any] = []
        if isinstance(content, str):
            if not content:
                return f"messages.{i}.content: text content blocks must be non-empty"
        elif not isinstance(content, list) or not content:
            return f"messages.{i}.content: Input should be a valid list"
        else:
            blocks = content
        for j, block in enumerate(blocks):
            problem = _anthropic_block(block, f"messages.{i}.content.{j}")
            if problem:
                return problem
        answered = [b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"]
        for j, block in enumerate(blocks):
            if block.get("type") == "tool_result" and block["tool_use_id"] not in pending_uses:
                return (
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block['tool_use_id']}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        unanswered = sorted(set(pending_uses) - set(answered))
        if msg["role"] == "user" and unanswered:
            return (
                f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                f"after: {', '.join(unanswered)}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message."
            )
        pending_uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        return "system: Input should be a valid string or list"
    for key, hi in (("temperature", 1.0), ("top_p", 1.0)):
        if key in body and (not _is_num(body[key]) or not 0 <= body[key] <= hi):
            return f"{key}: Input should be less than or equal to {hi:g}"
    if "top_k" in body and (not _is_int(body["top_k"]) or body["top_k"] < 0):
        return "top_k: Input should be greater than or equal to 0"
    if "stop_sequences" in body and (
        not isinstance(body["stop_sequences"], list)
        or not all(isinstance(s, str) for s in body["stop_sequences"])
    ):
        return "stop_sequences: Input should be a valid list of strings"
    if model and model.exclusive_sampling and "temperature" in body and "top_p" in body:
        return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    tool_names: list[str] = []
    if "tools" in body:
        problem = _anthropic_tools(body["tools"], tool_names, model)
        if problem:
            return problem
    if "tool_choice" in body:
        problem = _anthropic_tool_choice(body["tool_choice"], tool_names, body.get("thinking"))
        if problem:
            return problem
    return check_claude_structured(body, model) or check_cache_control(body)


_ANTHROPIC_TOOL_KEYS = frozenset(
    {"type", "name", "description", "input_schema", "cache_control", "strict"}
)


def _anthropic_tools(tools: Any, names: list[str], model: ModelInfo | None) -> str | None:
    """Check Anthropic ``tools``; fills ``names``."""
    if not isinstance(tools, list):
        return "tools: Input should be a valid list"
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            return f"tools.{i}: Input should be a valid dictionary"
        if "name" not in tool:
            return f"tools.{i}.name: Field required"
        if not isinstance(tool["name"], str) or not _TOOL_NAME.match(tool["name"]):
            return f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        if tool.get("type", "custom") == "custom":  # server tools (bash, text editor) differ
            for key in tool:
                if key not in _ANTHROPIC_TOOL_KEYS:
                    return f"tools.{i}.{key}: Extra inputs are not permitted"
            if "input_schema" not in tool:
                return f"tools.{i}.input_schema: Field required"
            schema = tool["input_schema"]
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return f"tools.{i}.input_schema.type: Input should be 'object'"
            if "strict" in tool:
                problem = check_strict_tool(tool, model, f"tools.{i}")
                if problem:
                    return problem
        names.append(tool["name"])
    if len(names) != len(set(names)):
        return "tools: Tool names must be unique."
    return None


def _anthropic_tool_choice(choice: Any, names: list[str], thinking: Any) -> str | None:
    if not isinstance(choice, dict):
        return "tool_choice: Input should be a valid dictionary"
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
    if kind != "none" and not names:
        return "tool_choice: tool_choice may only be specified while providing tools."
    if kind == "tool":
        if not isinstance(choice.get("name"), str):
            return "tool_choice.name: Field required"
        if choice["name"] not in names:
            return f"tool_choice.name: Tool '{choice['name']}' not found in tools."
    if kind in ("any", "tool") and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return "Thinking may not be enabled when tool_choice forces tool use."
    return None


def _anthropic_block(block: Any, where: str) -> str | None:
    if (
        not isinstance(block, dict)
        or not isinstance(block.get("type"), str)
        or block["type"] not in _ANTHROPIC_BLOCKS
    ):
        return f"{where}: Input tag does not match any of the expected block types"
    if block["type"] == "text" and (not isinstance(block.get("text"), str) or not block["text"]):
        return f"{where}.text: text content blocks must be non-empty"
    if block["type"] == "image":
        source = block.get("source")
        if not isinstance(source, dict) or source.get("type") != "base64":
            return f"{where}.source: Input should be a base64 image source"
        if source.get("media_type") not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
            return f"{where}.source.media_type: Input should be an image media type"
        if not isinstance(source.get("data"), str) or not source["data"]:
            return f"{where}.source.data: Field required"
    if block["type"] == "tool_use":
        for key, kind in (("id", str), ("name", str), ("input", dict)):
            if not isinstance(block.get(key), kind):
                return f"{where}.{key}: Field required"
    if block["type"] == "tool_result" and not isinstance(block.get("tool_use_id"), str):
        return f"{where}.tool_use_id: Field required"
    return None


class AnthropicFamily(TextGenerationFamily):
    """Anthropic Messages (every Claude model)."""

    name = "anthropic"

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
        blocks: list[dict[str, Any]] = [
            {"type": "image", "source": {"type": "base64", "media_type": f"image/{f}", "data": b}}
            for f, b in images
        ]
        blocks.append({"type": "text", "text": prompt})
        body: dict[str, Any] = {
            "anthropic_version": ANTHROPIC_VERSION,
            "max_tokens": max_tokens if max_tokens is not None else 1024,
            "messages": [{"role": "user", "content": blocks}],
        }
        if system is not None:
            body["system"] = system
        if temperature is not None:
            body["temperature"] = temperature
        if top_p is not None:
            body["top_p"] = top_p
        if stop_sequences is not None:
            body["stop_sequences"] = stop_sequences
        return body

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        if _anthropic_plain(body, model):
            return None
        return _anthropic(body, model)

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        value: Any = body.get("max_tokens")
        return value if _is_int(value) and value >= 0 else default

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        return {
            "tools": [{"name": name, "description": description, "input_schema": schema}],
            "tool_choice": {"type": "tool", "name": name},
        }

    def native_structured_output(
        self, schema: dict[str, Any], name: str, model: ModelInfo | None
    ) -> dict[str, Any]:
        fmt = {"type": "json_schema", "schema": closed_schema(schema)}
        return {"output_config": {"format": fmt}}

    def requested_format(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        if not isinstance(body, dict):
            return None
        config = body.get("output_config")
        fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            schema = fmt.get("schema")
            return "", schema if isinstance(schema, dict) else {}  # Claude's format has no name
        return None

    def strict_tool(self, fields: dict[str, Any]) -> dict[str, Any]:
        tools = [{**fields["tools"][0], "strict": True}, *fields["tools"][1:]]
        return {**fields, "tools": tools}

    def add_cache_point(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        if where == "system":
            system = body.get("system")
            if not isinstance(system, str) or not system:
                raise ValidationError("cache='system' needs a system text")
            block = {"type": "text", "text": system, "cache_control": dict(CACHE_CONTROL)}
            return {**body, "system": [block]}
        messages = [dict(m) for m in body["messages"]]
        content = [dict(b) for b in messages[0]["content"]]
        content[-1]["cache_control"] = dict(CACHE_CONTROL)
        messages[0]["content"] = content
        return {**body, "messages": messages}

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        choice = body.get("tool_choice") if isinstance(body, dict) else None
        if isinstance(choice, dict) and choice.get("type") == "tool":
            for tool in body.get("tools") or ():
                if isinstance(tool, dict) and tool.get("name") == choice.get("name"):
                    schema = tool.get("input_schema")
                    return str(choice["name"]), schema if isinstance(schema, dict) else {}
        return None

    def output_text(self, output: Any) -> str | None:
        # content[*] of type text
        if not isinstance(output, Mapping) or not isinstance(output.get("content"), list):
            return None
        return "".join(
            b.get("text", "")
            for b in output["content"]
            if isinstance(b, Mapping) and b.get("type") == "text"
        )

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        content = output.get("content") if isinstance(output, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("name") == name:  # fmt: skip
                return True, block.get("input")
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        reason = output.get("stop_reason") if isinstance(output, Mapping) else None
        return reason if isinstance(reason, str) else None

    def output_embedding(self, output: Any) -> list[float] | None:
        return None

    def output_usage(self, output: Any) -> Usage:
        usage = output.get("usage") if type(output) is dict else None
        if type(usage) is dict and ("input_tokens" in usage or "output_tokens" in usage):
            return Usage(
                count(usage.get("input_tokens")),
                count(usage.get("output_tokens")),
                cache_read_tokens=count(usage.get("cache_read_input_tokens")),
                cache_write_tokens=count(usage.get("cache_creation_input_tokens")),
            )
        return UNKNOWN_USAGE


#: The Anthropic family.
ANTHROPIC = AnthropicFamily()

"""The Anthropic family (Claude's Messages body on InvokeModel): its request rules, its
synthetic answers (text, or a ``tool_use`` block for a forced tool) and its usage
(``usage.input_tokens`` / ``output_tokens``).

The rules are written from the Anthropic Messages API reference for Bedrock (``anthropic_version``
``bedrock-2023-05-31``, tools with ``input_schema``, ``tool_choice`` of ``auto`` / ``any`` /
``tool`` / ``none``) and the real error texts in ``bedrock-facts.md`` §2 and §7.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

from ..._catalog import ModelInfo
from .._encoding import encode
from ._cache import anthropic_prefix
from ._context import RecordContext
from ._rules_anthropic_features import (
    check_cache_control,
    check_strict_tool,
    check_structured,
    output_schema,
)
from ._rules_common import Refusal, is_integer, is_number
from ._schema_instances import instance_for
from ._synthetic import (
    Text,
    answer_id,
    bounded_max_tokens,
    ends_with_tool_results,
    estimate_tokens,
    pick_tool,
    tool_input,
)
from ._usage import token_count

__all__ = ["ANTHROPIC", "ANTHROPIC_VERSION", "Anthropic", "check_anthropic", "encoded_answer"]

ANTHROPIC_VERSION = "bedrock-2023-05-31"
_TOP_LEVEL = frozenset(
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
_BLOCK_TYPES = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_TOOL_KEYS = frozenset({"type", "name", "description", "input_schema", "cache_control", "strict"})
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_CHOICES = ("auto", "any", "tool", "none")


def check_anthropic(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Raise :class:`Refusal` with Claude's message for the first problem of ``body``."""
    for key in ("anthropic_version", "max_tokens", "messages"):
        if key not in body:
            raise Refusal(f"{key}: Field required")
    extra = next((key for key in body if key not in _TOP_LEVEL), None)
    if extra is not None:
        raise Refusal(f"{extra}: Extra inputs are not permitted")
    if body["anthropic_version"] != ANTHROPIC_VERSION:
        raise Refusal(f"anthropic_version: Input should be '{ANTHROPIC_VERSION}'")
    _max_tokens(body["max_tokens"], model)
    _messages(body["messages"])
    if "system" in body and not isinstance(body["system"], (str, list)):
        raise Refusal("system: Input should be a valid string or list")
    for key in ("temperature", "top_p"):
        if key in body and not (is_number(body[key]) and 0 <= body[key] <= 1):
            raise Refusal(f"{key}: Input should be less than or equal to 1")
    if "top_k" in body and not (is_integer(body["top_k"]) and body["top_k"] >= 0):
        raise Refusal("top_k: Input should be greater than or equal to 0")
    stops = body.get("stop_sequences", [])
    if not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
        raise Refusal("stop_sequences: Input should be a valid list of strings")
    if model is not None and model.exclusive_sampling and "temperature" in body and "top_p" in body:
        raise Refusal(
            "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
        )
    names = _tools(body["tools"], model) if "tools" in body else None
    if "tool_choice" in body:
        _tool_choice(body["tool_choice"], names, body.get("thinking"))
    check_structured(body, model)
    check_cache_control(body)


def _max_tokens(value: Any, model: ModelInfo | None) -> None:
    if not is_integer(value) or value < 1:
        raise Refusal("max_tokens: Input should be a valid integer greater than or equal to 1")
    ceiling = model.max_output_tokens if model is not None else 64000
    if value > ceiling:
        raise Refusal(
            f"max_tokens: {value} > {ceiling}, which is the maximum allowed number of output tokens"
        )


def _messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise Refusal("messages: Input should be a non-empty list")
    previous_tool_uses: set[str] = set()
    for i, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or "content" not in message
            or set(message)
            - {
                "role",
                "content",
            }
        ):
            raise Refusal(f"messages.{i}: Input should be an object with role and content")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise Refusal(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if i == 0 and role != "user":
            raise Refusal('messages: first message must use the "user" role')
        if i > 0 and messages[i - 1].get("role") == role:
            raise Refusal('messages: roles must alternate between "user" and "assistant"')
        uses, results = _content(message["content"], i)
        for j, tool_use_id in results:
            if tool_use_id not in previous_tool_uses:
                raise Refusal(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {tool_use_id}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        if previous_tool_uses and role == "user":
            missing = sorted(previous_tool_uses - {tid for _, tid in results})
            if missing:
                raise Refusal(
                    f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
        previous_tool_uses = set(uses)


def _content(content: Any, i: int) -> tuple[list[str], list[tuple[int, str]]]:
    """Check one message's content; returns its tool_use ids and (index, tool_use_id) results."""
    if isinstance(content, str):
        if not content:
            raise Refusal(f"messages.{i}.content: text content blocks must be non-empty")
        return [], []
    if not isinstance(content, list) or not content:
        raise Refusal(f"messages.{i}.content: Input should be a valid list")
    uses: list[str] = []
    results: list[tuple[int, str]] = []
    for j, block in enumerate(content):
        where = f"messages.{i}.content.{j}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _BLOCK_TYPES:
            raise Refusal(f"{where}: Input tag does not match any of the expected block types")
        if kind == "text" and not (isinstance(block.get("text"), str) and block["text"]):
            raise Refusal(f"{where}.text: text content blocks must be non-empty")
        if kind == "image":
            _image(block, where)
        if kind == "tool_use":
            for key, kind_ok in (("id", str), ("name", str), ("input", dict)):
                if not isinstance(block.get(key), kind_ok):
                    raise Refusal(f"{where}.{key}: Field required")
            uses.append(block["id"])
        if kind == "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                raise Refusal(f"{where}.tool_use_id: Field required")
            results.append((j, block["tool_use_id"]))
    return uses, results


def _image(block: Mapping[str, Any], where: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise Refusal(f"{where}.source: Input should be a base64 image source")
    if source.get("media_type") not in _IMAGE_TYPES:
        raise Refusal(f"{where}.source.media_type: Input should be an image media type")
    if not (isinstance(source.get("data"), str) and source["data"]):
        raise Refusal(f"{where}.source.data: Field required")


def _tools(tools: Any, model: ModelInfo | None) -> list[str]:
    """Check ``tools``; returns the tool names."""
    if not isinstance(tools, list):
        raise Refusal("tools: Input should be a valid list")
    names: list[str] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise Refusal(f"tools.{i}: Input should be a valid dictionary")
        name = tool.get("name")
        if name is None:
            raise Refusal(f"tools.{i}.name: Field required")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise Refusal(f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if tool.get("type", "custom") == "custom":  # server tools (bash, editor...) carry a type
            extra = next((key for key in tool if key not in _TOOL_KEYS), None)
            if extra is not None:
                raise Refusal(f"tools.{i}.{extra}: Extra inputs are not permitted")
            schema = tool.get("input_schema")
            if schema is None:
                raise Refusal(f"tools.{i}.input_schema: Field required")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise Refusal(f"tools.{i}.input_schema.type: Input should be 'object'")
            if "strict" in tool:
                check_strict_tool(tool["strict"], schema, model, f"tools.{i}")
        names.append(name)
    if len(set(names)) != len(names):
        raise Refusal("tools: Tool names must be unique.")
    return names


def _tool_choice(choice: Any, names: list[str] | None, thinking: Any) -> None:
    if not isinstance(choice, dict):
        raise Refusal("tool_choice: Input should be a valid dictionary")
    kind = choice.get("type")
    if kind not in _CHOICES:
        raise Refusal("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if kind != "none" and not names:
        raise Refusal("tool_choice: tool_choice may only be specified while providing tools.")
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise Refusal("tool_choice.name: Field required")
        if name not in (names or []):
            raise Refusal(f"tool_choice.name: Tool '{name}' not found in tools.")
    forced = kind in ("any", "tool")
    if forced and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        raise Refusal("Thinking may not be enabled when tool_choice forces tool use.")


# --- synthetic answers ---------------------------------------------------------------------------


@lru_cache(maxsize=128)
def model_name(info: ModelInfo) -> str:
    """The model name Anthropic puts in an answer's ``model`` field."""
    return info.model_id.removeprefix("anthropic.").rsplit("-v", 1)[0]


def _answer_max_tokens(ctx: RecordContext) -> int:
    return bounded_max_tokens(ctx, ctx.model_input.get("max_tokens"))


def _anthropic_tool(ctx: RecordContext) -> tuple[str, Any] | None:
    body = ctx.model_input
    if not body.get("tools"):
        return None
    tools = [
        (t["name"], t.get("input_schema") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("name"), str)
    ]
    choice = body.get("tool_choice") or {"type": "auto"}
    after = ends_with_tool_results(body.get("messages"), anthropic=True)
    return pick_tool(choice.get("type", "auto"), choice.get("name"), tools, ctx.seed, after)


def _answer(ctx: RecordContext, max_tokens: int) -> dict[str, Any]:
    text = Text(ctx, max_tokens)
    content: list[dict[str, Any]] = []
    stop = "max_tokens" if text.truncated else "end_turn"
    out_tokens = text.output_tokens
    tool = _anthropic_tool(ctx)
    if tool is not None:
        arguments = tool_input(tool[1], ctx.seed)
        content = [
            {
                "type": "tool_use",
                "id": "toolu_bdrk_01" + answer_id(ctx.seed, ctx.record_id + "/tool"),
                "name": tool[0],
                "input": arguments,
            }
        ]
        stop = "tool_use"
        out_tokens = min(max_tokens, estimate_tokens(encode(arguments)) + 12)
    else:
        schema = output_schema(ctx.model_input)
        if schema is not None:
            answer = encode(instance_for(schema, ctx.seed))
            content = [{"type": "text", "text": answer}]
            stop, out_tokens = "end_turn", estimate_tokens(answer)
        else:
            content = [{"type": "text", "text": text.text}]
    return {
        "id": "msg_bdrk_01" + answer_id(ctx.seed, ctx.record_id),
        "type": "message",
        "role": "assistant",
        "model": model_name(ctx.model),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": _usage(ctx, text.input_tokens, out_tokens),
    }


def _caches(ctx: RecordContext) -> bool:
    return ctx.cache is not None and ctx.model.prompt_caching is True


def _usage(ctx: RecordContext, input_tokens: int, output_tokens: int) -> dict[str, int]:
    """Anthropic's usage; with a prompt cache in effect, its cache fields (``input_tokens``
    then counts the tokens after the cached prefix)."""
    if ctx.cache is None or not _caches(ctx):
        return {"input_tokens": input_tokens, "output_tokens": output_tokens}
    read, write = ctx.cache.account(anthropic_prefix(ctx.model_input))
    return {
        "input_tokens": max(1, input_tokens - read - write),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "output_tokens": output_tokens,
    }


def encoded_answer(ctx: RecordContext) -> tuple[str, int, int] | None:
    """A batch fast path: :func:`synthetic`'s answer already encoded as compact JSON, with its
    input and output tokens; None when there is no fast path for this request (the caller
    encodes ``synthetic(ctx)`` instead). ``json.loads`` of the text equals ``synthetic(ctx)``.
    """
    body = ctx.model_input
    if ctx.invocation_type == "Converse" or body.get("tools") or _caches(ctx):
        return None
    if "output_config" in body or "output_format" in body:
        return None
    text = Text(ctx, _answer_max_tokens(ctx))
    stop = "max_tokens" if text.truncated else "end_turn"
    name = model_name(ctx.model)
    return (
        f'{{"id":"msg_bdrk_01{answer_id(ctx.seed, ctx.record_id)}","type":"message","role":"assistant",'
        f'"model":"{name}","content":[{{"type":"text","text":{encode_basestring(text.text)}}}],'
        f'"stop_reason":"{stop}","stop_sequence":null,'
        f'"usage":{{"input_tokens":{text.input_tokens},"output_tokens":{text.output_tokens}}}}}',
        text.input_tokens,
        text.output_tokens,
    )


class Anthropic:
    """Claude's Messages body on InvokeModel."""

    name = "anthropic"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """Claude's request rules."""
        check_anthropic(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """A Messages response: text, or a ``tool_use`` block when a tool is called."""
        return _answer(ctx, _answer_max_tokens(ctx))

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """The text answer already encoded (requests without tools)."""
        return encoded_answer(ctx)

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """``usage.input_tokens`` / ``usage.output_tokens``."""
        usage = output.get("usage") if isinstance(output, Mapping) else None
        if isinstance(usage, Mapping):
            return token_count(usage.get("input_tokens")), token_count(usage.get("output_tokens"))
        return 0, 0

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """None: Claude's images and documents travel inline (base64)."""
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return output


ANTHROPIC = Anthropic()

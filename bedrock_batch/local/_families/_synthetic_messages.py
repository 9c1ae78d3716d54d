"""The synthetic answer of the messages-shaped bodies, shared by Converse (any model) and
Amazon Nova's native InvokeModel body: they share their response shape (``output.message``
content blocks, ``stopReason``, ``usage.inputTokens`` / ``outputTokens``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._encoding import encode
from ._cache import messages_prefix
from ._context import RecordContext
from ._schema_instances import instance_for
from ._synthetic import (
    Text,
    answer_id,
    ends_with_tool_results,
    estimate_tokens,
    pick_tool,
    tool_input,
)
from ._usage import latency_ms, token_count

__all__ = ["messages_answer", "messages_usage"]


def _converse_tool(ctx: RecordContext) -> tuple[str, Any] | None:
    config = ctx.model_input.get("toolConfig")  # absent in almost every record
    if not isinstance(config, dict):
        return None
    tools = [
        (t["toolSpec"]["name"], (t["toolSpec"].get("inputSchema") or {}).get("json") or {})
        for t in config.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("toolSpec"), dict)
    ]
    choice = config.get("toolChoice") or {"auto": {}}
    kind = next(iter(choice), "auto")
    name = (
        choice["tool"].get("name") if kind == "tool" and isinstance(choice["tool"], dict) else None
    )
    after = ends_with_tool_results(ctx.model_input.get("messages"), anthropic=False)
    return pick_tool(kind, name, tools, ctx.seed, after)


def _structured(ctx: RecordContext) -> Any:
    output_config = ctx.model_input.get("outputConfig")
    if not isinstance(output_config, dict):
        return None
    text_format = output_config.get("textFormat") or {}
    definition = (text_format.get("structure") or {}).get("jsonSchema") or {}
    try:
        schema = json.loads(definition.get("schema", ""))
    except ValueError:
        return None
    return instance_for(schema, ctx.seed)


def messages_answer(ctx: RecordContext, max_tokens: int) -> dict[str, Any]:
    """Converse (any model) and Nova's native body share their response shape."""
    text = Text(ctx, max_tokens)
    stop = "max_tokens" if text.truncated else "end_turn"
    out_tokens = text.output_tokens
    tool = _converse_tool(ctx)
    block: dict[str, Any]
    if tool is not None:
        arguments = tool_input(tool[1], ctx.seed)
        block = {
            "toolUse": {
                "toolUseId": "tooluse_" + answer_id(ctx.seed, ctx.record_id + "/tool"),
                "name": tool[0],
                "input": arguments,
            }
        }
        stop = "tool_use"
        out_tokens = min(max_tokens, estimate_tokens(encode(arguments)) + 12)
    else:
        structured = _structured(ctx) if ctx.invocation_type == "Converse" else None
        if structured is not None:
            answer = encode(structured)
            block = {"text": answer}
            stop = "end_turn"
            out_tokens = estimate_tokens(answer)
        else:
            block = {"text": text.text}
    read = write = 0
    cached = ctx.cache is not None and ctx.model.prompt_caching is True
    if ctx.cache is not None and cached:
        read, write = ctx.cache.account(messages_prefix(ctx.model_input))
    input_tokens = max(1, text.input_tokens - read - write) if read or write else text.input_tokens
    usage: dict[str, Any] = {
        "inputTokens": input_tokens,
        "outputTokens": out_tokens,
        "totalTokens": input_tokens + read + write + out_tokens,
    }
    out: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [block]}},
        "stopReason": stop,
        "usage": usage,
    }
    if ctx.invocation_type == "Converse":
        if cached:
            usage.update(cacheReadInputTokens=read, cacheWriteInputTokens=write)
        out["metrics"] = {"latencyMs": latency_ms(out_tokens)}
    else:
        usage.update(cacheReadInputTokenCount=read, cacheWriteInputTokenCount=write)
    return out


def messages_usage(output: Any) -> tuple[int, int]:
    """``usage.inputTokens`` / ``usage.outputTokens`` of a messages-shaped answer."""
    usage = output.get("usage") if isinstance(output, Mapping) else None
    if isinstance(usage, Mapping):
        return token_count(usage.get("inputTokens")), token_count(usage.get("outputTokens"))
    return 0, 0

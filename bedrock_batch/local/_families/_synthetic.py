"""The synthetic models: deterministic, cheap answers in each family's response schema.

Everything an answer contains is derived from the request's digest
(:attr:`RecordContext.seed`, a CRC-32 of the compact request body): the text is a slice of a
fixed word sequence, message ids come from a BLAKE2 hash, tool inputs are generated from the
tool's JSON schema (:mod:`._schema_instances`). No random generator is seeded per record
unless a tool call needs one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from .._encoding import encode
from ._models import capabilities
from ._schema_instances import instance_for
from ._usage import latency_ms

if TYPE_CHECKING:
    from ._responders import RecordContext

__all__ = ["encoded_answer", "estimate_tokens", "prompt_text", "synthetic"]

_VOCABULARY = (
    *("the", "answer", "depends", "on", "context", "and", "on", "history", "ritual"),
    *("practice", "meaning", "community", "season", "tradition", "temple", "offering"),
    *("memory", "family", "respect", "harmony", "nature", "balance", "renewal", "gratitude"),
    *("purification", "ancestors", "festival", "symbol", "teaching", "path", "mindfulness"),
    *("impermanence", "compassion", "ceremony", "moment", "place", "people", "time", "care"),
    *("form", "spirit", "way"),
)


def _word_pool(size: int = 8192) -> tuple[str, list[int]]:
    state, words = 2026, []
    for _ in range(size):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        words.append(_VOCABULARY[(state >> 16) % len(_VOCABULARY)])
    offsets, at = [], 0
    for word in words:
        offsets.append(at)
        at += len(word) + 1
    offsets.append(at)
    return " ".join(words) + " ", offsets


_POOL, _OFFSETS = _word_pool()
_POOL_WORDS = len(_OFFSETS) - 1
_GAUSS_RNG = random.Random(7)
_GAUSS = [round(_GAUSS_RNG.gauss(0.0, 1.0), 6) for _ in range(16384)]
_ID_ALPHABET = bytes.maketrans(b"+/", b"PQ")
_TEXT_KEYS = frozenset({"text", "prompt", "inputText", "content", "system"})


def _words(seed: int, count: int) -> str:
    """``count`` words of the fixed sequence, starting where ``seed`` says."""
    if count <= 0:
        return ""
    count = min(count, _POOL_WORDS)
    start = seed % (_POOL_WORDS - count + 1)
    return _POOL[_OFFSETS[start] : _OFFSETS[start + count] - 1]


def _id(seed: int, record_id: str, size: int = 22) -> str:
    digest = hashlib.blake2b(f"{seed}:{record_id}".encode(), digest_size=18).digest()
    return base64.b64encode(digest).translate(_ID_ALPHABET)[:size].decode("ascii")


def prompt_text(body: Any) -> str:
    """The prompt text of a request body: message texts, then system, prompt and inputText."""
    parts: list[str] = []
    if not isinstance(body, dict):
        return ""
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                for block in content:
                    text = block.get("text") if isinstance(block, dict) else None
                    if isinstance(text, str):
                        parts.append(text)
                    else:
                        _collect(block, parts)
    system = body.get("system")
    if isinstance(system, str):
        parts.append(system)
    elif isinstance(system, list):
        _collect(system, parts)
    for key in ("prompt", "inputText"):
        if isinstance(body.get(key), str):
            parts.append(body[key])
    return "\n".join(parts)


def _collect(node: Any, parts: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if key in _TEXT_KEYS:
                    parts.append(value)
            elif isinstance(value, (dict, list)):
                _collect(value, parts)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _collect(item, parts)


def estimate_tokens(text: str) -> int:
    """About four characters a token for ASCII text; more for other scripts."""
    if not text:
        return 0
    extra = len(text.encode("utf-8")) - len(text)
    return max(1, -(-len(text) // 4) + extra // 2)


def _max_tokens(ctx: RecordContext) -> int:
    body, family = ctx.model_input, ctx.model.family
    ceiling = ctx.model.max_output_tokens or 4096
    value: Any = None
    if ctx.invocation_type == "Converse" or family == "nova":
        config = body.get("inferenceConfig")
        if isinstance(config, dict):
            value = config.get("maxTokens", config.get("max_new_tokens"))
        if value is None and family == "nova" and ctx.invocation_type != "Converse":
            value = 5000  # Nova's documented default for InvokeModel
    elif family in ("anthropic", "mistral"):
        value = body.get("max_tokens")
    elif family == "titan-text":
        config = body.get("textGenerationConfig")
        value = config.get("maxTokenCount", 512) if isinstance(config, dict) else 512
    elif family == "llama":
        value = body.get("max_gen_len", 512)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return ceiling


class _Text:
    """The generated text of one answer and its token counts."""

    __slots__ = ("input_tokens", "output_tokens", "text", "truncated")

    def __init__(self, ctx: RecordContext, max_tokens: int) -> None:
        prompt = prompt_text(ctx.model_input)
        seed = ctx.seed
        self.input_tokens = estimate_tokens(prompt) + 7
        stripped = prompt.strip()
        first = stripped.split("\n", 1)[0][:60] if stripped else ""
        want = 16 + seed % 145
        base = estimate_tokens(first) + 2
        room = max(0, max_tokens - base)
        count = min(want, room)
        self.truncated = want > room
        words = _words(seed >> 3, count)
        self.text = (f"{first} — " if first else "") + words + ("" if self.truncated else ".")
        self.output_tokens = max(1, min(base + count, max_tokens)) if max_tokens else 0


# --- tool use ------------------------------------------------------------------------------------


def _ends_with_tool_results(messages: Any, anthropic: bool) -> bool:
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return False
    content = messages[-1].get("content")
    if not isinstance(content, list):
        return False
    if anthropic:
        return any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    return any(isinstance(b, dict) and "toolResult" in b for b in content)


def _pick(
    kind: str, name: Any, tools: list[tuple[str, Any]], seed: int, after_results: bool
) -> tuple[str, Any] | None:
    """Which tool the synthetic model calls (None: it answers with text)."""
    if not tools or kind == "none":
        return None
    if kind == "tool":
        return next((t for t in tools if t[0] == name), None)
    if kind == "auto" and after_results:
        return None  # the tool loop ends: the model answers the tool results with text
    return tools[seed % len(tools)]


def _tool_input(schema: Any, seed: int) -> Any:
    value = instance_for(schema, seed) if isinstance(schema, Mapping) else {}
    return value if isinstance(value, dict) else {}


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
    after = _ends_with_tool_results(body.get("messages"), anthropic=True)
    return _pick(choice.get("type", "auto"), choice.get("name"), tools, ctx.seed, after)


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
    after = _ends_with_tool_results(ctx.model_input.get("messages"), anthropic=False)
    return _pick(kind, name, tools, ctx.seed, after)


# --- per family ----------------------------------------------------------------------------------


def _anthropic(ctx: RecordContext, max_tokens: int) -> dict[str, Any]:
    text = _Text(ctx, max_tokens)
    content: list[dict[str, Any]] = []
    stop = "max_tokens" if text.truncated else "end_turn"
    out_tokens = text.output_tokens
    tool = _anthropic_tool(ctx)
    if tool is not None:
        arguments = _tool_input(tool[1], ctx.seed)
        content = [
            {
                "type": "tool_use",
                "id": "toolu_bdrk_01" + _id(ctx.seed, ctx.record_id + "/tool"),
                "name": tool[0],
                "input": arguments,
            }
        ]
        stop = "tool_use"
        out_tokens = min(max_tokens, estimate_tokens(encode(arguments)) + 12)
    else:
        content = [{"type": "text", "text": text.text}]
    return {
        "id": "msg_bdrk_01" + _id(ctx.seed, ctx.record_id),
        "type": "message",
        "role": "assistant",
        "model": capabilities(ctx.model).anthropic_name,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": text.input_tokens, "output_tokens": out_tokens},
    }


def encoded_answer(ctx: RecordContext) -> tuple[str, int, int] | None:
    """A batch fast path: :func:`synthetic`'s answer already encoded as compact JSON, with its
    input and output tokens; None when there is no fast path for this request (the caller
    encodes ``synthetic(ctx)`` instead). ``json.loads`` of the text equals ``synthetic(ctx)``.
    """
    if (
        ctx.model.family != "anthropic"
        or ctx.invocation_type == "Converse"
        or ctx.model_input.get("tools")
    ):
        return None
    text = _Text(ctx, _max_tokens(ctx))
    stop = "max_tokens" if text.truncated else "end_turn"
    name = capabilities(ctx.model).anthropic_name
    return (
        f'{{"id":"msg_bdrk_01{_id(ctx.seed, ctx.record_id)}","type":"message","role":"assistant",'
        f'"model":"{name}","content":[{{"type":"text","text":{encode_basestring(text.text)}}}],'
        f'"stop_reason":"{stop}","stop_sequence":null,'
        f'"usage":{{"input_tokens":{text.input_tokens},"output_tokens":{text.output_tokens}}}}}',
        text.input_tokens,
        text.output_tokens,
    )


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


def _messages_shape(ctx: RecordContext, max_tokens: int) -> dict[str, Any]:
    """Converse (any model) and Nova's native body share their response shape."""
    text = _Text(ctx, max_tokens)
    stop = "max_tokens" if text.truncated else "end_turn"
    out_tokens = text.output_tokens
    tool = _converse_tool(ctx)
    block: dict[str, Any]
    if tool is not None:
        arguments = _tool_input(tool[1], ctx.seed)
        block = {
            "toolUse": {
                "toolUseId": "tooluse_" + _id(ctx.seed, ctx.record_id + "/tool"),
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
    usage: dict[str, Any] = {
        "inputTokens": text.input_tokens,
        "outputTokens": out_tokens,
        "totalTokens": text.input_tokens + out_tokens,
    }
    out: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [block]}},
        "stopReason": stop,
        "usage": usage,
    }
    if ctx.invocation_type == "Converse":
        out["metrics"] = {"latencyMs": latency_ms(out_tokens)}
    else:
        usage.update(cacheReadInputTokenCount=0, cacheWriteInputTokenCount=0)
    return out


def _mistral(ctx: RecordContext, max_tokens: int) -> dict[str, Any]:
    body = ctx.model_input
    text = _Text(ctx, max_tokens)
    reason = "length" if text.truncated else "stop"
    if "messages" not in body:
        return {"outputs": [{"text": text.text, "stop_reason": reason}]}
    tools = [
        (t["function"]["name"], t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    after = any(isinstance(m, dict) and m.get("role") == "tool" for m in body["messages"][-1:])
    tool = _pick(body.get("tool_choice", "auto"), None, tools, ctx.seed, after)
    message: dict[str, Any] = {"role": "assistant", "content": text.text}
    if tool is not None:
        call = {
            "id": _id(ctx.seed, ctx.record_id, 9),
            "function": {"name": tool[0], "arguments": encode(_tool_input(tool[1], ctx.seed))},
        }
        message = {"role": "assistant", "content": "", "tool_calls": [call]}
        reason = "tool_calls"
    return {"choices": [{"index": 0, "message": message, "stop_reason": reason}]}


def _embedding(seed: int, dims: int, normalize: bool) -> list[float]:
    size = len(_GAUSS)
    start, stride = seed % size, 1 + 2 * ((seed >> 14) % 61)
    vec = [_GAUSS[(start + i * stride) % size] for i in range(dims)]
    if normalize:
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        vec = [round(v / norm, 8) for v in vec]
    return vec


def synthetic(ctx: RecordContext) -> dict[str, Any]:
    """The default responder: a deterministic answer in the model family's response schema.

    Text is drawn from a fixed vocabulary by the input's digest; a forced tool
    (Anthropic ``tool_choice`` ``any`` / ``tool``, Converse and Nova ``toolChoice``, Mistral
    ``tool_choice`` ``any``) is answered with a tool call whose input is generated from the
    tool's JSON schema, with stop reason ``tool_use``; token counts are plausible.
    """
    family, body = ctx.model.family, ctx.model_input
    converse = ctx.invocation_type == "Converse"
    if family == "titan-embed-text" and not converse:
        dims = body.get("dimensions", 1024)
        vec = _embedding(ctx.seed, dims, bool(body.get("normalize", True)))
        kinds = body.get("embeddingTypes", ["float"])
        by_type: dict[str, Any] = {}
        if "float" in kinds:
            by_type["float"] = vec
        if "binary" in kinds:
            by_type["binary"] = [1 if v > 0 else 0 for v in vec]
        out: dict[str, Any] = {"embedding": vec} if "float" in kinds else {}
        out.update(embeddingsByType=by_type, inputTextTokenCount=estimate_tokens(prompt_text(body)))
        return out
    if family == "titan-embed-image" and not converse:
        dims = (body.get("embeddingConfig") or {}).get("outputEmbeddingLength", 1024)
        return {
            "embedding": _embedding(ctx.seed, dims, True),
            "inputTextTokenCount": estimate_tokens(prompt_text(body)),
            "message": None,
        }
    max_tokens = _max_tokens(ctx)
    if converse or family == "nova":
        return _messages_shape(ctx, max_tokens)
    if family == "anthropic":
        return _anthropic(ctx, max_tokens)
    if family == "mistral":
        return _mistral(ctx, max_tokens)
    text = _Text(ctx, max_tokens)
    if family == "titan-text":
        return {
            "inputTextTokenCount": text.input_tokens,
            "results": [
                {
                    "tokenCount": text.output_tokens,
                    "outputText": text.text,
                    "completionReason": "LENGTH" if text.truncated else "FINISH",
                }
            ],
        }
    return {  # llama
        "generation": text.text,
        "prompt_token_count": text.input_tokens,
        "generation_token_count": text.output_tokens,
        "stop_reason": "length" if text.truncated else "stop",
    }

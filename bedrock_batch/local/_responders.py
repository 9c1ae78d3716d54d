"""Synthetic models: deterministic answers in each family's exact response schema.

A *responder* is any callable ``(RecordContext) -> dict`` returning the ``modelOutput`` for
one record, or raising :class:`RecordError` for a per-record failure. Local Bedrock checks the
request against the family's rules first (``validate_inputs=True``), then calls the responder.
For Converse, responders return the runtime Converse response; the batch writer adds the null
union members Bedrock writes in batch output.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import string
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._catalog import ModelInfo, estimate_tokens
from .._schemas import input_text, requested_output_tokens

__all__ = ["RecordContext", "RecordError", "Responder", "constant", "synthetic"]


@attrs.frozen
class RecordContext:
    """What a responder is told about one record."""

    record_id: str
    model_id: str
    model: ModelInfo
    invocation_type: str
    model_input: Mapping[str, Any]


@attrs.define
class RecordError(Exception):
    """A per-record failure: becomes ``{"error": {"errorCode", "errorMessage", ...}}``."""

    code: int = 400
    message: str = "bad request"
    retryable: bool = False
    expired: bool = False

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


Responder = Callable[[RecordContext], dict[str, Any]]

_VOCABULARY = (
    "the answer depends on context and on history ritual practice meaning community",
    "season tradition temple offering memory family respect harmony nature balance",
    "renewal gratitude purification ancestors festival symbol teaching path mindfulness",
    "impermanence compassion ceremony moment place people time care form spirit",
    "way",
)
_WORDS = [word for line in _VOCABULARY for word in line.split()]
_B62 = string.digits + string.ascii_letters


def _seed(ctx: RecordContext) -> random.Random:
    canon = json.dumps(ctx.model_input, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{ctx.model.model_id}\n{canon}".encode()).digest()
    return random.Random(digest)


def _generate(ctx: RecordContext, max_tokens: int) -> tuple[str, int, int, bool, random.Random]:
    """(text, input tokens, output tokens, hit the token limit, the record's RNG)."""
    rng = _seed(ctx)
    prompt = input_text(ctx.model_input)
    in_tokens = estimate_tokens(prompt) + 7
    first = prompt.strip().split("\n", 1)[0][:60] if prompt.strip() else ""
    want = rng.randint(16, 160)
    base = estimate_tokens(first) + 2
    room = max(0, max_tokens - base)
    words = rng.choices(_WORDS, k=min(want, room))
    truncated = want > room
    text = (f"{first} — " if first else "") + " ".join(words) + ("" if truncated else ".")
    return text, in_tokens, max(1, min(base + len(words), max_tokens)), truncated, rng


def _embedding(ctx: RecordContext, dims: int, normalize: bool) -> tuple[list[float], int]:
    rng = _seed(ctx)
    vec = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    if normalize:
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        vec = [v / norm for v in vec]
    return [float(f"{v:.7g}") for v in vec], estimate_tokens(input_text(ctx.model_input))


def _max_tokens(ctx: RecordContext) -> int:
    ceiling = ctx.model.max_output_tokens or 4096
    nova_default = (
        5000 if ctx.model.family == "nova" and ctx.invocation_type != "Converse" else ceiling
    )
    return requested_output_tokens(
        ctx.model_input, ctx.model.family, invocation_type=ctx.invocation_type, default=nova_default
    )


def synthetic(ctx: RecordContext) -> dict[str, Any]:
    """The default responder: a deterministic answer in the model family's response schema."""
    family = ctx.model.family
    body = ctx.model_input
    if family == "titan-embed-text" and ctx.invocation_type != "Converse":
        dims = int(body.get("dimensions", 1024))
        vec, n_in = _embedding(ctx, dims, bool(body.get("normalize", True)))
        types = body.get("embeddingTypes", ["float"])
        by_type: dict[str, Any] = {}
        if "float" in types:
            by_type["float"] = vec
        if "binary" in types:
            by_type["binary"] = [1 if v > 0 else 0 for v in vec]
        out: dict[str, Any] = {"embedding": vec} if "float" in types else {}
        out.update({"embeddingsByType": by_type, "inputTextTokenCount": n_in})
        return out
    if family == "titan-embed-image" and ctx.invocation_type != "Converse":
        dims = int((body.get("embeddingConfig") or {}).get("outputEmbeddingLength", 1024))
        vec, n_in = _embedding(ctx, dims, True)
        return {"embedding": vec, "inputTextTokenCount": n_in, "message": None}

    text, n_in, n_out, truncated, rng = _generate(ctx, _max_tokens(ctx))
    if ctx.invocation_type == "Converse":
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "max_tokens" if truncated else "end_turn",
            "usage": {"inputTokens": n_in, "outputTokens": n_out, "totalTokens": n_in + n_out},
            "metrics": {"latencyMs": 200 + 9 * n_out},
        }
    if family == "anthropic":
        short = ctx.model.model_id.removeprefix("anthropic.").rsplit("-v", 1)[0]
        return {
            "id": "msg_bdrk_01" + "".join(rng.choice(_B62) for _ in range(22)),
            "type": "message",
            "role": "assistant",
            "model": short,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "max_tokens" if truncated else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": n_in, "output_tokens": n_out},
        }
    if family == "titan-text":
        return {
            "inputTextTokenCount": n_in,
            "results": [
                {
                    "tokenCount": n_out,
                    "outputText": text,
                    "completionReason": "LENGTH" if truncated else "FINISH",
                }
            ],
        }
    if family == "llama":
        return {
            "generation": text,
            "prompt_token_count": n_in,
            "generation_token_count": n_out,
            "stop_reason": "length" if truncated else "stop",
        }
    if family == "mistral":
        reason = "length" if truncated else "stop"
        if "messages" in body:
            return {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "stop_reason": reason,
                    }
                ]
            }
        return {"outputs": [{"text": text, "stop_reason": reason}]}
    # nova
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "max_tokens" if truncated else "end_turn",
        "usage": {
            "inputTokens": n_in,
            "outputTokens": n_out,
            "totalTokens": n_in + n_out,
            "cacheReadInputTokenCount": 0,
            "cacheWriteInputTokenCount": 0,
        },
    }


def constant(model_output: Mapping[str, Any]) -> Responder:
    """A responder that answers every record with the same ``modelOutput``."""
    frozen = json.loads(json.dumps(model_output))

    def respond(ctx: RecordContext) -> dict[str, Any]:
        return dict(frozen)

    return respond

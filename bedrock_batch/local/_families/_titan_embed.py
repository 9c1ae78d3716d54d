"""The Amazon Titan embedding families: Titan Text Embeddings V2 (``titan-embed-text``) and
Titan Multimodal Embeddings G1 (``titan-embed-image``). They answer an ``embedding`` vector
(deterministic, from the request's digest) and ``inputTextTokenCount``; they generate no text.

Rules written from each model's documented request body and phrased in the JSON-schema style
(``bedrock-facts.md`` §7).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._context import RecordContext
from ._rules_common import (
    json_object,
    malformed,
    schema_extra,
    schema_required,
    schema_string,
)
from ._synthetic import estimate_tokens, prompt_text
from ._usage import token_count

__all__ = [
    "TITAN_EMBED_IMAGE",
    "TITAN_EMBED_TEXT",
    "TitanEmbedImage",
    "TitanEmbedText",
    "check_titan_embed_image",
    "check_titan_embed_text",
    "embedding_vector",
]

_GAUSS_RNG = random.Random(7)
_GAUSS = [round(_GAUSS_RNG.gauss(0.0, 1.0), 6) for _ in range(16384)]


def check_titan_embed_text(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Titan Text Embeddings V2: ``inputText``, ``dimensions``, ``normalize``, ``embeddingTypes``."""
    schema_required(body, ("inputText",))
    schema_extra(body, frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"}))
    schema_string(body, "inputText")
    if len(body["inputText"]) > 50_000:
        raise malformed("#/inputText", "expected maxLength: 50000")
    if "dimensions" in body and body["dimensions"] not in (256, 512, 1024):
        raise malformed("#/dimensions", f"{body['dimensions']} is not a valid enum value")
    if "normalize" in body and not isinstance(body["normalize"], bool):
        raise malformed("#/normalize", "expected type: Boolean")
    kinds = body.get("embeddingTypes", ["float"])
    if not (isinstance(kinds, list) and kinds and set(kinds) <= {"float", "binary"}):
        raise malformed("#/embeddingTypes", "expected a non-empty subset of [float, binary]")


def check_titan_embed_image(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Titan Multimodal Embeddings G1: ``inputText`` and/or ``inputImage``."""
    schema_extra(body, frozenset({"inputText", "inputImage", "embeddingConfig"}))
    if "inputText" not in body and "inputImage" not in body:
        raise malformed("#", "at least one of [inputText, inputImage] is required")
    schema_string(body, "inputText")
    schema_string(body, "inputImage")
    config = json_object(body, "embeddingConfig")
    schema_extra(config, frozenset({"outputEmbeddingLength"}), "#/embeddingConfig")
    if config.get("outputEmbeddingLength", 1024) not in (256, 384, 1024):
        raise malformed("#/embeddingConfig/outputEmbeddingLength", "not a valid enum value")


def embedding_vector(seed: int, dims: int, normalize: bool) -> list[float]:
    """A deterministic embedding of ``dims`` values for ``seed`` (unit length when ``normalize``)."""
    size = len(_GAUSS)
    start, stride = seed % size, 1 + 2 * ((seed >> 14) % 61)
    vec = [_GAUSS[(start + i * stride) % size] for i in range(dims)]
    if normalize:
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        vec = [round(v / norm, 8) for v in vec]
    return vec


def _text_answer(ctx: RecordContext) -> dict[str, Any]:
    body = ctx.model_input
    dims = body.get("dimensions", 1024)
    vec = embedding_vector(ctx.seed, dims, bool(body.get("normalize", True)))
    kinds = body.get("embeddingTypes", ["float"])
    by_type: dict[str, Any] = {}
    if "float" in kinds:
        by_type["float"] = vec
    if "binary" in kinds:
        by_type["binary"] = [1 if v > 0 else 0 for v in vec]
    out: dict[str, Any] = {"embedding": vec} if "float" in kinds else {}
    out.update(embeddingsByType=by_type, inputTextTokenCount=estimate_tokens(prompt_text(body)))
    return out


def _image_answer(ctx: RecordContext) -> dict[str, Any]:
    body = ctx.model_input
    dims = (body.get("embeddingConfig") or {}).get("outputEmbeddingLength", 1024)
    return {
        "embedding": embedding_vector(ctx.seed, dims, True),
        "inputTextTokenCount": estimate_tokens(prompt_text(body)),
        "message": None,
    }


def _usage(output: Any) -> tuple[int, int]:
    if not isinstance(output, Mapping):
        return 0, 0
    return token_count(output.get("inputTextTokenCount")), 0


class TitanEmbedText:
    """Titan Text Embeddings V2 on InvokeModel."""

    name = "titan-embed-text"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The family's request rules."""
        check_titan_embed_text(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """An embedding (float and/or binary, as ``embeddingTypes`` asks)."""
        return _text_answer(ctx)

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """``inputTextTokenCount``; an embedding generates no tokens."""
        return _usage(output)

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """None: the body references no S3 object."""
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return output


class TitanEmbedImage:
    """Titan Multimodal Embeddings G1 on InvokeModel."""

    name = "titan-embed-image"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The family's request rules."""
        check_titan_embed_image(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """An embedding of ``outputEmbeddingLength`` dimensions."""
        return _image_answer(ctx)

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """``inputTextTokenCount``; an embedding generates no tokens."""
        return _usage(output)

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """None: the body references no S3 object."""
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return output


TITAN_EMBED_TEXT = TitanEmbedText()
TITAN_EMBED_IMAGE = TitanEmbedImage()

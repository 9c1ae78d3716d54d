"""Amazon Titan embeddings: Text Embeddings V2 and Multimodal Embeddings G1, two families with
one way of reading their outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._catalog import ModelInfo
from .._errors import ValidationError
from ._protocol import (
    EmbeddingFamily,
    Image,
    Images,
    decode_image,
    drop_none,
)
from ._schema_rules import _malformed, _schema_extra, _schema_required, _schema_str, run_rules
from ._usage import UNKNOWN_USAGE, Usage, count

__all__ = ["TITAN_EMBED_IMAGE", "TITAN_EMBED_TEXT", "TitanEmbedImageFamily", "TitanEmbedTextFamily"]


def _titan_embed_text(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_required(body, "inputText")
    _schema_extra(body, frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"}))
    _schema_str(body, "inputText")
    if len(body["inputText"]) > 50000:
        raise _malformed("#/inputText: expected maxLength: 50000")
    if "dimensions" in body and body["dimensions"] not in (256, 512, 1024):
        raise _malformed(f"#/dimensions: {body['dimensions']} is not a valid enum value")
    if "normalize" in body and not isinstance(body["normalize"], bool):
        raise _malformed("#/normalize: expected type: Boolean")
    types = body.get("embeddingTypes", ["float"])
    if not isinstance(types, list) or not types or not set(types) <= {"float", "binary"}:
        raise _malformed("#/embeddingTypes: expected a non-empty subset of [float, binary]")
    return None


def _titan_embed_image(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_extra(body, frozenset({"inputText", "inputImage", "embeddingConfig"}))
    if "inputText" not in body and "inputImage" not in body:
        raise _malformed("#: at least one of [inputText, inputImage] is required")
    _schema_str(body, "inputText")
    _schema_str(body, "inputImage")
    cfg = body.get("embeddingConfig", {})
    if not isinstance(cfg, dict):
        raise _malformed("#/embeddingConfig: expected type: JSONObject")
    _schema_extra(cfg, frozenset({"outputEmbeddingLength"}), "#/embeddingConfig")
    if "outputEmbeddingLength" in cfg and cfg["outputEmbeddingLength"] not in (256, 384, 1024):
        raise _malformed("#/embeddingConfig/outputEmbeddingLength: not a valid enum value")
    return None


class _TitanEmbeddings(EmbeddingFamily):
    """What the two Titan embeddings families share: no prompts, no tools, their outputs."""

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
        raise ValidationError("this is an embedding model: use add_embedding()")

    def output_embedding(self, output: Any) -> list[float] | None:
        if not isinstance(output, Mapping):
            return None
        emb = output.get("embedding")
        if isinstance(emb, list):
            return emb
        by_type = output.get("embeddingsByType")
        if isinstance(by_type, Mapping) and isinstance(by_type.get("float"), list):
            return list(by_type["float"])
        return None

    def output_usage(self, output: Any) -> Usage:
        if isinstance(output, Mapping) and "inputTextTokenCount" in output:
            return Usage(count(output.get("inputTextTokenCount")), 0)
        return UNKNOWN_USAGE


class TitanEmbedTextFamily(_TitanEmbeddings):
    """Amazon Titan Text Embeddings V2."""

    name = "titan-embed-text"

    def build_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
    ) -> dict[str, Any]:
        if image is not None:
            raise ValidationError("Titan Text Embeddings V2 takes no image")
        if not text or not text.strip():
            raise ValidationError("non-blank text is required for Titan Text Embeddings V2")
        return drop_none({"inputText": text, "dimensions": dimensions, "normalize": normalize})

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_titan_embed_text, body, model)


class TitanEmbedImageFamily(_TitanEmbeddings):
    """Amazon Titan Multimodal Embeddings G1."""

    name = "titan-embed-image"

    def build_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
    ) -> dict[str, Any]:
        if not text and image is None:
            raise ValidationError("text or image is required for Titan Multimodal Embeddings")
        body = drop_none({"inputText": text or None})
        if image is not None:
            body["inputImage"] = decode_image(image)[1]
        if dimensions is not None:
            body["embeddingConfig"] = {"outputEmbeddingLength": dimensions}
        if normalize is not None:
            raise ValidationError("Titan Multimodal Embeddings has no normalize option")
        return body

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_titan_embed_image, body, model)


#: The Titan Text Embeddings V2 family.
TITAN_EMBED_TEXT = TitanEmbedTextFamily()
#: The Titan Multimodal Embeddings G1 family.
TITAN_EMBED_IMAGE = TitanEmbedImageFamily()

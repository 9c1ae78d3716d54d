"""Nova multimodal embeddings (``nova-embed``): Nova 2 multimodal embeddings on InvokeModel
(facts §12.2). Its request rules (schema ``nova-multimodal-embed-v1``, task
``SINGLE_EMBEDDING``), the body builder (a text or an image; a dimension of 256, 384, 1024 or
3072, 3072 by default; a purpose, ``GENERIC_INDEX`` by default), and how to read its answer
``{"embeddings": [{"embeddingType", "embedding"}]}``.

The answer carries no token count (the service reports it in a response header; REPORTED):
usage is unknown, and a batch's summary takes its manifest's counts. The refusal wording (the
JSON-schema style of the other Amazon bodies) is UNVERIFIED.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .._catalog import ModelInfo, estimate_tokens
from .._errors import ValidationError
from ._protocol import (
    EmbeddingFamily,
    Image,
    Images,
    decode_image,
    first,
    iter_s3_locations,
)
from ._schema_rules import _Bad, _is_int, _malformed, _schema_extra, _schema_required, _schema_str
from ._usage import UNKNOWN_USAGE, Usage, count

__all__ = ["DEFAULT_DIMENSION", "DEFAULT_PURPOSE", "NOVA_EMBED", "PURPOSES", "NovaEmbedFamily"]

SCHEMA_VERSION = "nova-multimodal-embed-v1"
#: The documented purposes (facts §12.2, VERIFIED).
PURPOSES = (
    "GENERIC_INDEX", "GENERIC_RETRIEVAL", "TEXT_RETRIEVAL", "IMAGE_RETRIEVAL", "VIDEO_RETRIEVAL",
    "DOCUMENT_RETRIEVAL", "AUDIO_RETRIEVAL", "CLASSIFICATION", "CLUSTERING",
)  # fmt: skip
DIMENSIONS = (256, 384, 1024, 3072)
#: The service's default dimension (facts §12.2).
DEFAULT_DIMENSION = 3072
#: The purpose the builder sets when none is given (the facts' minimal body).
DEFAULT_PURPOSE = "GENERIC_INDEX"
_INPUTS = ("text", "image", "audio", "video")
_MEDIA_FORMATS = {
    "image": ("png", "jpeg", "gif", "webp"),
    "audio": ("mp3", "wav", "ogg"),
    "video": ("mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"),
}
_TRUNCATION = ("START", "END", "NONE")
#: The longest text taken with ``truncationMode: NONE`` (facts §12.2: 8K tokens).
TEXT_LIMIT = 8192


def _media(kind: str, media: Any, where: str) -> None:
    if not isinstance(media, dict):
        raise _malformed(f"{where}: expected type: JSONObject")
    _schema_required(media, "format", "source", path=where)
    if media["format"] not in _MEDIA_FORMATS[kind]:
        raise _malformed(f"{where}/format: {media['format']} is not a valid enum value")
    source = media["source"]
    if not isinstance(source, dict) or len(source) != 1:
        raise _malformed(f"{where}/source: exactly one of [bytes, s3Location] is required")
    if "bytes" in source:
        _schema_str(source, "bytes", path=f"{where}/source")
        return
    location = source.get("s3Location")
    if not isinstance(location, dict):
        raise _malformed(f"{where}/source: exactly one of [bytes, s3Location] is required")
    _schema_required(location, "uri", path=f"{where}/source/s3Location")
    _schema_str(location, "uri", path=f"{where}/source/s3Location")


def _check(body: Mapping[str, Any]) -> None:
    _schema_required(body, "schemaVersion", "taskType")
    _schema_extra(body, frozenset({"schemaVersion", "taskType", "singleEmbeddingParams"}))
    if body["schemaVersion"] != SCHEMA_VERSION:
        raise _malformed(f"#/schemaVersion: {SCHEMA_VERSION} is the only supported value")
    if body["taskType"] == "SEGMENTED_EMBEDDING":
        raise _malformed("#/taskType: SEGMENTED_EMBEDDING is only supported asynchronously")
    if body["taskType"] != "SINGLE_EMBEDDING":
        raise _malformed(f"#/taskType: {body['taskType']} is not a valid enum value")
    _schema_required(body, "singleEmbeddingParams")
    params = body["singleEmbeddingParams"]
    where = "#/singleEmbeddingParams"
    if not isinstance(params, dict):
        raise _malformed(f"{where}: expected type: JSONObject")
    _schema_extra(params, frozenset({"embeddingPurpose", "embeddingDimension", *_INPUTS}), where)
    _schema_required(params, "embeddingPurpose", path=where)
    if params["embeddingPurpose"] not in PURPOSES:
        raise _malformed(f"{where}/embeddingPurpose: not a valid enum value")
    dims = params.get("embeddingDimension", DEFAULT_DIMENSION)
    if not _is_int(dims) or dims not in DIMENSIONS:
        raise _malformed(f"{where}/embeddingDimension: {dims} is not a valid enum value")
    given = [key for key in _INPUTS if key in params]
    if len(given) != 1:
        raise _malformed(f"{where}: exactly one of [text, image, audio, video] is required")
    kind = given[0]
    if kind != "text":
        _media(kind, params[kind], f"{where}/{kind}")
        return
    text = params["text"]
    if not isinstance(text, dict):
        raise _malformed(f"{where}/text: expected type: JSONObject")
    _schema_extra(text, frozenset({"truncationMode", "value"}), f"{where}/text")
    _schema_required(text, "value", path=f"{where}/text")
    _schema_str(text, "value", path=f"{where}/text")
    if text.get("truncationMode", "END") not in _TRUNCATION:
        raise _malformed(f"{where}/text/truncationMode: not a valid enum value")
    if text.get("truncationMode") == "NONE" and estimate_tokens(text["value"]) > TEXT_LIMIT:
        # an estimate of the tokens: the service counts them itself (facts §12.2: 8K)
        raise _malformed(f"{where}/text/value: exceeds the limit of {TEXT_LIMIT} tokens")


class NovaEmbedFamily(EmbeddingFamily):
    """Nova 2 multimodal embeddings."""

    name = "nova-embed"

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
        raise ValidationError("add_prompt() needs a text model; use add_embedding()")

    def build_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
    ) -> dict[str, Any]:
        if (text is None) == (image is None):
            raise ValidationError("Nova multimodal embeddings take exactly one of text or image")
        if normalize is not None:
            raise ValidationError("Nova multimodal embeddings have no normalize option")
        dims = DEFAULT_DIMENSION if dimensions is None else dimensions
        if dims not in DIMENSIONS:
            raise ValidationError(f"dimensions must be one of {DIMENSIONS}, not {dimensions!r}")
        params: dict[str, Any] = {"embeddingPurpose": DEFAULT_PURPOSE, "embeddingDimension": dims}
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise ValidationError("the text to embed must be a non-empty string")
            params["text"] = {"truncationMode": "END", "value": text}
        else:
            assert image is not None
            fmt, data = decode_image(image)
            params["image"] = {"format": fmt, "source": {"bytes": data}}
        return {
            "schemaVersion": SCHEMA_VERSION,
            "taskType": "SINGLE_EMBEDDING",
            "singleEmbeddingParams": params,
        }

    def embedding_purpose(self, body: dict[str, Any], purpose: str) -> dict[str, Any]:
        if purpose not in PURPOSES:
            raise ValidationError(f"purpose must be one of {', '.join(PURPOSES)}; not {purpose!r}")
        params = dict(body["singleEmbeddingParams"])
        params["embeddingPurpose"] = purpose
        return {**body, "singleEmbeddingParams": params}

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        try:
            _check(body)
        except _Bad as bad:
            return str(bad)
        return None

    def s3_locations(self, body: Any) -> Iterator[str]:
        return iter_s3_locations(body)

    def output_embedding(self, output: Any) -> list[float] | None:
        item = first(output, "embeddings")
        vector = item.get("embedding") if item is not None else None
        return vector if isinstance(vector, list) else None

    def output_usage(self, output: Any) -> Usage:
        # No count in the documented body; a line that carries one is read (UNVERIFIED).
        tokens = output.get("inputTextTokenCount") if type(output) is dict else None
        return Usage(count(tokens), 0) if type(tokens) is int else UNKNOWN_USAGE


#: The Nova multimodal embeddings family.
NOVA_EMBED = NovaEmbedFamily()

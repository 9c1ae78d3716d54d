"""The Nova multimodal embeddings family (``nova-embed``): Nova 2 multimodal embeddings on
InvokeModel (``bedrock-facts.md`` §12.2). Its request rules (schema ``nova-multimodal-embed-v1``,
task ``SINGLE_EMBEDDING``), its synthetic answer ``{"embeddings": [{"embeddingType",
"embedding"}]}`` (a deterministic vector of ``embeddingDimension`` values, 3072 by default) and
its usage.

UNVERIFIED and documented as guesses: the refusal wording (the JSON-schema style of the Amazon
bodies); that ``SEGMENTED_EMBEDDING`` is refused (the facts say it is asynchronous only); the
media formats; and the usage: the answer carries no token count (the service reports it in a
response header), so, as for Mistral, the emulator counts the tokens itself: the text's tokens,
and 100 for an image, audio or video input.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._context import RecordContext
from ._rules_common import (
    is_integer,
    malformed,
    schema_extra,
    schema_required,
    schema_string,
)
from ._rules_messages import s3_locations
from ._synthetic import estimate_tokens
from ._titan_embed import embedding_vector

__all__ = ["NOVA_EMBED", "NovaEmbed", "check_nova_embed"]

SCHEMA_VERSION = "nova-multimodal-embed-v1"
_PURPOSES = (
    "GENERIC_INDEX", "GENERIC_RETRIEVAL", "TEXT_RETRIEVAL", "IMAGE_RETRIEVAL", "VIDEO_RETRIEVAL",
    "DOCUMENT_RETRIEVAL", "AUDIO_RETRIEVAL", "CLASSIFICATION", "CLUSTERING",
)  # fmt: skip
_DIMENSIONS = (256, 384, 1024, 3072)
_MEDIA_FORMATS = {
    "image": ("png", "jpeg", "gif", "webp"),
    "audio": ("mp3", "wav", "ogg"),
    "video": ("mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"),
}
_INPUTS = ("text", "image", "audio", "video")
_PARAMS = frozenset({"embeddingPurpose", "embeddingDimension", *_INPUTS})
_TRUNCATION = ("START", "END", "NONE")
#: Tokens counted for one image, audio or video input (a guess).
MEDIA_TOKENS = 100
_TEXT_LIMIT = 8192


def check_nova_embed(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Nova multimodal embeddings: one text, image, audio or video input per request."""
    schema_required(body, ("schemaVersion", "taskType"))
    schema_extra(body, frozenset({"schemaVersion", "taskType", "singleEmbeddingParams"}))
    if body["schemaVersion"] != SCHEMA_VERSION:
        raise malformed("#/schemaVersion", f"{SCHEMA_VERSION} is the only supported value")
    if body["taskType"] == "SEGMENTED_EMBEDDING":
        raise malformed("#/taskType", "SEGMENTED_EMBEDDING is only supported asynchronously")
    if body["taskType"] != "SINGLE_EMBEDDING":
        raise malformed("#/taskType", f"{body['taskType']} is not a valid enum value")
    schema_required(body, ("singleEmbeddingParams",))
    params = body["singleEmbeddingParams"]
    where = "#/singleEmbeddingParams"
    if not isinstance(params, dict):
        raise malformed(where, "expected type: JSONObject")
    schema_extra(params, _PARAMS, where)
    schema_required(params, ("embeddingPurpose",), where)
    if params["embeddingPurpose"] not in _PURPOSES:
        raise malformed(f"{where}/embeddingPurpose", "not a valid enum value")
    dims = params.get("embeddingDimension", 3072)
    if not is_integer(dims) or dims not in _DIMENSIONS:
        raise malformed(f"{where}/embeddingDimension", f"{dims} is not a valid enum value")
    given = [key for key in _INPUTS if key in params]
    if len(given) != 1:
        raise malformed(where, "exactly one of [text, image, audio, video] is required")
    kind = given[0]
    if kind == "text":
        _text(params["text"], f"{where}/text")
    else:
        _media(kind, params[kind], f"{where}/{kind}")


def _text(text: Any, where: str) -> None:
    if not isinstance(text, dict):
        raise malformed(where, "expected type: JSONObject")
    schema_extra(text, frozenset({"truncationMode", "value"}), where)
    schema_required(text, ("value",), where)
    schema_string(text, "value", where)
    if text.get("truncationMode", "END") not in _TRUNCATION:
        raise malformed(f"{where}/truncationMode", "not a valid enum value")
    if text.get("truncationMode") == "NONE" and estimate_tokens(text["value"]) > _TEXT_LIMIT:
        raise malformed(f"{where}/value", f"exceeds the limit of {_TEXT_LIMIT} tokens")


def _media(kind: str, media: Any, where: str) -> None:
    if not isinstance(media, dict):
        raise malformed(where, "expected type: JSONObject")
    schema_required(media, ("format", "source"), where)
    if media["format"] not in _MEDIA_FORMATS[kind]:
        raise malformed(f"{where}/format", f"{media['format']} is not a valid enum value")
    source = media["source"]
    if not isinstance(source, dict) or len(source) != 1:
        raise malformed(f"{where}/source", "exactly one of [bytes, s3Location] is required")
    if "bytes" in source:
        schema_string(source, "bytes", f"{where}/source")
        return
    location = source.get("s3Location")
    if not isinstance(location, dict):
        raise malformed(f"{where}/source", "exactly one of [bytes, s3Location] is required")
    schema_required(location, ("uri",), f"{where}/source/s3Location")
    schema_string(location, "uri", f"{where}/source/s3Location")


def _input_kind(body: Mapping[str, Any]) -> str:
    params = body.get("singleEmbeddingParams")
    if not isinstance(params, Mapping):
        return "text"
    return next((key for key in _INPUTS if key in params), "text")


def input_tokens(body: Mapping[str, Any]) -> int:
    """The emulator's count of a request's input tokens (the body reports none)."""
    params = body.get("singleEmbeddingParams")
    if not isinstance(params, Mapping):
        return 0
    text = params.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("value"), str):
        return min(estimate_tokens(text["value"]), _TEXT_LIMIT)
    return MEDIA_TOKENS if any(key in params for key in _INPUTS) else 0


class NovaEmbed:
    """Nova 2 multimodal embeddings on InvokeModel."""

    name = "nova-embed"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The family's request rules."""
        check_nova_embed(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """One embedding of ``embeddingDimension`` values (3072 by default), typed by input."""
        params = ctx.model_input.get("singleEmbeddingParams")
        params = params if isinstance(params, Mapping) else {}  # unchecked bodies too
        dims = params.get("embeddingDimension", 3072)
        kind = _input_kind(ctx.model_input).upper()
        return {
            "embeddings": [
                {"embeddingType": kind, "embedding": embedding_vector(ctx.seed, dims, True)}
            ]
        }

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """Counted by the emulator for an answer (the body reports none); no output tokens."""
        if not isinstance(output, Mapping) or not isinstance(output.get("embeddings"), list):
            return 0, 0
        return input_tokens(body), 0

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """Image, audio and video inputs by ``s3Location``."""
        return s3_locations(body)

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is (no token count: UNVERIFIED)."""
        return output


NOVA_EMBED = NovaEmbed()

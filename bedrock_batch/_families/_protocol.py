"""What a model family knows, on the client side: one abstract base every family implements.

A family builds its request bodies (a prompt with system text, sampling parameters, stop
sequences and images; an embedding), checks a body as Bedrock would (the service's message, or
None), forces a tool and finds a forced tool in a body, says how many output tokens a body asks
for, and reads text, tool input, stop reason, embedding and token usage back from its
``modelOutput``. Documents and videos by ``s3Location`` and native structured outputs are
*slots*: a family that has not built them raises a clear :class:`ValidationError`.

Families are registered in :mod:`._registry`, which maps any model id spelling to its family.
Capabilities that differ *within* a family are catalogue columns (:class:`ModelInfo`), read
here, never branches on model ids.
"""

from __future__ import annotations

import abc
import base64
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from .._catalog import ModelInfo, estimate_tokens
from .._errors import ValidationError
from ._images import image_format
from ._usage import Usage

__all__ = [
    "ClientFamily",
    "EmbeddingFamily",
    "Image",
    "Images",
    "S3Media",
    "TextGenerationFamily",
    "decode_image",
    "drop_none",
    "first",
    "iter_s3_locations",
    "mapping",
    "no_forced_tool",
    "not_embedding",
    "not_yet",
]

#: Raw image bytes, or (bytes, format) when the format cannot be told from the bytes.
Image = bytes | tuple[bytes, str]


@attrs.frozen
class S3Media:
    """A document or video a body references by ``s3Location`` (in the job's input bucket)."""

    uri: str
    #: ``pdf``, ``txt``... for documents; ``mp4``, ``mov``... for videos.
    format: str
    #: A document's name as the model sees it.
    name: str | None = None
    bucket_owner: str | None = None


def decode_image(image: Image) -> tuple[str, str]:
    """(format, base64) for raw image bytes, the format told by their magic numbers.

    Bytes that are no PNG, JPEG, GIF or WEBP image, or that are another format than the one
    passed with them (``(b"not an image", "png")``), are refused with a :class:`ValidationError`.
    """
    data, fmt = image if isinstance(image, tuple) else (image, "")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("images must be bytes or (bytes, format)")
    actual = image_format(bytes(data[:16]))
    if actual is None:
        raise ValidationError(
            f"the image is not a PNG, JPEG, GIF or WEBP image (its first bytes are "
            f"{bytes(data[:8])!r}); Bedrock's models take only those"
        )
    claimed = str(fmt).lower().replace("jpg", "jpeg") if fmt else actual
    if claimed != actual:
        raise ValidationError(f"the image is passed as {fmt!r} but its bytes are {actual}")
    return actual, base64.b64encode(bytes(data)).decode("ascii")


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` without its None values."""
    return {k: v for k, v in d.items() if v is not None}


def not_yet(family: ClientFamily, what: str) -> ValidationError:
    """The error of a protocol slot a family has not built."""
    return ValidationError(f"{what} is not supported by this family yet ({family.name})")


def iter_s3_locations(node: Any) -> Iterator[str]:
    """Every ``s3Location.uri`` referenced inside a request body."""
    if isinstance(node, dict):
        loc = node.get("s3Location")
        if isinstance(loc, dict) and isinstance(loc.get("uri"), str):
            yield loc["uri"]
        for value in node.values():
            yield from iter_s3_locations(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_s3_locations(item)


#: A prompt's images, decoded: (format, base64) pairs.
Images = Sequence[tuple[str, str]]


class ClientFamily(abc.ABC):
    """One request family (or the Converse API) as the client knows it.

    Subclasses set :attr:`name` (and :attr:`invocation_type` for a family of another
    invocation type than InvokeModel) and implement every abstract method. Bodies handed to the
    checks and readers are decoded JSON: a body is a dict, an output is whatever the line held.
    """

    #: The family's name, as the catalogue's ``ModelInfo.family`` spells it.
    name: str = ""
    #: The model invocation type whose bodies this family builds and reads.
    invocation_type: str = "InvokeModel"
    #: True for an embeddings family (no prompts, no Converse).
    embedding: bool = False
    #: Stop reasons that mean the answer was cut short (a structured answer is then invalid
    #: before it is parsed: the JSON may be incomplete).
    truncated_stop_reasons: frozenset[str] = frozenset({"max_tokens", "length"})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.invocation_type})>"

    # -- building bodies ---------------------------------------------------------------------

    @abc.abstractmethod
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
        """A single-turn text-generation body (the prompt is a non-blank string, the images
        decoded); a :class:`ValidationError` when the family cannot express it."""

    @abc.abstractmethod
    def build_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
    ) -> dict[str, Any]:
        """An embeddings body; a :class:`ValidationError` for a text-generation family."""

    def add_documents(self, body: dict[str, Any], documents: Sequence[S3Media]) -> dict[str, Any]:
        """``body`` with documents read from S3 added to its (first) user turn. A slot."""
        raise not_yet(self, "documents by s3Location")

    def add_videos(self, body: dict[str, Any], videos: Sequence[S3Media]) -> dict[str, Any]:
        """``body`` with videos read from S3 added to its (first) user turn. A slot."""
        raise not_yet(self, "video by s3Location")

    def native_structured_output(
        self, schema: dict[str, Any], name: str, model: ModelInfo | None
    ) -> dict[str, Any]:
        """The request fields of Bedrock's own structured outputs (for a model whose
        ``native_structured_outputs`` column is True). A slot."""
        raise not_yet(self, "native structured output")

    def requested_format(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        """(name, schema) when a body asks for a native structured output, else None."""
        return None

    def strict_tool(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields of :meth:`forced_tool` with the tool marked strict (its input then
        follows the schema, facts §12.3). A slot."""
        raise not_yet(self, "strict tool use")

    def add_cache_point(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        """``body`` with a prompt-cache marker after its system text (``where="system"``) or
        after its (first) user turn (``"prompt"``), facts §12.4. A slot."""
        raise not_yet(self, "prompt caching")

    def embedding_purpose(self, body: dict[str, Any], purpose: str) -> dict[str, Any]:
        """An embeddings body with its purpose set (Nova multimodal embeddings). A slot."""
        raise not_yet(self, "an embedding purpose")

    # -- checking bodies ---------------------------------------------------------------------

    @abc.abstractmethod
    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        """The message Bedrock would give this body, or None when it is valid. ``model`` None:
        an unknown model of this family; ``on_demand``: as bedrock-runtime takes it."""

    @abc.abstractmethod
    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        """The output-token ceiling a body asks for (``default`` when it names none)."""

    def s3_locations(self, body: Any) -> Iterator[str]:
        """The ``s3Location`` URIs a body references (none, unless the family has them)."""
        return iter(())

    # -- forced tools ------------------------------------------------------------------------

    @abc.abstractmethod
    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        """The request fields that make the model answer by calling ``name`` with ``schema``;
        a :class:`ValidationError` when the family has no forced tool in a batch job."""

    @abc.abstractmethod
    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        """(tool name, schema) when a body forces a tool, else None."""

    # -- reading outputs ---------------------------------------------------------------------

    @abc.abstractmethod
    def output_text(self, output: Any) -> str | None:
        """The generated text of a ``modelOutput``; None for embeddings or no output."""

    @abc.abstractmethod
    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        """(whether the model called tool ``name``, the input it gave it)."""

    def output_reasoning(self, output: Any) -> str | None:
        """The model's reasoning text, where the family's output carries it apart from the
        answer (gpt-oss's leading ``<reasoning>`` block); None otherwise."""
        return None

    @abc.abstractmethod
    def stop_reason(self, output: Any) -> str | None:
        """Why the model stopped, in the family's own words; None when not said."""

    @abc.abstractmethod
    def output_embedding(self, output: Any) -> list[float] | None:
        """The float embedding of a ``modelOutput``; None for text generation."""

    @abc.abstractmethod
    def output_usage(self, output: Any) -> Usage:
        """Token usage of a ``modelOutput``; ``known=False`` when it carries no counts."""

    # -- plans -------------------------------------------------------------------------------

    def estimate_tokens(self, text: str) -> int:
        """A cheap, deterministic input-token estimate of a prompt's text, for plans."""
        return estimate_tokens(text)


class TextGenerationFamily(ClientFamily):
    """A text-generation family: it builds no embeddings (``add_embedding`` is refused)."""

    def build_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
    ) -> dict[str, Any]:
        raise not_embedding()


class EmbeddingFamily(ClientFamily):
    """An embeddings family: no output-token ceiling, no tools, no text, no stop reason."""

    embedding = True

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return 0

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        raise no_forced_tool(self)

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        return None

    def output_text(self, output: Any) -> str | None:
        return None

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        return None


def mapping(value: Any) -> Mapping[str, Any] | None:
    """``value`` when it is a mapping, else None (outputs are decoded JSON of any shape)."""
    return value if isinstance(value, Mapping) else None


def no_forced_tool(family: ClientFamily) -> ValidationError:
    """The error of a family that cannot be made to answer with a tool in a batch job."""
    return ValidationError(
        f"the {family.name or 'unknown'} family cannot be made to answer with a tool in a batch "
        "job; structured outputs need Claude or Nova (InvokeModel), or the Converse API on demand"
    )


def not_embedding() -> ValidationError:
    """The error of ``add_embedding`` on a text-generation family."""
    return ValidationError("add_embedding() needs an embedding model (Titan embeddings)")


def first(output: Any, key: str) -> Mapping[str, Any] | None:
    """``output[key][0]`` when ``output`` is a mapping and that is a mapping, else None."""
    items = output.get(key) if isinstance(output, Mapping) else None
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return items[0]
    return None

"""Request bodies in each model family's native format (or Converse's), for ``add_prompt`` and
``add_embedding``: the checks every family shares, then the family's own builder (through the
registry). Pure functions: a body in, a body out, or a :class:`ValidationError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ValidationError
from ._protocol import ClientFamily, Image, decode_image
from ._unknown import family_or_unknown

__all__ = ["Image", "build_embedding", "build_prompt"]


def build_prompt(
    family: ClientFamily | str | None,
    prompt: str,
    *,
    invocation_type: str = "InvokeModel",
    system: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop_sequences: Sequence[str] | None = None,
    images: Sequence[Image] = (),
    extra: dict[str, Any] | None = None,
    tool: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A single-turn text-generation body in the family's format (or Converse's).

    ``extra`` keys are merged into the body as given (e.g. ``top_k`` for Anthropic, or
    ``additionalModelRequestFields`` for Converse); ``tool`` holds the fields of a forced tool
    (:func:`bedrock_batch._families._structured.forced_tool`).
    """
    if not isinstance(prompt, str) or not prompt or prompt.isspace():
        raise ValidationError("the prompt must be a non-empty string")
    stops = list(stop_sequences) if stop_sequences else None
    imgs = [decode_image(i) for i in images] if images else []
    body = family_or_unknown(family, invocation_type).build_prompt(
        prompt, system=system, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
        stop_sequences=stops, images=imgs,
    )  # fmt: skip
    if tool:
        body.update(tool)
    if extra:
        body.update(extra)
    return body


def build_embedding(
    family: ClientFamily | str | None,
    text: str | None = None,
    *,
    image: Image | None = None,
    dimensions: int | None = None,
    normalize: bool | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """An embeddings body for an embedding family (Titan Text Embeddings V2, Titan Multimodal
    Embeddings G1, Nova multimodal embeddings; ``purpose`` for Nova's)."""
    impl = family_or_unknown(family)
    body = impl.build_embedding(text, image=image, dimensions=dimensions, normalize=normalize)
    return body if purpose is None else impl.embedding_purpose(body, purpose)

"""Reading a ``modelOutput``: its text, embedding, stop reason and token usage, by the family
that wrote it (through the registry; an unknown model's output is read by whichever registered
family recognises its shape)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._protocol import ClientFamily
from ._unknown import family_or_unknown
from ._usage import NO_USAGE, UNKNOWN_USAGE, Usage

__all__ = [
    "NO_USAGE",
    "UNKNOWN_USAGE",
    "Usage",
    "output_embedding",
    "output_stop_reason",
    "output_text",
    "output_usage",
]


def output_text(
    output: Mapping[str, Any] | None,
    family: ClientFamily | str | None = None,
    invocation_type: str = "InvokeModel",
) -> str | None:
    """The generated text of a ``modelOutput``; None for embeddings or no output."""
    return family_or_unknown(family, invocation_type).output_text(output)


def output_embedding(
    output: Mapping[str, Any] | None,
    family: ClientFamily | str | None = None,
    invocation_type: str = "InvokeModel",
) -> list[float] | None:
    """The float embedding of an embeddings ``modelOutput``; None otherwise."""
    return family_or_unknown(family, invocation_type).output_embedding(output)


def output_stop_reason(
    output: Mapping[str, Any] | None,
    family: ClientFamily | str | None = None,
    invocation_type: str = "InvokeModel",
) -> str | None:
    """Why the model stopped, in its family's words; None when the output does not say."""
    return family_or_unknown(family, invocation_type).stop_reason(output)


def output_usage(
    output: Mapping[str, Any] | None,
    family: ClientFamily | str | None = None,
    invocation_type: str = "InvokeModel",
) -> Usage:
    """Token usage of a ``modelOutput`` (``known=False`` when it carries no counts)."""
    if not isinstance(output, Mapping):
        return NO_USAGE
    return family_or_unknown(family, invocation_type).output_usage(
        output if type(output) is dict else dict(output)
    )

"""What a responder is told about one record, and how it reports a per-record failure.

A *responder* is any callable ``(RecordContext) -> dict`` returning the ``modelOutput`` for
one record (or the bedrock-runtime response body), or raising :class:`RecordError` for a
per-record failure. These types are shared by the families, the responders and the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..._catalog import ModelInfo
from .._encoding import ENCODER, input_digest
from ._prompt_cache import PromptCache

__all__ = ["RecordContext", "RecordError", "Responder"]


def _digest_of(ctx: RecordContext) -> int:
    return input_digest(ENCODER.encode(ctx.model_input).encode("utf-8"))


@attrs.frozen
class RecordContext:
    """What a responder is told about one record (or one bedrock-runtime call)."""

    record_id: str
    model_id: str
    model: ModelInfo
    invocation_type: str
    model_input: Mapping[str, Any]
    #: True on bedrock-runtime (InvokeModel / Converse), False for a batch record.
    on_demand: bool = False
    #: A deterministic 32-bit digest of ``model_input`` (the same input gives the same seed
    #: in batch and on bedrock-runtime), for responders that want reproducible variety.
    seed: int = attrs.field(default=attrs.Factory(_digest_of, takes_self=True))
    #: The prompt cache in effect (None: cache markers are accepted but not accounted for).
    cache: PromptCache | None = None


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

"""What an emulated model family is: one protocol, implemented once per family.

A family knows its own request rules (written from the facts, never imported from the client),
its synthetic answers in its response schema, its usage accounting, and what the data plane
needs of its bodies. Families are found by :mod:`._registry`; the Converse API is one shared
family used for every model when the invocation type is ``Converse``.

Adding a family to Local Bedrock: write a module with a class implementing
:class:`EmulatedFamily`, register an instance (the built-ins are registered by
:mod:`._registry`), add its catalogue rows (``bedrock_batch._catalog``) and its golden cases
(``tests/golden_bodies.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from ..._catalog import ModelInfo
from ._context import RecordContext

__all__ = ["EmulatedFamily"]


@runtime_checkable
class EmulatedFamily(Protocol):
    """One emulated model family (or the shared Converse family)."""

    #: The family's name: ``ModelInfo.family`` of its catalogue rows (``"converse"`` for Converse).
    name: str

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """Refuse ``body`` like the model does: raise ``Refusal`` with the service's message.

        ``on_demand`` tells bedrock-runtime (True) from a batch record (False).
        """

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """The synthetic model's answer, in the family's response schema (text, tool use or
        structured JSON from a schema, as the request asks)."""

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """A batch fast path: :meth:`answer` already encoded as compact JSON, with its input and
        output tokens; None when the family has no fast path for this request."""

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """(input tokens, output tokens) of an answer ``output`` given to ``body``: the
        manifest's counts and the runtime's token headers."""

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """The ``s3://`` URIs of the objects ``body`` references, which must exist."""

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """An answer as a batch output line's ``modelOutput`` writes it."""

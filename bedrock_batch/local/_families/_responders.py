"""Responders: who answers a record. The synthetic models are the default.

A *responder* is any callable ``(RecordContext) -> dict`` returning the ``modelOutput`` for
one record (or the bedrock-runtime response body), or raising :class:`RecordError` for a
per-record failure. Local Bedrock checks the request against the family's rules first
(``validate_inputs=True``), then calls the responder. For Converse, responders return the
runtime Converse response; the batch writer adds the null union members Bedrock writes in
batch output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._context import RecordContext, RecordError, Responder
from ._registry import UnknownFamily, family_for

__all__ = ["RecordContext", "RecordError", "Responder", "constant", "synthetic"]


def synthetic(ctx: RecordContext) -> dict[str, Any]:
    """The default responder: a deterministic answer in the model family's response schema.

    Text is drawn from a fixed vocabulary by the input's digest; a forced tool
    (Anthropic ``tool_choice`` ``any`` / ``tool``, Converse and Nova ``toolChoice``, Mistral
    ``tool_choice`` ``any``) is answered with a tool call whose input is generated from the
    tool's JSON schema, with stop reason ``tool_use``; token counts are plausible. The answer
    is the registered family's (``EmulatedFamily.answer``).
    """
    try:
        family = family_for(ctx.model, ctx.invocation_type)
    except UnknownFamily as err:
        raise RecordError(400, str(err)) from err
    return family.answer(ctx)


def constant(model_output: Mapping[str, Any]) -> Responder:
    """A responder that answers every record with the same ``modelOutput``."""
    frozen = json.loads(json.dumps(model_output))

    def respond(ctx: RecordContext) -> dict[str, Any]:
        return json.loads(json.dumps(frozen))  # type: ignore[no-any-return]

    return respond

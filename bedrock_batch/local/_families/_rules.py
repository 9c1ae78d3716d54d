"""Local Bedrock's request rules: which ``modelInput`` a model accepts.

:func:`check_body` is the one entry point, used for every batch record (a refusal becomes the
record's 400 error line) and every bedrock-runtime call (a ``ValidationException``). The rules
are each family's own (its ``check``, found through :mod:`._registry`), written from the facts
and the models' documented request formats; the client has its own copy
(``bedrock_batch._families``), and ``tests/golden_bodies.py`` holds both to the same table of
cases.
"""

from __future__ import annotations

from typing import Any

from ..._catalog import ModelInfo
from ._registry import family_for
from ._rules_common import Refusal, malformed

__all__ = ["check_body"]


def check_body(
    body: Any, model: ModelInfo, invocation_type: str, *, on_demand: bool = False
) -> str | None:
    """The model's message refusing ``body``, or None when it is accepted.

    ``invocation_type`` is ``"InvokeModel"`` or ``"Converse"``; ``on_demand`` tells
    bedrock-runtime (True) from a batch record (False). Raises ``UnknownFamily`` when no
    family is registered for the model.
    """
    family = family_for(model, invocation_type)
    try:
        if not isinstance(body, dict):
            raise malformed("#", "expected type: JSONObject")
        family.check(body, model, on_demand=on_demand)
    except Refusal as refusal:
        return str(refusal)
    return None

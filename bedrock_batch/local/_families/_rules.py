"""Local Bedrock's per-family request rules: which ``modelInput`` a model accepts.

:func:`check_body` is the one entry point, used for every batch record (a refusal becomes the
record's 400 error line) and every bedrock-runtime call (a ``ValidationException``). The rules
are the emulator's own, written from the facts and the models' documented request formats; the
client has its own copy (``bedrock_batch._families._schemas``), and ``tests/golden_bodies.py`` holds both
to the same table of cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._rules_anthropic import check_anthropic
from ._rules_common import Refusal, malformed
from ._rules_invoke import (
    check_llama,
    check_mistral,
    check_titan_embed_image,
    check_titan_embed_text,
    check_titan_text,
)
from ._rules_messages import check_converse, check_nova

__all__ = ["check_body", "s3_locations"]

_InvokeRule = Callable[[Mapping[str, Any], "ModelInfo | None"], None]
_INVOKE_RULES: dict[str, _InvokeRule] = {
    "anthropic": check_anthropic,
    "titan-text": check_titan_text,
    "titan-embed-text": check_titan_embed_text,
    "titan-embed-image": check_titan_embed_image,
    "llama": check_llama,
    "mistral": check_mistral,
    "nova": check_nova,
}


def check_body(
    body: Any, model: ModelInfo, invocation_type: str, *, on_demand: bool = False
) -> str | None:
    """The model's message refusing ``body``, or None when it is accepted.

    ``invocation_type`` is ``"InvokeModel"`` or ``"Converse"``; ``on_demand`` tells
    bedrock-runtime (True) from a batch record (False).
    """
    try:
        if not isinstance(body, dict):
            raise malformed("#", "expected type: JSONObject")
        if invocation_type == "Converse":
            check_converse(body, model, on_demand=on_demand)
        else:
            _INVOKE_RULES[model.family](body, model)
    except Refusal as refusal:
        return str(refusal)
    return None


def s3_locations(node: Any) -> Iterator[str]:
    """Every ``s3Location.uri`` a body references (Nova and Converse images, videos, documents)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            location = item.get("s3Location")
            if isinstance(location, dict) and isinstance(location.get("uri"), str):
                yield location["uri"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)

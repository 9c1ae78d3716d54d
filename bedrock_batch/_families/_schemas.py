"""The request rules of each model family, as Bedrock applies them to ``modelInput``: the
dispatch to the family's own check (:meth:`ClientFamily.check
<bedrock_batch._families._protocol.ClientFamily.check>`), through the registry.

Used by the client before anything is uploaded ("fail before you pay"). The messages mimic the
service's wording where it is known (see ``bedrock-facts.md`` §2 and §7).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._catalog import ModelInfo
from ._anthropic import ANTHROPIC_VERSION
from ._protocol import ClientFamily, iter_s3_locations
from ._unknown import family_or_unknown

__all__ = [
    "ANTHROPIC_VERSION",
    "check_model_input",
    "input_text",
    "iter_s3_locations",
    "requested_output_tokens",
]


def check_model_input(
    model_input: Any,
    family: ClientFamily | str | None,
    *,
    invocation_type: str = "InvokeModel",
    model: ModelInfo | None = None,
    on_demand: bool = False,
) -> str | None:
    """Return the message Bedrock would give this ``modelInput``, or None when it is valid.

    ``family`` (a family or its name) None with InvokeModel means "unknown model": only the
    JSON-object shape is checked. ``on_demand`` checks a Converse body as bedrock-runtime takes
    it (tool use allowed) rather than as a batch record.
    """
    if not isinstance(model_input, dict):
        return "Malformed input request: #: expected type: JSONObject, please reformat your input and try again."
    return family_or_unknown(family, invocation_type).check(model_input, model, on_demand=on_demand)


def requested_output_tokens(
    model_input: Any,
    family: ClientFamily | str | None,
    *,
    invocation_type: str = "InvokeModel",
    default: int = 4096,
) -> int:
    """The output-token ceiling a request asks for (``default`` when it names none)."""
    if not isinstance(model_input, dict):
        return default
    return family_or_unknown(family, invocation_type).requested_output_tokens(model_input, default)


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "prompt", "inputText", "content", "system") or isinstance(
                value, (dict, list)
            ):
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def input_text(model_input: Any) -> str:
    """All prompt text of a request body (messages, system, prompt, inputText), joined."""
    return "\n".join(_texts(model_input))

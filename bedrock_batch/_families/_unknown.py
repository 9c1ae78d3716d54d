"""The stand-in for a model no registered family knows (``allow_unknown_model=True``).

It builds nothing (a complete ``modelInput`` goes in with ``add()``), checks only that a body is
a JSON object, and reads an output with whichever registered family recognises its shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .._catalog import ModelInfo
from .._errors import ValidationError
from ._protocol import ClientFamily, Image, Images, no_forced_tool, not_embedding
from ._registry import family_for, get, registered
from ._usage import UNKNOWN_USAGE, Usage

__all__ = ["UNKNOWN", "UnknownFamily", "family_or_unknown"]

_T = TypeVar("_T")


def _first_found(read: Callable[[ClientFamily], _T | None]) -> _T | None:
    for family in registered():
        found = read(family)
        if found is not None:
            return found
    return None


class UnknownFamily(ClientFamily):
    """A model no registered family knows: no builders, no rules, outputs read by shape."""

    name = ""

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
        raise ValidationError(
            "unknown model family: pass a complete modelInput with add(), or use invocation_type='Converse'"
        )

    def build_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
    ) -> dict[str, Any]:
        raise not_embedding()

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return None  # only the JSON-object shape is known (checked by the caller)

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        return default

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        raise no_forced_tool(self)

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        return _first_found(lambda f: f.requested_tool(body))

    def requested_format(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        return _first_found(lambda f: f.requested_format(body))

    def output_text(self, output: Any) -> str | None:
        return _first_found(lambda f: f.output_text(output))

    def output_reasoning(self, output: Any) -> str | None:
        return _first_found(lambda f: f.output_reasoning(output))

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        found = _first_found(lambda f: f.tool_input(output, name) if f.tool_input(output, name)[0] else None)  # fmt: skip
        return found if found is not None else (False, None)

    def stop_reason(self, output: Any) -> str | None:
        return _first_found(lambda f: f.stop_reason(output))

    def output_embedding(self, output: Any) -> list[float] | None:
        return _first_found(lambda f: f.output_embedding(output))

    def output_usage(self, output: Any) -> Usage:
        found = _first_found(lambda f: u if (u := f.output_usage(output)).known else None)
        return found if found is not None else UNKNOWN_USAGE


#: The one unknown family.
UNKNOWN = UnknownFamily()


def family_or_unknown(
    family: ClientFamily | str | None, invocation_type: str = "InvokeModel"
) -> ClientFamily:
    """A family object for a family, a family name, or None (the unknown family), under
    ``invocation_type`` (Converse has one family for every model)."""
    if invocation_type != "InvokeModel":
        shared = family_for("", invocation_type)
        if shared is not None:
            return shared
    if isinstance(family, ClientFamily):
        return family
    if family:
        return get(family) or UNKNOWN
    return UNKNOWN

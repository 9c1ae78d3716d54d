"""Building blocks of the per-family request rules: how each family phrases a refusal.

Two styles exist in the service's answers (``bedrock-facts.md`` §2, §7):

- Anthropic's pydantic-style ``"<location>: <message>"`` (e.g. ``anthropic_version: Field
  required``, ``modelId: Extra inputs are not permitted``);
- the JSON-schema style of the Amazon, Meta and Mistral bodies, ``"Malformed input request:
  #/<path>: <message>, please reformat your input and try again."``.

A rule raises :class:`Refusal` with the final message; the entry points turn it into a string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..._catalog import ModelInfo

__all__ = [
    "Refusal",
    "ceiling",
    "json_object",
    "is_integer",
    "is_number",
    "malformed",
    "schema_extra",
    "schema_integer",
    "schema_number",
    "schema_required",
    "schema_string",
    "schema_strings",
]


class Refusal(Exception):
    """A request the model refuses; ``str()`` is the service's message."""


def is_number(v: Any) -> bool:
    """A JSON number (booleans are not numbers)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_integer(v: Any) -> bool:
    """A JSON integer."""
    return isinstance(v, int) and not isinstance(v, bool)


def malformed(where: str, what: str) -> Refusal:
    """A JSON-schema-style refusal at ``where`` (``#``, ``#/messages/0``, ...)."""
    return Refusal(
        f"Malformed input request: {where}: {what}, please reformat your input and try again."
    )


def _json_type(v: Any) -> str:
    return type(v).__name__


def schema_required(body: Mapping[str, Any], keys: Iterable[str], where: str = "#") -> None:
    """Every key of ``keys`` must be present."""
    for key in keys:
        if key not in body:
            raise malformed(where, f"required key [{key}] not found")


def schema_extra(body: Mapping[str, Any], allowed: frozenset[str], where: str = "#") -> None:
    """No key outside ``allowed``."""
    for key in body:
        if key not in allowed:
            raise malformed(where, f"extraneous key [{key}] is not permitted")


def schema_string(body: Mapping[str, Any], key: str, where: str = "#") -> None:
    """``key``, when present, is a non-blank string."""
    if key not in body:
        return
    value = body[key]
    if not isinstance(value, str):
        raise malformed(f"{where}/{key}", f"expected type: String, found: {_json_type(value)}")
    if not value.strip():
        raise malformed(f"{where}/{key}", "expected minLength: 1, actual: 0")


def schema_strings(body: Mapping[str, Any], key: str, where: str = "#") -> None:
    """``key``, when present, is a list of strings."""
    value = body.get(key)
    if key in body and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        raise malformed(f"{where}/{key}", "expected type: JSONArray of String")


def _range(value: float, lo: float, hi: float, at: str) -> None:
    if value < lo:
        raise malformed(at, f"{value} is not greater or equal to {lo:g}")
    if value > hi:
        raise malformed(at, f"{value} is not less or equal to {hi:g}")


def schema_number(
    body: Mapping[str, Any], key: str, lo: float, hi: float, where: str = "#"
) -> None:
    """``key``, when present, is a number within [lo, hi]."""
    if key not in body:
        return
    value = body[key]
    if not is_number(value):
        raise malformed(f"{where}/{key}", f"expected type: Number, found: {_json_type(value)}")
    _range(value, lo, hi, f"{where}/{key}")


def schema_integer(
    body: Mapping[str, Any], key: str, lo: float, hi: float, where: str = "#"
) -> None:
    """``key``, when present, is an integer within [lo, hi]."""
    if key not in body:
        return
    value = body[key]
    if not is_integer(value):
        raise malformed(f"{where}/{key}", f"expected type: Integer, found: {_json_type(value)}")
    _range(value, lo, hi, f"{where}/{key}")


def ceiling(model: ModelInfo | None, default: int) -> int:
    """The model's output-token ceiling (``default`` when the model is not known)."""
    return model.max_output_tokens if model is not None else default


def json_object(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``body[key]`` (``{}`` when absent), which must be a JSON object."""
    value = body.get(key, {})
    if not isinstance(value, dict):
        raise malformed(f"#/{key}", "expected type: JSONObject")
    return value

"""Building blocks of the request rules in the family modules (``_anthropic``, ``_converse``,
``_titan_text``...): the error a checker raises and the JSON-Schema-style checks of fields
(required, extra, numbers and strings), worded as Bedrock words them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .._catalog import ModelInfo

#: A tool's name, in Anthropic ``tools`` and Converse ``toolSpec`` alike.
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class _Bad(Exception):
    """Raised inside a checker with the message to report."""


def _malformed(msg: str) -> _Bad:
    return _Bad(f"Malformed input request: {msg}, please reformat your input and try again.")


def _schema_required(body: Mapping[str, Any], *keys: str, path: str = "#") -> None:
    for key in keys:
        if key not in body:
            raise _malformed(f"{path}: required key [{key}] not found")


def _schema_extra(body: Mapping[str, Any], allowed: frozenset[str], path: str = "#") -> None:
    for key in body:
        if key not in allowed:
            raise _malformed(f"{path}: extraneous key [{key}] is not permitted")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _schema_num(
    body: Mapping[str, Any],
    key: str,
    lo: float,
    hi: float,
    *,
    integer: bool = False,
    path: str = "#",
) -> None:
    if key not in body:
        return
    v = body[key]
    if not (_is_int(v) if integer else _is_num(v)):
        kind = "Integer" if integer else "Number"
        raise _malformed(f"{path}/{key}: expected type: {kind}, found: {type(v).__name__}")
    if v < lo:
        raise _malformed(f"{path}/{key}: {v} is not greater or equal to {lo:g}")
    if v > hi:
        raise _malformed(f"{path}/{key}: {v} is not less or equal to {hi:g}")


def _schema_str(
    body: Mapping[str, Any], key: str, *, path: str = "#", nonempty: bool = True
) -> None:
    if key not in body:
        return
    v = body[key]
    if not isinstance(v, str):
        raise _malformed(f"{path}/{key}: expected type: String, found: {type(v).__name__}")
    if nonempty and not v.strip():
        raise _malformed(f"{path}/{key}: expected minLength: 1, actual: 0")


def _schema_str_list(body: Mapping[str, Any], key: str, *, path: str = "#") -> None:
    if key in body and (
        not isinstance(body[key], list) or not all(isinstance(s, str) for s in body[key])
    ):
        raise _malformed(f"{path}/{key}: expected type: JSONArray of String")


def run_rules(
    rules: Callable[[Mapping[str, Any], ModelInfo | None], str | None],
    body: Mapping[str, Any],
    model: ModelInfo | None,
) -> str | None:
    """A family's rules as its ``check`` returns them: the first problem's message, or None."""
    try:
        return rules(body, model)
    except _Bad as bad:
        return str(bad)

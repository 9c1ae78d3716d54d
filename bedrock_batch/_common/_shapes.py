"""Request validation driven by botocore's own service model.

botocore checks required keys, types and minimums on the client, but neither maximums nor
patterns; the service does. This module applies *all* of the model's constraints, the way the
service does, and phrases the result like AWS ("1 validation error detected: Value 'x' at
'jobName' failed to satisfy constraint: ..."). Clients that skip client-side validation (the
AWS CLI with ``--no-validate``, other languages' SDKs, raw HTTP) get the same answer.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from botocore.model import OperationModel, Shape, StructureShape

__all__ = ["constraint_violations", "pattern_fullmatch"]

# The service model's jobName pattern, ``[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}``, is
# ambiguous (``-`` matches both ``-*`` and the class) and backtracks exponentially in Python's
# engine. Within the 63-character maximum it accepts exactly this language:
_SAFE_PATTERNS = {
    r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}": r"[a-zA-Z0-9][a-zA-Z0-9+\-.]{0,125}",
    r"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}": r"[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*",
}


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_SAFE_PATTERNS.get(pattern, pattern))


def pattern_fullmatch(pattern: str, value: str) -> bool:
    """Whether ``value`` matches a service-model pattern (the whole value, as the service checks)."""
    return _compiled(pattern).fullmatch(value) is not None


def _fmt(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _walk(shape: Shape, value: Any, path: str, out: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            out.append(f"Value at '{path}' failed to satisfy constraint: Member must be an object")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                where = f"{path}.{name}" if path else name
                out.append(
                    f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
                )
        if shape.metadata.get("union"):
            present = [k for k in shape.members if value.get(k) is not None]
            if len(present) != 1:
                out.append(
                    f"Value at '{path}' failed to satisfy constraint: "
                    "Member must have exactly one member set"
                )
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _walk(member, value[name], f"{path}.{name}" if path else name, out)
        return
    if kind == "list":
        if not isinstance(value, list):
            out.append(f"Value at '{path}' failed to satisfy constraint: Member must be a list")
            return
        for key, word in (("min", "greater than or equal to"), ("max", "less than or equal to")):
            if key in meta and (len(value) < meta[key] if key == "min" else len(value) > meta[key]):
                out.append(
                    f"Value '{_fmt(value)}' at '{path}' failed to satisfy constraint: "
                    f"Member must have length {word} {meta[key]}"
                )
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}.{i + 1}.member", out)  # type: ignore[attr-defined]
        return
    if kind == "string":
        if not isinstance(value, str):
            out.append(f"Value at '{path}' failed to satisfy constraint: Member must be a string")
            return
        if "min" in meta and len(value) < meta["min"]:
            out.append(
                f"Value '{_fmt(value)}' at '{path}' failed to satisfy constraint: "
                f"Member must have length greater than or equal to {meta['min']}"
            )
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                f"Value '{_fmt(value)}' at '{path}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {meta['max']}"
            )
            return  # a pattern check on an over-long value says nothing more
        if "enum" in meta and value not in meta["enum"]:
            out.append(
                f"Value '{_fmt(value)}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]"
            )
        if "pattern" in meta and not pattern_fullmatch(meta["pattern"], value):
            out.append(
                f"Value '{_fmt(value)}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {meta['pattern']}"
            )
        return
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"Value at '{path}' failed to satisfy constraint: Member must be a number")
            return
        if "min" in meta and value < meta["min"]:
            out.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            out.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {meta['max']}"
            )
        return
    if kind == "boolean" and not isinstance(value, bool):
        out.append(f"Value at '{path}' failed to satisfy constraint: Member must be a boolean")
    if kind == "timestamp" and not isinstance(value, (dt.datetime, int, float)):
        out.append(f"Value at '{path}' failed to satisfy constraint: Member must be a timestamp")


def constraint_violations(operation: OperationModel, params: dict[str, Any]) -> str | None:
    """The service's ValidationException message for these parameters, or None when valid."""
    shape = operation.input_shape
    if shape is None:
        return None
    out: list[str] = []
    _walk(shape, params, "", out)
    if not out:
        return None
    noun = "error" if len(out) == 1 else "errors"
    return f"{len(out)} validation {noun} detected: " + "; ".join(out)

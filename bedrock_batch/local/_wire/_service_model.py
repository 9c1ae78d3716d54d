"""The service's own request checks, driven by botocore's service model as data.

botocore validates required members, types, unions and minimums on the client, but neither
maximums nor patterns nor enums; the service does, and so does Local Bedrock. Clients that skip
client-side validation (the AWS CLI with ``--no-validate``, other SDKs, raw HTTP) get the same
answer as boto3 users. Messages follow AWS's form::

    1 validation error detected: Value 'bad name!' at 'jobName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: [a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\\+\\-\\.]){0,63}
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

__all__ = ["check_request", "matches_pattern", "operation"]

#: Patterns of the service model that backtrack exponentially in Python's engine, with
#: equivalent linear ones. ``jobName``'s ``(-*[...\-...])`` can match a ``-`` two ways.
_EQUIVALENT_PATTERNS = {
    r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}": r"[a-zA-Z0-9][a-zA-Z0-9+\-.]{0,125}",
    r"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}": r"[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*",
}


@lru_cache(maxsize=8)
def _service(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> OperationModel:
    """botocore's model of one operation (cached)."""
    return _service(service).operation_model(name)  # type: ignore[no-any-return]


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(_EQUIVALENT_PATTERNS.get(pattern, pattern))
    except re.error:  # a Java-only construct: the service would check it, we cannot
        return None


def matches_pattern(pattern: str, value: str) -> bool:
    """Whether the whole ``value`` matches a service-model pattern."""
    rx = _regex(pattern)
    return rx is None or rx.fullmatch(value) is not None


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


class _Walker:
    """Collects every violation of one request, depth first, in member order."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def fail(self, value: Any, path: str, constraint: str, *, show_value: bool = True) -> None:
        shown = f"Value '{_show(value)}' at" if show_value else "Value at"
        if value is None:
            shown = "Value null at"
        self.found.append(f"{shown} '{path}' failed to satisfy constraint: {constraint}")

    def walk(self, shape: Shape, value: Any, path: str) -> None:
        check = self._BY_TYPE.get(shape.type_name)
        if check is not None:
            check(self, shape, value, path)

    def structure(self, shape: Shape, value: Any, path: str) -> None:
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            self.fail(value, path, "Member must be a structure", show_value=False)
            return
        for name in shape.required_members:
            if value.get(name) is None:
                self.fail(None, _join(path, name), "Member must not be null")
        if shape.metadata.get("union"):
            given = [name for name in shape.members if value.get(name) is not None]
            if len(given) != 1:
                self.fail(value, path, "Member must have exactly one member set", show_value=False)
        for name, member in shape.members.items():
            if value.get(name) is not None:
                self.walk(member, value[name], _join(path, name))

    def list_(self, shape: Shape, value: Any, path: str) -> None:
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            self.fail(value, path, "Member must be a list", show_value=False)
            return
        self._length(shape, value, path)
        for i, item in enumerate(value, start=1):
            self.walk(shape.member, item, f"{path}.{i}.member")

    def map_(self, shape: Shape, value: Any, path: str) -> None:
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            self.fail(value, path, "Member must be a map", show_value=False)
            return
        self._length(shape, value, path)
        for key, item in value.items():
            self.walk(shape.key, key, f"{path}.key")
            self.walk(shape.value, item, f"{path}.{key}")

    def string(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.fail(value, path, "Member must be a string", show_value=False)
            return
        if self._length(shape, value, path):
            return  # a pattern check of a value of the wrong length says nothing more
        meta = shape.metadata
        if "enum" in meta and value not in meta["enum"]:
            members = ", ".join(meta["enum"])
            self.fail(value, path, f"Member must satisfy enum value set: [{members}]")
        if "pattern" in meta and not matches_pattern(meta["pattern"], value):
            self.fail(
                value, path, f"Member must satisfy regular expression pattern: {meta['pattern']}"
            )

    def number(self, shape: Shape, value: Any, path: str) -> None:
        integral = shape.type_name in ("integer", "long")
        ok = isinstance(value, int) if integral else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            self.fail(value, path, "Member must be a number", show_value=False)
            return
        meta = shape.metadata
        if "min" in meta and value < meta["min"]:
            self.fail(value, path, f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            self.fail(value, path, f"Member must have value less than or equal to {meta['max']}")

    def boolean(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self.fail(value, path, "Member must be a boolean", show_value=False)

    def timestamp(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, (dt.datetime, int, float)) or isinstance(value, bool):
            self.fail(value, path, "Member must be a timestamp", show_value=False)

    def blob(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, (str, bytes, bytearray)):
            self.fail(value, path, "Member must be a blob", show_value=False)

    def _length(self, shape: Shape, value: Any, path: str) -> bool:
        meta, size = shape.metadata, len(value)
        noun = "length"
        if "min" in meta and size < meta["min"]:
            self.fail(
                value, path, f"Member must have {noun} greater than or equal to {meta['min']}"
            )
            return True
        if "max" in meta and size > meta["max"]:
            self.fail(value, path, f"Member must have {noun} less than or equal to {meta['max']}")
            return True
        return False

    _BY_TYPE: ClassVar[dict[str, Callable[[_Walker, Shape, Any, str], None]]] = {
        "structure": structure,
        "list": list_,
        "map": map_,
        "string": string,
        "integer": number,
        "long": number,
        "float": number,
        "double": number,
        "boolean": boolean,
        "timestamp": timestamp,
        "blob": blob,
        # "document": any JSON value
    }


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_request(service: str, operation_name: str, params: dict[str, Any]) -> str | None:
    """The ValidationException message for a request, or None when it passes."""
    shape = operation(service, operation_name).input_shape
    if shape is None:
        return None
    walker = _Walker()
    walker.walk(shape, params, "")
    if not walker.found:
        return None
    count = len(walker.found)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(
        walker.found
    )

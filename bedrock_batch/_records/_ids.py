"""Record ids: the default generator, the pattern ids must match, and the inverse of the default
generator (so default ids need no memory: they are computed from their ordinal)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "DEFAULT_RECORD_ID_PATTERN",
    "default_id_factory",
    "default_ordinal",
    "id_checker",
]

#: Record ids we accept from users. Bedrock's own rule is UNVERIFIED (facts §6): ids with ``_``
#: and ``-`` are known to work; this pattern is deliberately conservative and configurable.
DEFAULT_RECORD_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}"


def default_id_factory(ordinal: int) -> str:
    """``R`` and ten digits: 11 alphanumerics, unique within a job (``R0000000042``)."""
    return f"R{ordinal:010d}"


def default_ordinal(record_id: str) -> int | None:
    """The ordinal :func:`default_id_factory` made ``record_id`` from, or None."""
    if len(record_id) == 11 and record_id[0] == "R" and record_id[1:].isdigit() and record_id.isascii():  # fmt: skip
        return int(record_id[1:])
    return None


def id_checker(pattern: str) -> Callable[[Any], str | None]:
    """A function returning why a record id is invalid, or None."""
    compiled = re.compile(pattern)

    def check(record_id: Any) -> str | None:
        if not isinstance(record_id, str):
            return f"recordId must be a string, not {type(record_id).__name__}"
        if not compiled.fullmatch(record_id):
            return f"recordId {record_id!r} does not match {pattern}"
        return None

    return check

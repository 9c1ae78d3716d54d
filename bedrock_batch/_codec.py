"""JSON on the wire: every encode and decode of the client goes through here. No I/O.

- **Strict encoding.** ``NaN`` and ``Infinity`` are not JSON, and a lone surrogate (``"\\ud800"``)
  cannot be written as UTF-8: both are refused with :class:`EncodeError`, which names the path of
  the offending value, before anything is stored or uploaded.
- **Bedrock's line format.** Compact JSON, raw UTF-8 (no ``\\uXXXX`` escapes), one object per line.
- **Splitting on ``\\n`` only.** Bedrock's text may contain U+2028, U+0085 and other characters
  that :meth:`str.splitlines` treats as line breaks, so lines are split on the byte ``\\n``
  before decoding; that also keeps multi-byte characters that straddle two chunks intact.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = [
    "EncodeError",
    "decode",
    "encode",
    "encode_line",
    "find_invalid",
    "has_lone_surrogate",
    "iter_lines",
    "scrub_surrogates",
]

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_SURROGATE = re.compile("[\ud800-\udfff]")
#: A JSON escape of a surrogate code unit in raw output bytes (``\\ud83d`` and the like).
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class EncodeError(ValueError):
    """A value cannot be written as JSON: ``path`` (``$.messages[0].content``) and ``reason``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def find_invalid(obj: Any, path: str = "$") -> tuple[str, str] | None:
    """The first value that is not JSON: ``(path, reason)``, or None.

    Non-finite floats, lone surrogates (in keys and strings), non-string keys and values of
    types JSON does not have.
    """
    stack: list[tuple[str, Any]] = [(path, obj)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return where, "a lone surrogate (not valid Unicode text) in a string"
        elif isinstance(value, bool) or value is None or isinstance(value, int):
            continue
        elif isinstance(value, float):
            if not math.isfinite(value):
                return where, f"{value!r} is not a JSON number (NaN and Infinity are not JSON)"
        elif isinstance(value, dict):
            items = []
            for key, item in value.items():
                if not isinstance(key, str):
                    return where, f"the key {key!r} is not a string"
                if _SURROGATE.search(key):
                    return where, f"the key {key!r} holds a lone surrogate"
                items.append((f"{where}.{key}", item))
            stack.extend(reversed(items))
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed([(f"{where}[{i}]", item) for i, item in enumerate(value)]))
        else:
            return where, f"a value of type {type(value).__name__} is not JSON"
    return None


def encode(obj: Any) -> bytes:
    """Compact JSON as UTF-8; raises :class:`EncodeError` for anything that is not JSON."""
    try:
        return _ENCODER.encode(obj).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError) as err:
        found = find_invalid(obj)
        if found is None:  # pragma: no cover - json refused something find_invalid accepts
            raise EncodeError("$", str(err)) from err
        raise EncodeError(*found) from err


def encode_line(obj: Any) -> bytes:
    """One JSON line the way Bedrock writes them: compact, raw UTF-8, ending in ``\\n``."""
    return encode(obj) + b"\n"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(data: bytes | str) -> Any:
    """Parse one JSON document; raises ``ValueError`` on bad UTF-8 or bad JSON (``NaN`` and
    ``Infinity`` included: Python's parser would accept them)."""
    return json.loads(data, parse_constant=_no_constants)


def has_lone_surrogate(raw: bytes, value: Any) -> bool:
    """Whether a decoded line holds a lone surrogate (checked only when ``raw`` escapes one)."""
    if not _ESCAPED_SURROGATE.search(raw):
        return False
    return find_invalid(value) is not None


def scrub_surrogates(value: Any) -> Any:
    """A copy with every lone surrogate replaced by U+FFFD (so it can be printed and written)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {scrub_surrogates(k): scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_surrogates(v) for v in value]
    return value


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line_bytes)`` from byte chunks, splitting on ``\\n`` only.

    Line numbers are 1-based. Blank lines are skipped (but counted); a last line without a
    trailing newline is still yielded, so a truncated file shows up as one unparseable line
    rather than silently disappearing. ``\\r\\n`` endings are tolerated.
    """
    pending = b""
    number = 0
    for chunk in chunks:
        if not chunk:
            continue
        data = pending + chunk if pending else chunk
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            number += 1
            line = data[start:end]
            if line.endswith(b"\r"):
                line = line[:-1]
            if line.strip():
                yield number, line
            start = end + 1
        pending = data[start:]
    if pending.strip():
        yield number + 1, pending.rstrip(b"\r")

"""JSON on the wire: every encode and decode of the client goes through here. No I/O.

- **One behaviour, the fastest backend.** ``orjson`` or ``msgspec`` when installed (the
  ``fast`` extra), else the standard library; chosen once at import (``BEDROCK_BATCH_JSON`` =
  ``orjson`` | ``msgspec`` | ``json`` forces one). Whatever the backend, the same inputs give the
  same JSON or the same error (number keys become strings, as ``json`` does). The bytes are
  the same too, except the exponent of very large or small floats (``1e-09`` / ``1e-9``).
- **Strict.** ``NaN`` and ``Infinity`` are not JSON and a lone surrogate (``"\\ud800"``) cannot be
  written as UTF-8: :func:`encode` refuses both with :class:`EncodeError`, naming the path of the
  value; :func:`decode` refuses them too (Python's own parser would accept ``NaN``, ``1e999``).
  The fast encoders write NaN as ``null``, so their output is re-checked whenever it holds a
  ``null`` at all (rare in request bodies).
- **Bedrock's line format.** Compact JSON, raw UTF-8 (no ``\\uXXXX`` escapes), one object per line.
- **Splitting on ``\\n`` only.** Bedrock's text may contain U+2028, U+0085 and other characters
  that :meth:`str.splitlines` treats as line breaks, so lines are split on the byte ``\\n``
  before decoding; that also keeps multi-byte characters that straddle two chunks intact.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "BACKEND",
    "EncodeError",
    "decode",
    "decode_unchecked",
    "encode",
    "encode_line",
    "encode_text",
    "find_invalid",
    "has_lone_surrogate",
    "ints_exact",
    "LINE_TOO_LONG",
    "MAX_LINE_BYTES",
    "iter_lines",
    "scrub_surrogates",
]

_STRICT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_SURROGATE = re.compile("[\ud800-\udfff]")
#: A JSON escape of a surrogate code unit in raw bytes (``\\ud83d`` and the like).
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
#: A run of digits long enough to be an integer beyond 64 bits (orjson reads those as floats):
#: found as 19 zeros once every digit is mapped to ``0`` (``translate`` and ``find`` run in C;
#: the regular expression ``[0-9]{19}`` took several times a whole orjson decode).
_DIGITS_TO_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_RUN = b"0" * 19


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
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    return where, f"the key {key!r} is not a string"
                if isinstance(key, str) and _SURROGATE.search(key):
                    return where, f"the key {key!r} holds a lone surrogate"
                items.append((f"{where}.{key}", item))
            stack.extend(reversed(items))
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed([(f"{where}[{i}]", item) for i, item in enumerate(value)]))
        else:
            return where, f"a value of type {type(value).__name__} is not JSON"
    return None


#: What a value nested too deeply to be written or read is told (Python's recursion limit).
TOO_DEEP = "the JSON is nested too deeply (more levels than can be written or read)"


def _refuse(obj: Any, err: BaseException) -> EncodeError:
    if isinstance(err, RecursionError):
        return EncodeError("$", TOO_DEEP)
    found = find_invalid(obj)
    return EncodeError(*found) if found else EncodeError("$", str(err))


def _strict_encode(obj: Any) -> bytes:
    try:
        return _STRICT.encode(obj).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError) as err:
        raise _refuse(obj, err) from err


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def decode_error(err: ValueError) -> str:
    """One short line saying why a decode failed, whatever the backend."""
    if isinstance(err, json.JSONDecodeError):  # orjson's error is one too
        return f"{err.msg} (column {err.colno})"
    text = str(err).splitlines()[0] if str(err) else err.__class__.__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _strict_decode(data: bytes | str) -> Any:
    if not isinstance(data, str):  # one decoder for every call (json.loads builds one each)
        data = bytes(data).decode("utf-8-sig")
    try:
        return _DECODER.decode(data)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


_FALLIBLE = (ValueError, TypeError, UnicodeError, OverflowError, RecursionError)


def _orjson_encode() -> Callable[[Any], bytes] | None:
    try:
        import orjson
    except ImportError:
        return None
    dumps = orjson.dumps
    # Like the standard library: dates, dataclasses and str/int subclasses are not JSON;
    # number keys become strings (the slower option, used only when a body needs it).
    strict = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS  # fmt: skip
    keys = strict | orjson.OPT_NON_STR_KEYS

    def no_default(value: Any) -> Any:
        raise TypeError(f"a value of type {type(value).__name__} is not JSON")

    def encode(obj: Any) -> bytes:
        """Compact JSON as UTF-8; raises :class:`EncodeError` for anything that is not JSON."""
        out: bytes  # typed here: without orjson installed, mypy sees its calls as Any
        try:
            out = dumps(obj, no_default, strict)
        except _FALLIBLE:
            try:
                out = dumps(obj, no_default, keys)  # number keys
            except _FALLIBLE:
                return _strict_encode(obj)  # integers beyond 64 bits; or the exact error
        if b"null" in out:  # orjson writes NaN and Infinity as null: check the slow way
            _strict_encode(obj)
        return out

    return encode


def _msgspec_encode() -> Callable[[Any], bytes] | None:
    try:
        import msgspec
    except ImportError:
        return None
    dumps = msgspec.json.Encoder().encode

    def encode(obj: Any) -> bytes:
        """Compact JSON as UTF-8; raises :class:`EncodeError` for anything that is not JSON."""
        out: bytes  # typed here: without msgspec installed, mypy sees its calls as Any
        try:
            out = dumps(obj)
        except _FALLIBLE:
            return _strict_encode(obj)  # integers beyond 64 bits; or the exact error
        if b"null" in out:  # msgspec writes NaN and Infinity as null: check the slow way
            _strict_encode(obj)
        return out

    return encode


def _strict_encode_public(obj: Any) -> bytes:
    """Compact JSON as UTF-8; raises :class:`EncodeError` for anything that is not JSON."""
    return _strict_encode(obj)


def _select() -> tuple[str, Callable[[Any], bytes], Callable[[bytes | str], Any]]:
    wanted = os.environ.get("BEDROCK_BATCH_JSON", "")
    if wanted in ("", "orjson"):
        encoder = _orjson_encode()
        if encoder is not None:
            import orjson

            return "orjson", encoder, orjson.loads
        if wanted:
            raise ImportError("BEDROCK_BATCH_JSON=orjson, but orjson is not installed")
    if wanted in ("", "msgspec"):
        encoder = _msgspec_encode()
        if encoder is not None:
            import msgspec

            return "msgspec", encoder, msgspec.json.Decoder().decode
        if wanted:
            raise ImportError("BEDROCK_BATCH_JSON=msgspec, but msgspec is not installed")
    return "json", _strict_encode_public, _strict_decode


#: The JSON backend in use: ``orjson``, ``msgspec`` or ``json``.
BACKEND, encode, _fast_decode = _select()


def _text_encoder() -> Callable[[str], bytes]:
    text_encoder: Callable[[str], bytes]  # typed here, whichever backend is installed
    if BACKEND == "orjson":
        import orjson

        text_encoder = orjson.dumps
        return text_encoder
    if BACKEND == "msgspec":
        import msgspec

        text_encoder = msgspec.json.Encoder().encode
        return text_encoder
    from json.encoder import encode_basestring

    return lambda text: encode_basestring(text).encode("utf-8")


_encode_text = _text_encoder()


def encode_text(text: str) -> bytes:
    """A string's JSON escape without its quotes, as :func:`encode` writes it inside a line;
    raises :class:`EncodeError` for a lone surrogate."""
    try:
        return _encode_text(text)[1:-1]
    except _FALLIBLE as err:
        raise _refuse(text, err) from err


def encode_line(obj: Any) -> bytes:
    """One JSON line the way Bedrock writes them: compact, raw UTF-8, ending in ``\\n``."""
    return encode(obj) + b"\n"


def decode(data: bytes | str) -> Any:
    """Parse one JSON document; raises ``ValueError`` on bad UTF-8 or bad JSON (``NaN``,
    ``Infinity`` and numbers beyond a float's range included)."""
    try:
        value = _fast_decode(data)
    except _FALLIBLE:
        if BACKEND == "json":
            raise
    else:
        blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
        if BACKEND != "orjson" or _LONG_RUN not in blob.translate(_DIGITS_TO_ZERO):
            return value
        # orjson turns integers beyond 64 bits into floats: read such a line exactly.
    return _strict_decode(data)  # the same verdict whatever the backend (escaped surrogates)


def decode_unchecked(data: bytes) -> Any:
    """:func:`decode` without its scan for integers beyond 64 bits (which orjson reads as
    floats): for a caller that proves the value exact another way (it re-encodes to ``data``
    itself), or checks :func:`ints_exact` and decodes again."""
    if BACKEND != "orjson":
        return decode(data)
    try:
        return _fast_decode(data)
    except _FALLIBLE:
        return _strict_decode(data)


def ints_exact(data: bytes) -> bool:
    """Whether :func:`decode_unchecked` reads ``data``'s integers exactly (no run of 19 or more
    digits under orjson)."""
    return BACKEND != "orjson" or _LONG_RUN not in data.translate(_DIGITS_TO_ZERO)


def has_lone_surrogate(raw: bytes, value: Any) -> bool:
    """Whether a decoded line holds a lone surrogate (checked only when ``raw`` escapes one)."""
    if b"\\u" not in raw or not _ESCAPED_SURROGATE.search(raw):
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


#: What :func:`iter_lines` yields in place of a line longer than its bound (compare with ``is``;
#: it is not JSON, so a reader that only decodes reports it as an unparseable line).
LINE_TOO_LONG = b"\x00<a line longer than the bound>"

#: The default bound on one line: Bedrock's default input file-size quota (1 GB), so no valid
#: record is refused, while a file with no newline at all is stopped there.
MAX_LINE_BYTES = 1_000_000_000


def iter_lines(
    chunks: Iterable[bytes], max_line: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line_bytes)`` from byte chunks, splitting on ``\\n`` only.

    Line numbers are 1-based. Blank lines are skipped (but counted); a last line without a
    trailing newline is still yielded, so a truncated file shows up as one unparseable line
    rather than silently disappearing. ``\\r\\n`` endings are tolerated. Time is linear in the
    input whatever its line lengths (a file with no newline included). A line longer than
    ``max_line`` bytes is not kept: :data:`LINE_TOO_LONG` is yielded in its place, and the rest
    of that line is skipped without being held in memory.
    """
    parts: list[bytes] = []  # the pending line, in pieces (joined once: no quadratic copies)
    size = 0
    over = False
    number = 0
    for chunk in chunks:
        if not chunk:
            continue
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                piece = chunk[start:]
                if not over:
                    size += len(piece)
                    if size > max_line:
                        over, parts = True, []
                    elif piece:
                        parts.append(piece)
                break
            number += 1
            if over:
                yield number, LINE_TOO_LONG
            else:
                piece = chunk[start:end]
                if size + len(piece) > max_line:
                    yield number, LINE_TOO_LONG
                else:
                    line = b"".join((*parts, piece)) if parts else piece
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    if line and not line.isspace():
                        yield number, line
            parts, size, over = [], 0, False
            start = end + 1
    if over:
        yield number + 1, LINE_TOO_LONG
    elif parts:
        pending = b"".join(parts)
        if pending.strip():
            yield number + 1, pending.rstrip(b"\r")

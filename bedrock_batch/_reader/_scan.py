"""The frame of an output line without decoding its body: its top-level ``recordId``, whether
it is an error, and where its ``modelInput``, ``modelOutput`` and ``error`` values are.

An output line is ``{"modelInput": {...}, "modelOutput": {...}, "recordId": "..."}`` (an
``error`` object in place of ``modelOutput`` when the record failed). The bodies are most of its
bytes and the join needs neither: :func:`scan` finds the top-level keys only, and a body is
decoded when a result's ``text``, ``usage``, ``parsed`` or ``to_dict()`` asks for it.

Two scanners, measured in ``benchmarks/bench_read.py`` (``scan`` case):

- **msgspec, where installed: a typed decode** of the four top-level fields (``msgspec.Raw``
  keeps each body's bytes, validated as JSON but not built). Exact on every line.
- **The standard library: a few byte searches** (orjson has no partial decode, and decoding
  whole lines with it costs more than this). Bedrock puts ``recordId`` last, so a line that
  ends ``"recordId":"<id>"}`` (the ``"`` before the key following ``,`` or ``{``) has it as
  a top-level key: in well-formed JSON the last ``}`` closes the line's object. Its
  ``modelOutput`` is the last ``"modelOutput":`` before it when the brackets between the two
  balance (its value runs up to the recordId: it is a sibling of it), likewise an ``error``.
  No Python loop runs over the bytes: ``rfind``, ``count`` and a slice or two.

Anything out of the ordinary is left to the caller, which decodes the line whole as before
(so the result is the same): ``None`` for a line that is not in that layout (``recordId``
elsewhere, blanks around it), that escapes a code point (``\\u``: it may hold a lone
surrogate, which the join reports), whose recordId is not a string, or, for the byte scan,
that has an ``"error":`` key anywhere but inside its top-level ``modelOutput``.

What neither scan proves is that the bodies are well-formed JSON (that is the decode it saves;
msgspec's skips check the syntax, not the UTF-8 inside strings): a line whose frame is sound
but whose body is not (two values with no comma between them, invalid UTF-8 in a string) is
joined by its frame, and its bodies read as None. Bedrock writes no such line. (A lone
surrogate written as UTF-8 bytes, the one such case a JSON encoder can be led to write, is
checked for: the line is then decoded whole and reported as the decode reports it.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .._common._codec import BACKEND, decode

__all__ = ["ERRORED", "NEITHER", "SCANNER", "SUCCEEDED", "Frame", "body", "scan", "scan_bytes"]

#: The three outcomes a frame can have (the join's statuses, before structured outputs).
SUCCEEDED, ERRORED, NEITHER = 0, 1, 2

#: A scanned line: (recordId, outcome, modelInput, modelOutput, error); each of the last three
#: is None when the line has no such key, else where its value is (a ``slice`` of the line,
#: or the bytes themselves: read it with :func:`body`), or ``...`` when only a decode of the
#: whole line can say.
Frame = tuple[str, int, Any, Any, Any]

_INPUT = b'{"modelInput":'


#: Every byte but quotes and brackets (what :func:`_net` deletes before it counts).
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"{}[]')


def _net(segment: bytes) -> int | None:
    """Brackets opened minus closed in a segment that starts outside any string, those inside
    strings not counted (None: its quotes do not pair up)."""
    if b"\\" in segment:  # drop the escaped backslashes, then the escaped quotes
        segment = segment.replace(b"\\\\", b"").replace(b'\\"', b"")
    # quotes and brackets only; then strings with no bracket in them go (two quotes side by
    # side are an empty string, or two strings with nothing outside between them: either
    # way dropping them leaves what is outside strings as it was)
    compact = segment.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in compact:  # some string holds a bracket: keep what is outside strings
        pieces = compact.split(b'"')
        if not len(pieces) & 1:
            return None
        compact = b"".join(pieces[::2])
    return compact.count(b"{") + compact.count(b"[") - compact.count(b"}") - compact.count(b"]")


def _top_level(raw: bytes, key: int, comma: int) -> bool:
    """Whether the key whose quote is at ``key`` (its value running to ``comma``, the one
    before the top-level recordId) is a top-level key: one bracket open before it, or its
    value balanced — whichever segment is shorter is counted."""
    if key < comma - key:
        return _net(raw[:key]) == 1
    return _net(raw[key:comma]) == 0


def scan_bytes(raw: bytes) -> Frame | None:
    """The frame of an output line by byte searches (see the module docstring); None: decode
    the line whole."""
    if not raw.endswith(b'"}'):
        return None
    at = raw.rfind(b'"recordId":"')
    if at <= 0 or raw[at - 1] not in b",{":
        return None
    text = raw[at + 12 : -2]
    if b'"' in text or (b"\\" in raw and b"\\u" in raw):  # \u: perhaps a lone surrogate
        return None  # (the decode reports it)
    if b"\\" in text:
        try:
            rid = decode(raw[at + 11 : -1])
        except ValueError:
            return None
    else:
        rid = _text(text)
        if rid is None:
            return None
    if b"\xed" in raw and not _utf8(raw):
        return None  # perhaps a lone surrogate written as UTF-8 (which it is not)
    comma = at - 1
    found = raw.rfind(b'"modelOutput":', 0, comma)
    output = error = None
    if found > 0 and raw[found - 1] in b",{" and _top_level(raw, found, comma):
        output = slice(found + 14, comma)
        bound = found  # an "error" key after it is inside it
    elif b'"modelOutput"' in raw:
        return None  # a modelOutput key the scan cannot place
    else:
        bound = at
    if raw.find(b'"error"', 0, bound) >= 0:  # perhaps a top-level error: an error line?
        found = raw.rfind(b'"error":', 0, comma)
        if (
            output is not None
            or found <= 0
            or raw[found - 1] not in b",{"
            or raw[found + 8 : found + 9] != b"{"
            or raw.find(b'"error"', 0, found) >= 0  # another before it: perhaps that one
            or _net(raw[found + 8 : comma]) != 0
        ):
            return None
        error = slice(found + 8, comma)
        bound = found
    if raw.startswith(_INPUT):
        model_input: Any = slice(14, bound - 1)
    else:  # elsewhere, or nowhere: the line decoded whole says
        model_input = ... if b'"modelInput"' in raw else None
    outcome = ERRORED if error is not None else SUCCEEDED if output is not None else NEITHER
    return rid, outcome, model_input, output, error


def _text(text: bytes) -> str | None:
    """A recordId's bytes as the decode reads them (None: they are not a JSON string's)."""
    try:
        rid = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return rid if rid.isprintable() else None  # control characters: the decode refuses some


def _utf8(text: bytes) -> bool:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def body(raw: bytes, part: Any) -> Any:
    """The decoded value of one part of a frame (``modelInput``, ``modelOutput`` or ``error``):
    raises ``ValueError`` when it is not one JSON value (the caller then decodes the line)."""
    data = raw[part] if isinstance(part, slice) else bytes(part)
    return decode(data)


def _msgspec_scanner() -> Callable[[bytes], Frame | None] | None:
    try:
        import msgspec
    except ImportError:
        return None

    raw = msgspec.Raw
    fields: list[Any] = [("recordId", str)]
    fields += [(name, raw, raw()) for name in ("modelInput", "modelOutput", "error")]
    # typed Any: without msgspec installed, mypy cannot see the struct's fields
    typed: Callable[[bytes], Any] = msgspec.json.Decoder(msgspec.defstruct("Line", fields)).decode
    failed = (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError)

    def scan_typed(raw: bytes) -> Frame | None:
        """The frame of an output line by a typed decode (msgspec); None: decode it whole."""
        if (b"\\" in raw and b"\\u" in raw) or (b"\xed" in raw and not _utf8(raw)):
            return None  # perhaps a lone surrogate: the decode reports it
        try:
            line = typed(raw)
        except failed:
            return None
        model_input = line.modelInput if len(line.modelInput) else None
        output = line.modelOutput if len(line.modelOutput) else None
        error = line.error if len(line.error) and bytes(line.error) != b"null" else None
        outcome = ERRORED if error is not None else SUCCEEDED if output is not None else NEITHER
        return line.recordId, outcome, model_input, output, error

    return scan_typed


def _select() -> tuple[str, Callable[[bytes], Frame | None]]:
    wanted = os.environ.get("BEDROCK_BATCH_SCAN", "")
    if wanted == "msgspec" or (wanted == "" and BACKEND != "json"):
        typed = _msgspec_scanner()
        if typed is not None:
            return "msgspec", typed
        if wanted:
            raise ImportError("BEDROCK_BATCH_SCAN=msgspec, but msgspec is not installed")
    return "bytes", scan_bytes


#: The scanner in use: ``"msgspec"`` (a typed decode; by default when msgspec is installed and
#: the JSON backend is not forced to ``json``) or ``"bytes"`` (``BEDROCK_BATCH_SCAN=bytes``).
SCANNER, scan = _select()

"""Reading records in: a JSONL source's chunks, a line's exact value and whether it is already
its record's canonical encoding (``add_jsonl`` then keeps the line as read), ids as JSON."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .._common._codec import EncodeError, decode, decode_unchecked, encode, encode_line, ints_exact

__all__ = ["chunks", "is_mapping", "json_id", "read_line"]

_READ_CHUNK = 1 << 20


def is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # (the ABC's check is slow)


def json_id(rid: str) -> bytes:
    """A checked id as a JSON string: its UTF-8 in quotes when nothing in it needs escaping."""
    if rid.isprintable() and '"' not in rid and "\\" not in rid:
        return b'"' + rid.encode() + b'"'
    return encode(rid)


def read_line(raw: bytes) -> tuple[Any, bytes | None]:
    """A JSONL line's value, exact, and its canonical line (None: not canonical)."""
    obj = decode_unchecked(raw)
    canonical = _canonical(obj, raw)
    if canonical is None and not ints_exact(raw):
        obj = decode(raw)  # perhaps an integer beyond 64 bits: read it exactly
    return obj, canonical


def _canonical(obj: Any, raw: bytes) -> bytes | None:
    """The stored line of a ``{"recordId": "...", "modelInput": {...}}`` line that is already
    its canonical encoding (what the record would be stored as), byte for byte: the line as
    read (it then decoded exactly: a value the decode changed would not re-encode to itself);
    None for any other line (it is then stored re-encoded, after the usual checks)."""
    if type(obj) is not dict or len(obj) != 2 or next(iter(obj)) != "recordId":
        return None
    if type(obj["recordId"]) is not str or type(obj.get("modelInput")) is not dict:
        return None
    try:
        line = encode_line(obj)
    except EncodeError:
        return None
    return line if len(line) == len(raw) + 1 and line.startswith(raw) else None


def chunks(source: str | Path | IO[bytes] | IO[str]) -> Iterator[bytes]:
    """The source's bytes in chunks, read once (pipes and FIFOs work; nothing is re-read)."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            yield from iter(lambda: fh.read(_READ_CHUNK), b"")
        return
    while True:
        chunk = source.read(_READ_CHUNK)
        if not chunk:
            return
        yield chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk

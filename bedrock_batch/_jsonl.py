"""JSON Lines on the wire: one definition shared by the client and Local Bedrock. No I/O here.

Bedrock writes raw UTF-8 (no ``\\uXXXX`` escapes), and its text may contain U+2028, U+0085 and
other characters that :meth:`str.splitlines` treats as line breaks. Lines are therefore split
on the byte ``\\n`` only, before decoding, which also makes decoding safe when a multi-byte
character straddles two chunks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["dumps_line", "iter_lines", "loads_line"]


def dumps_line(obj: Any) -> bytes:
    """Compact JSON, raw UTF-8, terminated by ``\\n`` — the way Bedrock writes its lines."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def loads_line(line: bytes) -> Any:
    """Parse one line (without or with its ``\\n``); raises ``ValueError`` on bad UTF-8 or JSON."""
    return json.loads(line.decode("utf-8"))


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

"""How Local Bedrock writes JSON: compact, raw UTF-8, keys in the order given.

Real output lines are compact JSON with raw non-ASCII characters (U+2028 and U+0085 included),
key order ``modelInput, modelOutput|error, recordId`` (``bedrock-facts.md`` §2).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

__all__ = ["ENCODER", "encode", "input_digest"]

#: The canonical encoding of a JSON value.
ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def encode(value: Any) -> str:
    """``value`` as compact JSON text."""
    return ENCODER.encode(value)


def input_digest(encoded: bytes) -> int:
    """The 32-bit digest the synthetic models derive every answer from (CRC-32)."""
    return zlib.crc32(encoded)

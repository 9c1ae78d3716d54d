"""Content keys: what makes two requests the same question.

A key is the SHA-256 of the canonical model id, the invocation type and the canonical body
(its JSON with sorted keys and no spaces). Record ids and the caller's keys are not part of
it: two records asking the same model the same thing, in any batch, have one key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .._catalog import canonical_model_id
from .._common._codec import decode

__all__ = ["SHARD_HEX", "canonical_body", "content_key", "line_key", "shard_of"]

#: Hex digits of the key that name its cache shard (``{prefix}v1/{hh}/``): 256 shards.
SHARD_HEX = 2


def canonical_body(model_input: Any) -> bytes:
    """The body's canonical bytes: JSON, keys sorted, no spaces, UTF-8 kept."""
    return json.dumps(
        model_input, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def content_key(model_id: str, invocation_type: str, model_input: Any) -> bytes:
    """The 32-byte key of a request (see the module docstring)."""
    digest = hashlib.sha256()
    digest.update(canonical_model_id(model_id).encode() + b"\n" + invocation_type.encode() + b"\n")
    digest.update(canonical_body(model_input))
    return digest.digest()


def line_key(model_id: str, invocation_type: str, line: bytes) -> bytes:
    """The key of an encoded input line (``{"recordId": ..., "modelInput": ...}``)."""
    return content_key(model_id, invocation_type, decode(line).get("modelInput"))


def shard_of(key: bytes) -> str:
    """The cache shard of a key: its first :data:`SHARD_HEX` hex digits."""
    return key.hex()[:SHARD_HEX]

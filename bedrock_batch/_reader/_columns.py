"""Arrow columns filled from packed rows, each buffer allocated once at its exact size.

``pyarrow.array()`` over Python lists grows its buffers as it goes and needs every value as a
Python object first: one batch of rows as objects, the builders' doublings and the finished
buffers all sat on the same heap, and a 100,000-row ``to_arrow()`` peaked at 1.85x its table
(``benchmarks/bench_read.py arrow``). Here each result becomes one *packed row* as the join
yields it (:func:`pack`: a fixed header of the numbers and flags, then the strings' UTF-8 and
the embedding's doubles), which the export spills by input position; a batch of packed rows
is then turned into columns (:func:`assemble`): the numbers straight into ``array`` buffers,
each string column's bytes into one ``bytearray`` of the batch's exact total, the offsets and
validity bitmaps computed, and every buffer handed to Arrow without a copy
(``pyarrow.py_buffer``). No value of the batch exists as a Python object on the way (but the
keys that are dicts and, for pandas, the keys and embeddings, which are objects in the frame).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from .._common._codec import decode, encode

__all__ = ["Assembled", "assemble", "pack"]

#: error_code, flags, input_tokens, output_tokens, attempt, the six strings' sizes (0: null,
#: else 1 + its UTF-8 length: key, record_id, status, text, parsed, error_message), and the
#: embedding's length (-1: none).
_HEAD = struct.Struct("<iBqqi6Ii")
_NO_CODE, _NO_RETRY, _RETRYABLE, _KEY_JSON = 1, 2, 4, 8
#: ``ROW_COLUMNS`` index of each packed string, in packed order.
STRING_COLUMNS = (0, 1, 2, 3, 5, 7)
_BITS = bytes.maketrans(b"\x00\x01", b"01")
_OFFSET_MAX = 2**31 - 1


def pack(row: Sequence[Any]) -> bytes:
    """One result's row (``ROW_COLUMNS`` values, see ``result_row``) packed; a key that is
    not a string is kept as its JSON text (the ``key`` column; decoded again for the
    ``key_<name>`` columns and pandas' ``key``)."""
    key, code, retryable, emb = row[0], row[6], row[8], row[4]
    flags = _NO_CODE if code is None else 0
    if retryable is None:
        flags |= _NO_RETRY
    elif retryable:
        flags |= _RETRYABLE
    if key is None:
        key_bytes = None
    elif isinstance(key, str):
        key_bytes = key.encode()
    else:
        key_bytes = encode(key)
        flags |= _KEY_JSON
    parts: list[bytes] = []
    sizes = []
    for value in (key_bytes, row[1], row[2], row[3], row[5], row[7]):
        if value is None:
            sizes.append(0)
        else:
            data = value if isinstance(value, bytes) else value.encode()
            parts.append(data)
            sizes.append(len(data) + 1)
    if emb is not None:
        parts.append(array("d", emb).tobytes())
    head = _HEAD.pack(code or 0, flags, row[9], row[10], row[11], *sizes, -1 if emb is None else len(emb))  # fmt: skip
    return head + b"".join(parts)


def _bits(flags: bytes) -> bytes:
    """Arrow's bitmap (bit i, least significant first) of a byte per row that is 0 or 1."""
    if not flags:
        return b""
    bits = int(flags[::-1].translate(_BITS), 2)  # base 2: linear, and no digit limit
    return bits.to_bytes((len(flags) + 7) // 8, "little")


def _bitmap(valid: bytes) -> bytes | None:
    """The validity bitmap of a byte per row (0: null); None when no row is null."""
    return None if valid.find(0) < 0 else _bits(valid)


class Assembled:
    """A batch of packed rows as Arrow arrays (``ROW_COLUMNS`` order; ``key`` and
    ``embedding`` None when not asked for), with the keys (decoded JSON keys, else the
    string or None) and embeddings (lists of floats) as objects when asked for."""

    __slots__ = ("arrays", "embeddings", "keys")

    def __init__(self) -> None:
        self.arrays: list[Any] = []
        self.keys: list[Any] = []
        self.embeddings: list[Any] = []


def assemble(pa: Any, rows: list[bytes], *, objects: bool, json_keys: bool) -> Assembled:
    """The columns of ``rows`` (packed rows, in order). ``objects``: the keys and embeddings as
    Python objects instead of the ``key`` and ``embedding`` arrays (pandas keeps them so);
    ``json_keys``: also collect the keys that are dicts (for the ``key_<name>`` columns)."""
    m = len(rows)
    heads = [_HEAD.unpack_from(r) for r in rows]
    views = [memoryview(r) for r in rows]
    out = Assembled()
    arrays: list[Any] = [None] * 12
    at = [_HEAD.size] * m  # where each row's next string starts
    flags = bytes(h[1] for h in heads)
    for j, column in enumerate(STRING_COLUMNS):
        sizes = [h[5 + j] for h in heads]
        if column == 0 and objects:  # the caller's objects, not a column
            keys = out.keys
            for i, size in enumerate(sizes):
                if not size:
                    keys.append(None)
                    continue
                start = at[i]
                at[i] = stop = start + size - 1
                text = bytes(views[i][start:stop])
                keys.append(decode(text) if flags[i] & _KEY_JSON else text.decode())
            continue
        if column == 0 and json_keys:
            keys = out.keys
            for i, size in enumerate(sizes):
                if size and flags[i] & _KEY_JSON:
                    keys.append(decode(bytes(views[i][at[i] : at[i] + size - 1])))
                else:
                    keys.append(None)
        arrays[column] = _strings(pa, sizes, views, at)
    arrays[6] = _array(pa, pa.int32(), array("i", [h[0] for h in heads]), bytes(not (f & _NO_CODE) for f in flags))  # fmt: skip
    retry_valid = bytes(not (f & _NO_RETRY) for f in flags)
    values = _bits(bytes(bool(f & _RETRYABLE) for f in flags))
    arrays[8] = pa.Array.from_buffers(pa.bool_(), m, [_buffer(pa, _bitmap(retry_valid)), pa.py_buffer(values)], null_count=m - sum(retry_valid))  # fmt: skip
    arrays[9] = _array(pa, pa.int64(), array("q", [h[2] for h in heads]), None)
    arrays[10] = _array(pa, pa.int64(), array("q", [h[3] for h in heads]), None)
    arrays[11] = _array(pa, pa.int32(), array("i", [h[4] for h in heads]), None)
    lengths = [h[11] for h in heads]
    if objects:
        embeddings = out.embeddings
        for i, n in enumerate(lengths):
            if n < 0:
                embeddings.append(None)
            else:
                doubles = array("d")
                doubles.frombytes(views[i][at[i] : at[i] + 8 * n])
                embeddings.append(doubles.tolist())
    else:
        arrays[4] = _embeddings(pa, lengths, views, at)
    out.arrays = arrays
    return out


def _buffer(pa: Any, data: bytes | None) -> Any:
    return None if data is None else pa.py_buffer(data)


def _array(pa: Any, kind: Any, values: array[Any], valid: bytes | None) -> Any:
    """A numeric array over ``values`` (``valid``: a byte per row, 0 for null)."""
    bitmap = None if valid is None else _bitmap(valid)
    nulls = 0 if bitmap is None or valid is None else len(valid) - sum(valid)
    return pa.Array.from_buffers(kind, len(values), [_buffer(pa, bitmap), pa.py_buffer(values)], null_count=nulls)  # fmt: skip


def _strings(pa: Any, sizes: list[int], views: list[memoryview], at: list[int]) -> Any:
    """One string column: its bytes copied once into a buffer of their exact total."""
    m = len(sizes)
    lengths = [size - 1 if size else 0 for size in sizes]
    total = sum(lengths)
    valid = bytes(size > 0 for size in sizes)
    if total > _OFFSET_MAX:  # too big for one string array: as pyarrow.array() does it
        values = []
        for i, n in enumerate(lengths):
            values.append(bytes(views[i][at[i] : at[i] + n]).decode() if sizes[i] else None)
            at[i] += n
        return pa.array(values, type=pa.string())
    data = bytearray(total)
    put = 0
    for i, n in enumerate(lengths):
        if n:
            start = at[i]
            data[put : put + n] = views[i][start : start + n]
            at[i] = start + n
            put += n
    offsets = array("i", [0])
    offsets.extend(accumulate(lengths))
    bitmap = _bitmap(valid)
    nulls = 0 if bitmap is None else m - sum(valid)
    buffers = [_buffer(pa, bitmap), pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), m, buffers, null_count=nulls)


def _embeddings(pa: Any, lengths: list[int], views: list[memoryview], at: list[int]) -> Any:
    """The embedding column (``list<float32>``), from each row's doubles."""
    m = len(lengths)
    floats = array("f")
    doubles = array("d")
    for i, n in enumerate(lengths):
        if n > 0:
            doubles.frombytes(views[i][at[i] : at[i] + 8 * n])
            floats.fromlist(doubles.tolist())
            del doubles[:]
    offsets = array("i", [0])
    offsets.extend(accumulate(max(n, 0) for n in lengths))
    valid = bytes(n >= 0 for n in lengths)
    bitmap = _bitmap(valid)
    child = pa.Array.from_buffers(pa.float32(), len(floats), [None, pa.py_buffer(floats)])
    nulls = 0 if bitmap is None else m - sum(valid)
    return pa.Array.from_buffers(pa.list_(pa.float32()), m, [_buffer(pa, bitmap), pa.py_buffer(offsets)], null_count=nulls, children=[child])  # fmt: skip

"""Record ids: the default generator, the pattern ids must match, the inverse of the default
generator (so default ids need no memory: they are computed from their ordinal), and
:class:`IdIndex`, where every other id lives in memory that does not depend on the ids."""

from __future__ import annotations

import bisect
import os
import re
import tempfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from typing import IO, Any

__all__ = [
    "DEFAULT_RECORD_ID_PATTERN",
    "Blob",
    "IdIndex",
    "split_numbered",
    "stable_hash",
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


# -- the compact index of ids that are not their ordinal's default ---------------------------

_DIGITS = "0123456789"
#: Ids kept in memory before they move to a temporary file (the index then keeps ~17 bytes each).
_IDS_IN_MEMORY = 32 << 20
_TOMB = 0xFFFFFFFF  # a removed entry (the low half of a slot; never an index + 1)
_LOW = 0xFFFFFFFF
_KIND_HASHED = -1


def stable_hash(data: bytes) -> int:
    """A 32-bit hash of an id's UTF-8 bytes (CRC-32), the same in every process (unlike
    ``hash()``, which Python salts per process: an index is read by other processes and Dask
    workers). It only places ids and screens candidates: matches are confirmed on the bytes."""
    return zlib.crc32(data)


def split_numbered(record_id: str) -> tuple[str, int, int] | None:
    """``R00000042`` -> (``"R"``, 8, 42): the prefix, the width and value of the trailing
    decimal number (at most 18 digits), or None when the id does not end in one."""
    prefix = record_id.rstrip(_DIGITS)
    width = len(record_id) - len(prefix)
    if width == 0 or width > 18:
        return None
    return prefix, width, int(record_id[len(prefix) :])


class Blob:
    """Append-only bytes: in memory up to a bound, then in a temporary file."""

    def __init__(self, bound: int = _IDS_IN_MEMORY) -> None:
        self._memory = bytearray()
        self._file: IO[bytes] | None = None
        self._bound = bound
        self.size = 0

    def append(self, data: bytes) -> int:
        """Append ``data``; returns its offset."""
        offset = self.size
        if self._file is not None:
            self._file.write(data)
        else:
            self._memory += data
            if len(self._memory) > self._bound:
                self._file = tempfile.TemporaryFile(prefix="bedrock-batch-index-")  # noqa: SIM115
                self._file.write(self._memory)
                self._memory = bytearray()
        self.size += len(data)
        return offset

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``."""
        if self._file is None:
            return bytes(self._memory[offset : offset + size])
        self._file.flush()
        return os.pread(self._file.fileno(), size, offset)

    def truncate(self, size: int) -> None:
        """Forget everything from ``size`` on."""
        if self._file is None:
            del self._memory[size:]
        else:
            self._file.flush()
            self._file.truncate(size)
            self._file.seek(size)
        self.size = size

    def close(self) -> None:
        """Release the memory or the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory = bytearray()


class IdIndex:
    """Which ordinal holds which id, for ids that are not their ordinal's default, in memory
    that does not depend on the ids (ordinals not listed hold their default id).

    - **Runs.** Consecutive records whose ids count up by one with the same prefix and width
      (``R00000001``, ``R00000002``, ...) are one *segment*: 32 bytes however long the run.
    - **Hashed.** Every other id is appended to a byte blob (in a temporary file past 32 MiB)
      and found through an open-addressing table of 8-byte slots: 32 bits of the id's
      :func:`stable_hash` (which also places it) and its position. A match of those bits is
      confirmed against the stored id bytes, so collisions never confuse two ids. About
      17 bytes per id in memory at 5M ids (a 4-byte offset, the table at 40-80% full), 22
      at the peak while the table doubles.
    - **Renamed** (rare: an id freed for another record, see :meth:`forget`): a small dict.

    Ids are added in ordinal order; the caller checks that an id is new (:meth:`ordinal_of`).
    """

    def __init__(self, hash_id: Callable[[bytes], int] = stable_hash) -> None:
        self._hash = hash_id
        # segments of consecutive ordinals: first ordinal, length, kind (key of a run, or
        # _KIND_HASHED) and value (a run's first number; the first hashed position)
        self._start = array("Q")
        self._length = array("Q")
        self._kind = array("q")
        self._value = array("Q")
        # runs by (prefix, width): their first numbers (ascending) and segments
        self._keys: dict[tuple[str, int], int] = {}
        self._key_list: list[tuple[str, int]] = []
        self._run_first: list[array[int]] = []
        self._run_segment: list[array[int]] = []
        # hashed ids: bytes, offsets (with a final end), the table, and which segments hold them
        self._blob = Blob()
        self._offsets = array("I", [0])
        self._table = array("Q", bytes(8 * 16))
        self._filled = 0  # live entries and tombstones
        self._hashed_segments = array("Q")  # segment numbers of the hashed segments, in order
        # renamed: ordinal -> id ("" while it has none), and back
        self._renamed: dict[int, str] = {}
        self._renamed_ids: dict[str, int] = {}
        #: The id that would extend the last segment when it is a run ("": unknown): not in
        #: any run (runs of a prefix are kept in ascending order), so no need to look.
        self._next = ""

    def __bool__(self) -> bool:
        return bool(self._start) or bool(self._renamed)

    # -- adding ------------------------------------------------------------------------------

    def add(self, ordinal: int, record_id: str) -> None:
        """Say that ``ordinal`` (past every ordinal added so far) holds ``record_id``."""
        start, length = self._start, self._length
        if start and start[-1] + length[-1] == ordinal:
            kind = self._kind[-1]
            if kind >= 0:  # the run goes on?
                if record_id == (self._next or self._tail_next()):
                    length[-1] += 1
                    self._next = self._tail_next()
                    return
            elif record_id[-1:] in _DIGITS:  # it and the last hashed id start a run?
                numbered = split_numbered(record_id)
                if numbered is not None and numbered[2] > 0:
                    prefix, width, number = numbered
                    previous = self._stored(len(self._offsets) - 2)
                    if self._can_run(prefix, width, number - 1) and previous == f"{prefix}{number - 1:0{width}d}".encode():  # fmt: skip
                        self._pop_hashed()
                        self._new_run(ordinal - 1, prefix, width, number - 1, 2)
                        return
        self._add_hashed(ordinal, record_id.encode())

    def _tail_next(self) -> str:
        """The id that would extend the last segment, a run ("" when it cannot grow)."""
        prefix, width = self._key_list[self._kind[-1]]
        number = self._value[-1] + self._length[-1]
        return f"{prefix}{number:0{width}d}" if number < 10**width else ""

    def _can_run(self, prefix: str, width: int, first: int) -> bool:
        key = self._keys.get((prefix, width))
        if key is None:
            return True
        firsts, segments = self._run_first[key], self._run_segment[key]
        if not firsts:
            return True
        return first >= firsts[-1] + self._length[segments[-1]]

    def _new_run(self, ordinal: int, prefix: str, width: int, first: int, length: int) -> None:
        key = self._keys.get((prefix, width))
        if key is None:
            key = self._keys[prefix, width] = len(self._key_list)
            self._key_list.append((prefix, width))
            self._run_first.append(array("Q"))
            self._run_segment.append(array("Q"))
        self._run_first[key].append(first)
        self._run_segment[key].append(len(self._start))
        self._segment(ordinal, length, key, first)

    def _segment(self, ordinal: int, length: int, kind: int, value: int) -> None:
        self._next = ""
        self._start.append(ordinal)
        self._length.append(length)
        self._kind.append(kind)
        self._value.append(value)

    def _add_hashed(self, ordinal: int, raw: bytes) -> None:
        offsets = self._offsets
        position = len(offsets) - 1
        blob = self._blob
        blob.append(raw)
        if blob.size > _LOW and offsets.typecode == "I":  # 4 bytes an offset up to 4 GiB
            offsets = self._offsets = array("Q", offsets)
        offsets.append(blob.size)
        start, length = self._start, self._length
        if start and self._kind[-1] == _KIND_HASHED and start[-1] + length[-1] == ordinal:
            length[-1] += 1
        else:
            self._hashed_segments.append(len(start))
            self._segment(ordinal, 1, _KIND_HASHED, position)
        if (self._filled + 1) * 5 > len(self._table) * 4:  # 80% full (tombstones count)
            self._grow()
        tag = self._hash(raw) & _LOW
        table = self._table
        mask = len(table) - 1
        slot = tag & mask
        while (entry := table[slot]) and entry & _LOW != _TOMB:
            slot = (slot + 1) & mask
        if not entry:
            self._filled += 1
        table[slot] = (tag << 32) | (position + 1)

    def _grow(self) -> None:
        old = self._table
        size = len(old)
        while self._live() * 5 >= size * 2:  # at most 40% full after a rebuild
            size *= 2
        table = self._table = array("Q", bytes(8 * size))
        mask = size - 1
        for entry in old:
            if entry and entry & _LOW != _TOMB:
                slot = (entry >> 32) & mask
                while table[slot]:
                    slot = (slot + 1) & mask
                table[slot] = entry
        self._filled = self._live()

    def _live(self) -> int:
        return len(self._offsets) - 1

    def _probe(self, raw: bytes) -> Iterator[tuple[int, int]]:
        """(slot, position) of every live entry whose hash bits match ``raw``'s."""
        tag = self._hash(raw) & _LOW
        table, mask = self._table, len(self._table) - 1
        slot = tag & mask
        while True:
            entry = table[slot]
            low = entry & _LOW
            if not entry:
                return
            if low != _TOMB and entry >> 32 == tag:
                yield slot, low - 1
            slot = (slot + 1) & mask

    def _stored(self, position: int) -> bytes:
        begin = self._offsets[position]
        return self._blob.read(begin, self._offsets[position + 1] - begin)

    def _pop_hashed(self) -> None:
        """Remove the last hashed id (its segment shrinks or goes)."""
        position = len(self._offsets) - 2
        begin = self._offsets[position]
        slot = next(
            slot for slot, found in self._probe(self._stored(position)) if found == position
        )
        self._table[slot] = _TOMB
        del self._offsets[-1]
        self._blob.truncate(begin)
        last = len(self._start) - 1
        if self._length[last] > 1:
            self._length[last] -= 1
        else:
            self._drop_segment()

    def _drop_segment(self) -> None:
        last = len(self._start) - 1
        kind = self._kind[last]
        if kind == _KIND_HASHED:
            del self._hashed_segments[-1]
        else:
            del self._run_first[kind][-1]
            del self._run_segment[kind][-1]
        for column in (self._start, self._length, self._kind, self._value):
            del column[-1]
        self._next = ""

    # -- renaming, truncating ----------------------------------------------------------------

    def set_renamed(self, ordinal: int, record_id: str) -> None:
        """Give ``ordinal`` another id (``""``: none for now); its first id no longer counts."""
        old = self._renamed.get(ordinal)
        if old:
            self._renamed_ids.pop(old, None)
        self._renamed[ordinal] = record_id
        if record_id:
            self._renamed_ids[record_id] = ordinal

    def truncate(self, count: int) -> None:
        """Forget every ordinal from ``count`` on."""
        self._next = ""
        for ordinal in [o for o in self._renamed if o >= count]:
            self._renamed_ids.pop(self._renamed.pop(ordinal), None)
        while self._start and self._start[-1] + self._length[-1] > count:
            last = len(self._start) - 1
            keep = max(0, count - self._start[last])
            if self._kind[last] == _KIND_HASHED:
                for _ in range(self._length[last] - keep):
                    self._pop_hashed()  # drops the segment with its last id
            elif keep:
                self._length[last] = keep
            else:
                self._drop_segment()

    # -- reading -----------------------------------------------------------------------------

    def _segment_of(self, ordinal: int) -> int:
        """The segment holding ``ordinal``, or -1 (its default id)."""
        j = bisect.bisect_right(self._start, ordinal) - 1
        if j >= 0 and ordinal < self._start[j] + self._length[j]:
            return j
        return -1

    def is_listed(self, ordinal: int) -> bool:
        """Whether ``ordinal`` holds an id other than its default (or none, while renamed)."""
        return ordinal in self._renamed or self._segment_of(ordinal) >= 0

    def ordinal_of(self, record_id: str, count: int) -> int | None:
        """The ordinal holding ``record_id`` among the first ``count``, or None."""
        renamed = self._renamed_ids.get(record_id)
        if renamed is not None:
            return renamed
        ordinal = default_ordinal(record_id)
        renamed_ordinals = self._renamed
        if ordinal is not None and ordinal < count and ordinal not in renamed_ordinals and self._segment_of(ordinal) < 0:  # fmt: skip
            return ordinal
        if record_id != self._next:
            ordinal = self._in_runs(record_id)
            if ordinal is not None and ordinal not in self._renamed:
                return ordinal
        if not self._hashed_segments:
            return None
        raw = record_id.encode()
        tag = self._hash(raw) & _LOW
        table = self._table
        mask = len(table) - 1
        slot = tag & mask
        while entry := table[slot]:  # an id renamed away may be there too: look on
            low = entry & _LOW
            if low != _TOMB and entry >> 32 == tag and self._stored(low - 1) == raw:
                ordinal = self._ordinal_of_position(low - 1)
                if ordinal not in self._renamed:
                    return ordinal
            slot = (slot + 1) & mask
        return None

    def _in_runs(self, record_id: str) -> int | None:
        if not self._keys:
            return None
        numbered = split_numbered(record_id)
        if numbered is None:
            return None
        prefix, width, number = numbered
        key = self._keys.get((prefix, width))
        if key is None:
            return None
        firsts = self._run_first[key]
        j = bisect.bisect_right(firsts, number) - 1
        if j < 0:
            return None
        segment = self._run_segment[key][j]
        offset = number - firsts[j]
        return self._start[segment] + offset if offset < self._length[segment] else None

    def _ordinal_of_position(self, position: int) -> int:
        segments = self._hashed_segments
        lo, hi = 0, len(segments) - 1
        while lo < hi:  # the last hashed segment whose first position <= position
            mid = (lo + hi + 1) // 2
            if self._value[segments[mid]] <= position:
                lo = mid
            else:
                hi = mid - 1
        segment = segments[lo]
        return self._start[segment] + position - self._value[segment]

    def id_at(self, ordinal: int) -> str:
        """The id at ``ordinal``."""
        renamed = self._renamed.get(ordinal)
        if renamed is not None:
            return renamed or default_id_factory(ordinal)
        segment = self._segment_of(ordinal)
        if segment < 0:
            return default_id_factory(ordinal)
        return self._id_in(segment, ordinal)

    def _id_in(self, segment: int, ordinal: int) -> str:
        offset = ordinal - self._start[segment]
        kind = self._kind[segment]
        if kind >= 0:
            prefix, width = self._key_list[kind]
            return f"{prefix}{self._value[segment] + offset:0{width}d}"
        return self._stored(self._value[segment] + offset).decode()

    def ids(self, start: int, stop: int) -> Iterator[str]:
        """The ids of ordinals ``[start, stop)``, in order (segment by segment: a hashed
        segment's ids are read in one piece)."""
        renamed = self._renamed
        ordinal = start
        j = max(0, bisect.bisect_right(self._start, start) - 1)
        while ordinal < stop:
            if j < len(self._start) and self._start[j] + self._length[j] <= ordinal:
                j += 1
                continue
            seg_start = self._start[j] if j < len(self._start) else stop
            if ordinal < seg_start:  # default ids up to the next segment
                for o in range(ordinal, min(seg_start, stop)):
                    yield renamed.get(o) or default_id_factory(o)
                ordinal = min(seg_start, stop)
                continue
            end = min(stop, seg_start + self._length[j])
            yield from self._segment_ids(j, ordinal, end)
            ordinal = end
            j += 1

    def _segment_ids(self, segment: int, start: int, end: int) -> Iterator[str]:
        renamed = self._renamed
        kind = self._kind[segment]
        base = self._value[segment] + start - self._start[segment]
        if kind >= 0:
            prefix, width = self._key_list[kind]
            for i, o in enumerate(range(start, end)):
                name = renamed.get(o)
                yield f"{prefix}{base + i:0{width}d}" if name is None else (name or default_id_factory(o))  # fmt: skip
            return
        offsets = self._offsets
        first = offsets[base]
        data = self._blob.read(first, offsets[base + end - start] - first)
        for i, o in enumerate(range(start, end)):
            name = renamed.get(o)
            if name is None:
                yield data[offsets[base + i] - first : offsets[base + i + 1] - first].decode()
            else:
                yield name or default_id_factory(o)

    def listed(self, count: int) -> Iterator[int]:
        """The ordinals below ``count`` that hold an id other than their default, in order."""
        renamed = sorted(o for o in self._renamed if o < count)
        k = 0
        for j in range(len(self._start)):
            seg_start = self._start[j]
            for o in range(seg_start, min(count, seg_start + self._length[j])):
                while k < len(renamed) and renamed[k] < o:
                    yield renamed[k]
                    k += 1
                if k < len(renamed) and renamed[k] == o:
                    k += 1
                yield o
        yield from renamed[k:]

    def close(self) -> None:
        """Release the ids' memory or file."""
        self._blob.close()

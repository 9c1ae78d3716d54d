"""Where added records live until upload: encoded lines in a local temporary file.

Memory holds only the index (record id → ordinal, the caller's keys, line sizes and offsets);
the lines themselves are in a temporary file on disk, written once, read back by byte range
when a job's input files are cut. A running SHA-256 of every line gives the batch its content
address without a second pass.

Appends can be undone back to a :class:`Mark` (``add_*`` calls are all-or-nothing).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from collections.abc import Iterator, Mapping
from typing import IO, Any

import attrs

from ._codec import decode, encode_line

__all__ = ["Mark", "RecordStore"]

_COPY_CHUNK = 1 << 20


@attrs.frozen
class Mark:
    """A point to roll the store back to."""

    records: int
    total_bytes: int
    digest: Any  # a hashlib object's copy


class RecordStore:
    """Append-only record lines plus their index."""

    def __init__(self) -> None:
        self._handle: IO[bytes] | None = None  # opened with the first record
        self._ids: dict[str, int] = {}
        self._order: list[str] = []
        self._keys: dict[int, Any] = {}
        self.sizes = array("Q")
        self._offsets = array("Q")
        self._hash = hashlib.sha256()
        self.total_bytes = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._order)

    @property
    def _file(self) -> IO[bytes]:
        if self._handle is None:
            if self.closed:
                raise ValueError("the record store is closed")
            self._handle = tempfile.TemporaryFile(prefix="bedrock-batch-")  # noqa: SIM115
        return self._handle

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._ids

    # -- appending -------------------------------------------------------------------------

    def append_line(self, record_id: str, line: bytes, key: Any = None) -> int:
        """Store an encoded line (ending in ``\\n``); returns its 0-based ordinal.

        The caller checked that the id is new.
        """
        ordinal = len(self._order)
        self._file.write(line)
        self._hash.update(line)
        self._ids[record_id] = ordinal
        self._order.append(record_id)
        if key is not None:
            self._keys[ordinal] = key
        self.sizes.append(len(line))
        self._offsets.append(self.total_bytes)
        self.total_bytes += len(line)
        return ordinal

    def mark(self) -> Mark:
        """Remember this point (see :meth:`rollback`)."""
        return Mark(len(self._order), self.total_bytes, self._hash.copy())

    def rollback(self, mark: Mark) -> None:
        """Forget every record appended since ``mark``."""
        for record_id in self._order[mark.records :]:
            self._ids.pop(record_id, None)
        for ordinal in range(mark.records, len(self._order)):
            self._keys.pop(ordinal, None)
        del self._order[mark.records :]
        del self.sizes[mark.records :]
        del self._offsets[mark.records :]
        self._file.flush()
        self._file.truncate(mark.total_bytes)
        self._file.seek(mark.total_bytes)
        self.total_bytes = mark.total_bytes
        self._hash = mark.digest.copy()

    def forget_id(self, record_id: str) -> int:
        """Free an id for another record; its line keeps the old id until :meth:`rename`."""
        return self._ids.pop(record_id)

    def rename(self, new_ids: Mapping[int, str], since: Mark) -> None:
        """Give the records at these ordinals new ids, rewriting their lines (rare: a generated
        id that a later explicit id claimed in the same call). ``since`` is the call's mark."""
        first = min(new_ids)
        self._file.flush()
        lines = list(self.iter_lines(first))
        self._file.truncate(self._offsets[first])
        self._file.seek(self._offsets[first])
        self.total_bytes = self._offsets[first]
        self._hash = since.digest.copy()
        for line in self.iter_lines(since.records, first):
            self._hash.update(line)
        self._file.seek(self.total_bytes)
        for ordinal, old in enumerate(lines, start=first):
            line = old
            if ordinal in new_ids:
                record_id = new_ids[ordinal]
                obj = decode(old)
                obj["recordId"] = record_id
                line = encode_line(obj)
                self._order[ordinal] = record_id
                self._ids[record_id] = ordinal
            self._file.write(line)
            self._hash.update(line)
            self.sizes[ordinal] = len(line)
            self._offsets[ordinal] = self.total_bytes
            self.total_bytes += len(line)

    # -- reading ---------------------------------------------------------------------------

    def content_digest(self) -> str:
        """SHA-256 of every line so far, in order."""
        return self._hash.hexdigest()

    def iter_lines(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The stored lines of records ``[start, end)``, in order (a fresh pass each call)."""
        end = len(self._order) if end is None else end
        if start >= end:
            return
        self._file.flush()
        fd = self._file.fileno()
        pos = self._offsets[start]
        for ordinal in range(start, end):
            size = self.sizes[ordinal]
            yield os.pread(fd, size, pos)
            pos += size

    def copy_range(self, start: int, end: int, dest: IO[bytes]) -> tuple[int, str]:
        """Write the lines of records ``[start, end)`` to ``dest``; returns (bytes, SHA-256)."""
        self._file.flush()
        fd = self._file.fileno()
        n = len(self._order)
        begin = self._offsets[start] if start < n else self.total_bytes
        stop = self._offsets[end] if end < n else self.total_bytes
        digest = hashlib.sha256()
        pos = begin
        while pos < stop:
            chunk = os.pread(fd, min(_COPY_CHUNK, stop - pos), pos)
            dest.write(chunk)
            digest.update(chunk)
            pos += len(chunk)
        return stop - begin, digest.hexdigest()

    def ids(self, start: int = 0, end: int | None = None) -> list[str]:
        """Record ids ``[start, end)`` in order."""
        return self._order[start:end]

    def iter_index(self) -> Iterator[tuple[str, Any]]:
        """(record id, key) in order."""
        keys = self._keys
        for ordinal, record_id in enumerate(self._order):
            yield record_id, keys.get(ordinal)

    def key_of(self, record_id: str) -> Any:
        """The caller's key for a record id (None when none was given)."""
        return self._keys.get(self._ids[record_id])

    def ordinal_of(self, record_id: str) -> int | None:
        """The record's position, or None when it is not stored."""
        return self._ids.get(record_id)

    def line_of(self, record_id: str) -> bytes | None:
        """The stored line of one record, or None."""
        ordinal = self._ids.get(record_id)
        if ordinal is None:
            return None
        return next(self.iter_lines(ordinal, ordinal + 1))

    def close(self) -> None:
        """Delete the temporary file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.closed = True

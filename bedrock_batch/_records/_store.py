"""Where added records live until upload, and the compact index of their ids and keys.

:class:`RecordStore` keeps the encoded lines in a local temporary file (written in batches, read
back by byte range when the input files are cut) with a running SHA-256 that gives the batch its
content address. Appends can be undone back to a :class:`Mark` (``add_*`` calls are
all-or-nothing).

:class:`RecordIndex` says which ids a batch holds and the caller's keys, in little memory: an
id made by the default generator (``R`` + its ordinal) costs nothing, a run of counting ids
(``R00000001``, ``R00000002``, ...) one segment, any other id 16-20 bytes of memory
(:class:`~bedrock_batch._records._ids.IdIndex`); keys are kept encoded in one byte blob that
moves to a temporary file past a bound. The same
index, loaded from ``index.jsonl``, serves the join of any process (``attach()``).
"""

from __future__ import annotations

import hashlib
import heapq
import io
import itertools
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from typing import IO, Any

import attrs

from .._common._codec import decode, encode, encode_line
from ._ids import Blob, IdIndex, default_id_factory, default_ordinal

__all__ = ["INDEX_FORMAT", "Mark", "RecordIndex", "RecordStore"]

_COPY_CHUNK = 1 << 20
_FLUSH_BYTES = 1 << 20
#: Encoded keys held in memory before they move to a temporary file.
_KEYS_IN_MEMORY = 32 << 20
#: The first line of an ``index.jsonl`` that lists only what its ordinals do not say.
INDEX_FORMAT = "bedrock-batch-index/1"


class RecordIndex:
    """Record ids in order and the caller's keys, compact (see the module docstring)."""

    def __init__(self) -> None:
        self.count = 0
        self._id_index = IdIndex()  # the ids that are not their ordinal's default
        self._key_offsets: array[int] | None = None  # blob offset + 1 of each key; 0: none
        self._key_sizes: array[int] | None = None
        self._keys = Blob(_KEYS_IN_MEMORY)

    def __len__(self) -> int:
        return self.count

    @property
    def has_named(self) -> bool:
        """Whether any record has an id other than its ordinal's default."""
        return bool(self._id_index)

    # -- writing ---------------------------------------------------------------------------

    def add(self, record_id: str, key: bytes | None = None, *, default: bool = False) -> int:
        """Append an id (``default``: the caller knows it is the default id of its ordinal)
        and its encoded key; returns the ordinal. The caller checked that the id is new."""
        ordinal = self.count
        if not default and default_ordinal(record_id) != ordinal:
            self._id_index.add(ordinal, record_id)
        if key is not None or self._key_offsets is not None:
            self._add_key(ordinal, key)
        self.count = ordinal + 1
        return ordinal

    def _add_key(self, ordinal: int, key: bytes | None) -> None:
        if self._key_offsets is None:
            self._key_offsets = array("Q", bytes(8 * ordinal))
            self._key_sizes = array("I", bytes(4 * ordinal))
        assert self._key_sizes is not None
        if key is None:
            self._key_offsets.append(0)
            self._key_sizes.append(0)
        else:
            self._key_offsets.append(self._keys.append(key) + 1)
            self._key_sizes.append(len(key))

    def forget(self, record_id: str) -> int:
        """Free an id for another record (its ordinal keeps no id until :meth:`rename`)."""
        ordinal = self.ordinal_of(record_id)
        assert ordinal is not None
        self._id_index.set_renamed(ordinal, "")
        return ordinal

    def rename(self, ordinal: int, record_id: str) -> None:
        """Give a record another id."""
        self._id_index.set_renamed(ordinal, record_id)

    def truncate(self, count: int) -> None:
        """Forget every record from ordinal ``count`` on."""
        self._id_index.truncate(count)
        if self._key_offsets is not None and self._key_sizes is not None:
            first = next((o for o in self._key_offsets[count:] if o), 0)
            if first:
                self._keys.truncate(first - 1)
            del self._key_offsets[count:]
            del self._key_sizes[count:]
        self.count = min(self.count, count)

    # -- reading ---------------------------------------------------------------------------

    def ordinal_of(self, record_id: str) -> int | None:
        """The ordinal of an id, or None when the batch has no such record."""
        return self._id_index.ordinal_of(record_id, self.count)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and self.ordinal_of(record_id) is not None

    def id_at(self, ordinal: int) -> str:
        """The id of the record at ``ordinal``."""
        return self._id_index.id_at(ordinal)

    def ids(self, start: int = 0, end: int | None = None) -> list[str]:
        """Ids ``[start, end)`` in order."""
        stop = self.count if end is None else min(end, self.count)
        return list(self._id_index.ids(start, stop))

    def encoded_key_at(self, ordinal: int) -> bytes | None:
        """The caller's key of a record, as JSON (None when it has none)."""
        if self._key_offsets is None or self._key_sizes is None:
            return None
        offset = self._key_offsets[ordinal]
        return self._keys.read(offset - 1, self._key_sizes[ordinal]) if offset else None

    def key_at(self, ordinal: int) -> Any:
        """The caller's key of a record (None when it has none)."""
        raw = self.encoded_key_at(ordinal)
        return None if raw is None else decode(raw)

    def key_of(self, record_id: str) -> Any:
        """The caller's key for a record id (None when none was given)."""
        ordinal = self.ordinal_of(record_id)
        return None if ordinal is None else self.key_at(ordinal)

    def iter_index(self) -> Iterator[tuple[str, Any]]:
        """(record id, key) in order."""
        for ordinal, record_id in enumerate(self._id_index.ids(0, self.count)):
            yield record_id, self.key_at(ordinal)

    # -- index.jsonl -------------------------------------------------------------------------

    def index_lines(self) -> Iterator[bytes]:
        """``index.jsonl``: a header, then only what the ordinals do not say (ids that are not
        the default, and keys), streamed in ordinal order."""
        yield encode_line({"format": INDEX_FORMAT, "records": self.count})
        listed: Iterable[int] = self._id_index.listed(self.count)
        if self._key_offsets is not None:
            keyed = (o for o, off in enumerate(self._key_offsets) if off)
            listed = (o for o, _ in itertools.groupby(heapq.merge(listed, keyed)))
            named = self._id_index.is_listed
        else:
            named = None
        for ordinal in listed:
            parts = [b'{"n":', str(ordinal).encode()]
            if named is None or named(ordinal):
                parts += [b',"recordId":', encode(self._id_index.id_at(ordinal))]
            key = self.encoded_key_at(ordinal)
            if key is not None:
                parts += [b',"key":', key]
            parts.append(b"}\n")
            yield b"".join(parts)

    @classmethod
    def from_lines(cls, lines: Iterable[bytes]) -> RecordIndex:
        """Load an ``index.jsonl`` (either this version's or version 0.1's, which lists every
        record)."""
        index = cls()
        total: int | None = None
        for raw in lines:
            entry = decode(raw)
            if entry.get("format") == INDEX_FORMAT:
                total = int(entry["records"])
                continue
            ordinal = int(entry.get("n", index.count))
            while index.count < ordinal:
                index.add(default_id_factory(index.count), default=True)
            record_id = entry.get("recordId") or default_id_factory(ordinal)
            key = entry.get("key")
            index.add(record_id, None if key is None else encode(key))
        while total is not None and index.count < total:
            index.add(default_id_factory(index.count), default=True)
        return index

    def close(self) -> None:
        """Release the keys' and ids' memory or files."""
        self._keys.close()
        self._id_index.close()


class _RangeReader(io.RawIOBase):
    """Bytes ``[begin, stop)`` of a file descriptor as a seekable file (``pread``: the
    descriptor's own position is never moved)."""

    def __init__(self, fd: int, begin: int, stop: int) -> None:
        self._fd, self._begin, self._size, self._pos = fd, begin, stop - begin, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._begin + self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


@attrs.frozen
class Mark:
    """A point to roll the store back to."""

    records: int
    total_bytes: int
    digest: Any  # a hashlib object's copy


class RecordStore:
    """Append-only record lines plus their index."""

    def __init__(self) -> None:
        self.index = RecordIndex()
        self._handle: IO[bytes] | None = None  # opened with the first record
        self._pending: list[bytes] = []
        self._flushed = 0  # bytes written to the file (the rest are pending)
        self.sizes = array("I")
        self._starts = array("Q", [0])  # prefix sums of sizes, extended when read
        self._hash = hashlib.sha256()
        self.total_bytes = 0
        self.closed = False

    def __len__(self) -> int:
        return self.index.count

    def __contains__(self, record_id: object) -> bool:
        return record_id in self.index

    @property
    def _file(self) -> IO[bytes]:
        if self._handle is None:
            if self.closed:
                raise ValueError("the record store is closed")
            self._handle = tempfile.TemporaryFile(prefix="bedrock-batch-")  # noqa: SIM115
        return self._handle

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._file.write(data)
            self._hash.update(data)
            self._pending.clear()
        self._flushed = self.total_bytes
        if self._handle is not None:
            self._handle.flush()

    # -- appending -------------------------------------------------------------------------

    def append_line(
        self, record_id: str, line: bytes, key: bytes | None = None, *, default: bool = False
    ) -> int:
        """Store an encoded line (ending in ``\\n``) and its encoded key; returns its ordinal.

        The caller checked that the id is new; ``default`` says it is its ordinal's default id.
        """
        index = self.index
        if default and key is None and index._key_offsets is None:
            ordinal = index.count  # the common case: nothing to remember about this record
            index.count = ordinal + 1
        else:
            ordinal = index.add(record_id, key, default=default)
        self._pending.append(line)
        size = len(line)
        self.sizes.append(size)
        total = self.total_bytes = self.total_bytes + size
        if total - self._flushed >= _FLUSH_BYTES:
            self._flush()
        return ordinal

    def _offset(self, ordinal: int) -> int:
        """Where record ``ordinal``'s line starts in the file (``total_bytes`` past the end)."""
        starts = self._starts
        known = len(starts) - 1
        if known < len(self.sizes):
            sums = itertools.accumulate(self.sizes[known:], initial=starts[-1])
            next(sums)  # the known start
            starts.extend(sums)
        return starts[ordinal]

    def mark(self) -> Mark:
        """Remember this point (see :meth:`rollback`)."""
        self._flush()
        return Mark(len(self), self.total_bytes, self._hash.copy())

    def rollback(self, mark: Mark) -> None:
        """Forget every record appended since ``mark``."""
        self._flush()
        self.index.truncate(mark.records)
        del self.sizes[mark.records :]
        del self._starts[mark.records + 1 :]
        if self._handle is not None:
            self._handle.truncate(mark.total_bytes)
            self._handle.seek(mark.total_bytes)
        self.total_bytes = self._flushed = mark.total_bytes
        self._hash = mark.digest.copy()

    def forget_id(self, record_id: str) -> int:
        """Free an id for another record; its line keeps the old id until :meth:`rename`."""
        return self.index.forget(record_id)

    def rename(self, new_ids: dict[int, str], since: Mark) -> None:
        """Give the records at these ordinals new ids, rewriting their lines (rare: a generated
        id that a later explicit id claimed in the same call). ``since`` is the call's mark."""
        self._flush()
        first = min(new_ids)
        lines = list(self.iter_lines(first))
        head = list(self.iter_lines(since.records, first))
        start = self._offset(first)
        self._file.truncate(start)
        self._file.seek(start)
        self.total_bytes = start
        del self._starts[first + 1 :]
        self._hash = since.digest.copy()
        for line in head:
            self._hash.update(line)
        for ordinal, old in enumerate(lines, start=first):
            line = old
            if ordinal in new_ids:
                obj = decode(old)
                obj["recordId"] = new_ids[ordinal]
                line = encode_line(obj)
                self.index.rename(ordinal, new_ids[ordinal])
            self._file.write(line)
            self._hash.update(line)
            self.sizes[ordinal] = len(line)
            self.total_bytes += len(line)
        self._flushed = self.total_bytes

    # -- reading ---------------------------------------------------------------------------

    def salt(self, data: bytes) -> None:
        """Mix ``data`` into the content digest (what else makes the batch: see ``_reuse``)."""
        self._flush()
        self._hash.update(data)

    def content_digest(self) -> str:
        """SHA-256 of every line so far, in order."""
        self._flush()
        return self._hash.hexdigest()

    def iter_lines(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The stored lines of records ``[start, end)``, in order (a fresh pass each call)."""
        end = len(self) if end is None else end
        if start >= end:
            return
        self._flush()
        fd = self._file.fileno()
        pos = self._offset(start)
        stop = self._offset(end)
        sizes = self.sizes
        ordinal = start
        while pos < stop:  # read in large blocks, cut by the known sizes
            block = os.pread(fd, min(_COPY_CHUNK, stop - pos), pos)
            cut = 0
            while ordinal < end and cut + sizes[ordinal] <= len(block):
                yield block[cut : cut + sizes[ordinal]]
                cut += sizes[ordinal]
                ordinal += 1
            if cut == 0:  # one line longer than the block
                yield os.pread(fd, sizes[ordinal], pos)
                cut = sizes[ordinal]
                ordinal += 1
            pos += cut

    def range_size(self, start: int, end: int) -> int:
        """How many bytes the lines of records ``[start, end)`` take."""
        n = len(self)
        return self._offset(min(end, n)) - self._offset(min(start, n))

    def open_range(self, start: int, end: int) -> tuple[IO[bytes], int, str]:
        """A read-only, seekable view of the lines of records ``[start, end)`` (no copy: it
        reads the store's file), their size and SHA-256 (each block read and hashed once).
        Valid until the store changes; the caller closes it."""
        self._flush()
        n = len(self)
        begin = self._offset(min(start, n))
        stop = self._offset(min(end, n))
        fd = self._file.fileno()
        digest = hashlib.sha256()
        pos = begin
        while pos < stop:
            chunk = os.pread(fd, min(_COPY_CHUNK, stop - pos), pos)
            if not chunk:
                raise OSError(f"the record store ended at byte {pos} of {stop}")
            digest.update(chunk)
            pos += len(chunk)
        view = io.BufferedReader(_RangeReader(fd, begin, stop), _COPY_CHUNK)
        return view, stop - begin, digest.hexdigest()

    def copy_range(self, start: int, end: int, dest: IO[bytes]) -> tuple[int, str]:
        """Write the lines of records ``[start, end)`` to ``dest``; returns (bytes, SHA-256).
        Each block is read once, hashed and written."""
        self._flush()
        fd = self._file.fileno()
        n = len(self)
        begin = self._offset(min(start, n))
        stop = self._offset(min(end, n))
        digest = hashlib.sha256()
        pos = begin
        while pos < stop:
            chunk = os.pread(fd, min(_COPY_CHUNK, stop - pos), pos)
            if not chunk:
                raise OSError(f"the record store ended at byte {pos} of {stop}")
            digest.update(chunk)
            dest.write(chunk)
            pos += len(chunk)
        return stop - begin, digest.hexdigest()

    def ids(self, start: int = 0, end: int | None = None) -> list[str]:
        """Record ids ``[start, end)`` in order."""
        return self.index.ids(start, end)

    def iter_index(self) -> Iterator[tuple[str, Any]]:
        """(record id, key) in order."""
        return self.index.iter_index()

    def key_of(self, record_id: str) -> Any:
        """The caller's key for a record id (None when none was given)."""
        return self.index.key_of(record_id)

    def close(self) -> None:
        """Delete the temporary file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._pending.clear()
        self.index.close()
        self.closed = True

"""Where added records live until upload: encoded lines in a spooled temporary file.

Memory holds only the index (record id → ordinal, the caller's keys, line sizes); the lines
themselves go to a :class:`tempfile.SpooledTemporaryFile` that moves to disk past 8 MiB.
A running SHA-256 of every line gives the job its content address without a second pass.
"""

from __future__ import annotations

import hashlib
import itertools
import tempfile
from array import array
from collections.abc import Iterator
from typing import Any

import attrs

from ._jsonl import dumps_line

__all__ = ["RecordStore", "Shard", "plan_shards"]


class RecordStore:
    """Append-only record lines plus their index."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
        self._ids: dict[str, int] = {}
        self._order: list[str] = []
        self._keys: dict[int, Any] = {}
        self.sizes = array("Q")
        self._hash = hashlib.sha256()
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._ids

    def append(self, record_id: str, model_input: dict[str, Any], key: Any = None) -> int:
        """Store one record; returns its 0-based ordinal. The caller checked uniqueness."""
        line = dumps_line({"recordId": record_id, "modelInput": model_input})
        return self.append_line(record_id, line, key)

    def append_line(self, record_id: str, line: bytes, key: Any = None) -> int:
        """Store an already encoded line (ending in ``\\n``)."""
        ordinal = len(self._order)
        self._file.seek(0, 2)
        self._file.write(line)
        self._hash.update(line)
        self._ids[record_id] = ordinal
        self._order.append(record_id)
        if key is not None:
            self._keys[ordinal] = key
        self.sizes.append(len(line))
        self.total_bytes += len(line)
        return ordinal

    def content_digest(self) -> str:
        """SHA-256 of every line so far, in order."""
        return self._hash.hexdigest()

    def iter_lines(self) -> Iterator[bytes]:
        """Every stored line, in order (a fresh pass each call)."""
        self._file.seek(0)
        for _ in range(len(self._order)):
            yield self._file.readline()

    def iter_index(self) -> Iterator[tuple[str, Any]]:
        """(record id, key) in order."""
        for ordinal, record_id in enumerate(self._order):
            yield record_id, self._keys.get(ordinal)

    def key_of(self, record_id: str) -> Any:
        """The caller's key for a record id (None when none was given)."""
        return self._keys.get(self._ids[record_id])

    def close(self) -> None:
        """Discard the spooled lines."""
        self._file.close()


@attrs.frozen
class Shard:
    """Records ``[start, end)`` of the store, ``size`` bytes, written as one ``.jsonl`` file."""

    index: int
    start: int
    end: int
    size: int

    @property
    def records(self) -> int:
        """How many records the shard holds."""
        return self.end - self.start

    @property
    def name(self) -> str:
        """The shard's file name."""
        return f"part-{self.index:05d}.jsonl"


def plan_shards(sizes: Any, max_records: int, max_bytes: int) -> list[Shard]:
    """Cut consecutive records into files of at most ``max_records`` records and ``max_bytes``.

    Greedy and order-preserving; every record lands in exactly one shard. A single record larger
    than ``max_bytes`` is the caller's error to report (it is put alone in its own shard here).
    """
    if max_records < 1 or max_bytes < 1:
        raise ValueError("shard limits must be positive")
    shards: list[Shard] = []
    start = 0
    size = 0
    for i, n in enumerate(sizes):
        if i > start and (i - start >= max_records or size + n > max_bytes):
            shards.append(Shard(len(shards), start, i, size))
            start, size = i, 0
        size += n
    if len(sizes) > start:
        shards.append(Shard(len(shards), start, len(sizes), size))
    return shards


@attrs.frozen
class Part:
    """Records ``[start, end)`` submitted as one Bedrock job, cut into ``shards`` files."""

    index: int
    start: int
    end: int
    size: int
    shards: tuple[Shard, ...]

    @property
    def records(self) -> int:
        """How many records the part holds."""
        return self.end - self.start


def plan_parts(
    sizes: Any,
    *,
    max_records_per_job: int,
    max_job_bytes: int,
    max_records_per_file: int,
    max_file_bytes: int,
) -> list[Part]:
    """Split records into as few jobs as the per-job quotas allow, of near-equal record counts
    (so no job falls below the minimum when the total is above it), each cut into files."""
    n = len(sizes)
    if n == 0:
        return []
    prefix = [0]
    for s in sizes:
        prefix.append(prefix[-1] + s)
    total = prefix[-1]
    k = max(1, -(-n // max_records_per_job), -(-total // max_job_bytes))
    while True:
        bounds = [round(i * n / k) for i in range(k + 1)]
        if (
            all(prefix[b] - prefix[a] <= max_job_bytes for a, b in itertools.pairwise(bounds))
            or k >= n
        ):
            break
        k += 1
    parts = []
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        local = plan_shards(sizes[a:b], max_records_per_file, max_file_bytes)
        shards = tuple(Shard(s.index, s.start + a, s.end + a, s.size) for s in local)
        parts.append(Part(i, a, b, prefix[b] - prefix[a], shards))
    return parts

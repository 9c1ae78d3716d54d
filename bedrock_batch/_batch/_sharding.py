"""Cutting records into input files and jobs under a model's quotas. Pure functions of the
records' encoded sizes; every record lands in exactly one file of exactly one job."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Sequence

import attrs

__all__ = ["Part", "Shard", "plan_parts", "plan_shards"]


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


def plan_shards(sizes: Sequence[int], max_records: int, max_bytes: int) -> list[Shard]:
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
    sizes: Sequence[int],
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
    prefix = array("Q", itertools.accumulate(sizes, initial=0))  # 8 bytes a record
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

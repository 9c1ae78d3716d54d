"""A batch's results cut into independent, picklable units for a cluster (Dask, Ray, Spark).

The single-process join (:class:`~bedrock_batch._reader._results.Join`) reads the output files in
one order — latest attempt first — and lets the first joinable line of each record win. Read
in parallel, one file alone cannot know whether a later attempt answered one of its records,
or which records no file answered. The plan answers both before any worker starts:

- **Read ahead: retries and on-demand answers.** The planner reads the output lines of every
  retry attempt and every on-demand run (small, as a rule: the records that failed, or a batch
  below the model's minimum), in the join's order, and gives each such file the list of records
  it answers — first joinable line, first file, latest attempt. A *listed* partition emits
  exactly those records.
- **First-attempt files own their records.** Each input file of the first submission holds
  the records ``[start, end)`` of the index (its shard, in the ledger), and its output file is
  the only one that answers them there. A *range* partition reads that output file and emits
  each record of its range exactly once — the first line of each (a second copy is dropped),
  or ``missing`` when the file has none — except the records a retry answered, which the
  planner gives it to skip. A range whose job was never created, or whose file is absent,
  emits its records as missing; an on-demand run's range emits those no answer covered.
- **Ids and keys from the S3 index.** A range partition reads only its slice of the batch's
  ``index.jsonl`` (lines are in record order; the planner notes the byte offset of each range's
  first line in one streamed pass), so a worker holds one file's records, never the batch.

So every record of the batch comes back exactly once, from the same line as the single-process
join whenever the first attempt's outputs answer their own inputs (Bedrock writes each input
file's answers to its own output file); ``len(partition)`` is its exact row count.

Partitions hold no client: a worker builds its S3 client from :class:`S3Config` (endpoint,
region, expected bucket owner) and takes credentials from its own environment.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import re
import threading
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._common._codec import decode, encode, has_lone_surrogate, scrub_surrogates
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import StateError, translate_client_error
from .._families._protocol import ClientFamily
from .._ledger._ledger import INDEX_NAME, REJECTS_NAME
from .._records._ids import default_id_factory, default_ordinal
from .._records._store import INDEX_FORMAT, RecordIndex
from ._export import KeyFields, arrow_table, key_fields
from ._results import Join, OutputSource, Result
from ._scan import scan

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["IndexSlice", "Partition", "S3Config", "plan_partitions"]

log = logging.getLogger("bedrock_batch")

#: Records per partition for the records no file covers (jobs this library did not create).
_REMAINDER = 50_000
_N = re.compile(rb'\{"n":(\d+)')


@attrs.frozen
class S3Config:
    """How a worker reaches S3: the endpoint and region the planner used, and the expected
    bucket owner. Credentials come from the worker's own environment."""

    endpoint_url: str | None = None
    region: str | None = None
    bucket_owner: str | None = None

    @classmethod
    def of(cls, s3: S3Access) -> S3Config:
        """The configuration of the planner's S3 access."""
        meta = s3.client.meta
        return cls(meta.endpoint_url, meta.region_name, s3.bucket_owner)

    def access(self) -> S3Access:
        """An :class:`S3Access` on this process's client for this configuration."""
        return S3Access(_client(self.endpoint_url, self.region), bucket_owner=self.bucket_owner)


_CLIENTS: dict[tuple[int, str | None, str | None], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(endpoint_url: str | None, region: str | None) -> S3Client:
    """One S3 client per process and configuration (boto3 clients are thread-safe)."""
    import boto3

    from .._common._clients import default_config

    key = (os.getpid(), endpoint_url, region)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            session = boto3.session.Session()
            client = session.client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=default_config()
            )
            _CLIENTS[key] = client
    return client


@attrs.frozen
class IndexSlice:
    """Bytes ``[start, end)`` of a batch's ``index.jsonl``: the lines of one range of records
    (``first_ordinal`` numbers a line that does not carry its ``n``, as version 0.1 wrote)."""

    bucket: str
    key: str
    start: int
    end: int
    first_ordinal: int


@attrs.frozen
class Partition:
    """One independent unit of a batch's results: read it anywhere with :meth:`results`,
    :meth:`to_arrow` or :meth:`to_pandas` (see :meth:`Results.partitions
    <bedrock_batch.Results.partitions>`).

    A *range* partition answers for the records ``span`` of the index, minus ``skip``; a
    *listed* partition for the records in ``records`` (``(record id, ordinal, key as JSON)``).
    ``bucket``/``key`` name its output file (None: its records have no output, they come back
    missing). Every record it answers for comes back exactly once: ``len(partition)`` rows.
    """

    number: int
    bucket: str | None
    key: str | None
    job_arn: str | None
    attempt: int
    s3: S3Config
    span: tuple[int, int] | None = None
    skip: frozenset[int] = frozenset()
    index: IndexSlice | None = None
    records: tuple[tuple[str, int, bytes | None], ...] = ()
    chunk_size: int = 1 << 20
    #: Tool name -> pydantic model, to validate structured outputs as :meth:`BatchJob.results`
    #: does (models must be importable where the partition is read: pickled by reference).
    models: tuple[tuple[str, Any], ...] = ()
    #: How many records skipped when added (``on_invalid="skip"``) this partition gives back
    #: from ``bucket``/``key`` (the batch's ``rejected.jsonl``), all as ``rejected``.
    rejected: int = 0
    #: The model family that reads the outputs (None: read them by their shape).
    family: ClientFamily | None = None
    #: The ``key_<name>`` columns of the whole batch (every partition has the same ones).
    key_fields: KeyFields = ()
    #: Records answered without being sent (``dedupe=True``) whose answer is that of a record
    #: this partition gives: ``(record id, ordinal, key as JSON, the sent record's ordinal)``.
    twins: tuple[tuple[str, int, bytes | None, int], ...] = ()

    @property
    def kind(self) -> str:
        """``range``, ``listed`` or ``rejected``."""
        if self.rejected:
            return "rejected"
        return "range" if self.span is not None else "listed"

    def __len__(self) -> int:
        if self.rejected:
            return self.rejected
        if self.span is not None:
            return self.span[1] - self.span[0] - len(self.skip) + len(self.twins)
        return len(self.records) + len(self.twins)

    def results(self) -> Iterator[Result]:
        """Stream this partition's results (the same join as :class:`~bedrock_batch.Results`,
        on one file; a missing record's ``model_input`` is not read)."""
        access = self.s3.access()
        if self.rejected:
            where = S3Uri(self.bucket or "", self.key or "")
            yield from Join(
                s3=access,
                sources=(),
                index=RecordIndex(),
                read_inputs=lambda wanted: iter(()),
                read_rejects=lambda: (decode(raw) for _, raw in access.lines(where)),
            )
            return
        sources = []
        if self.bucket is not None and self.key is not None:
            location = str(S3Uri(self.bucket, self.key))
            sources.append(OutputSource(location, self.job_arn, self.attempt, single_file=True))
        window = self._window(access)
        fan_out: dict[int, list[int]] = {}
        for _, ordinal, _, of in self.twins:  # in the window's positions
            sent, twin = window._position(of), window._position(ordinal)
            assert sent is not None
            assert twin is not None
            fan_out.setdefault(sent, []).append(twin)
        results = Join(
            s3=access,
            sources=sources,
            index=window,
            read_inputs=lambda wanted: iter(()),
            models=dict(self.models),
            chunk_size=self.chunk_size,
            family=self.family,
            fan_out=fan_out,
        )
        yield from results

    def to_arrow(self, columns: Sequence[str] | None = None) -> Any:
        """A ``pyarrow.Table`` with the columns and types of :meth:`Results.to_arrow
        <bedrock_batch.Results.to_arrow>` (``columns`` picks some)."""
        table = arrow_table(self.results(), 10_000, fields=self.key_fields)
        return table.select(list(columns)) if columns is not None else table

    def to_pandas(self, columns: Sequence[str] | None = None) -> Any:
        """A ``pandas.DataFrame`` whose columns keep :meth:`to_arrow`'s Arrow types."""
        import pandas as pd

        return self.to_arrow(columns).to_pandas(types_mapper=pd.ArrowDtype)

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (
            "bedrock-batch-partition", self.number, self.bucket, self.key, self.job_arn,
            self.attempt, self.s3, self.span, sorted(self.skip), self.index, self.records,
            self.rejected, self.twins,
        )  # fmt: skip

    def _window(self, access: S3Access) -> _Window:
        if self.span is None:
            ordinals = [ordinal for _, ordinal, _ in self.records]
            explicit = {ordinal: rid for rid, ordinal, _ in self.records}
            keys = {ordinal: key for _, ordinal, key in self.records if key is not None}
        else:
            start, end = self.span
            explicit, keys = _read_slice(access, self.index, start, end)
            skip = self.skip
            ordinals = [o for o in range(start, end) if o not in skip]
        for rid, ordinal, key, _ in self.twins:
            ordinals.append(ordinal)
            explicit[ordinal] = rid
            if key is not None:
                keys[ordinal] = key
        return _Window(ordinals, explicit, keys)


class _Window(RecordIndex):
    """The index of one partition's records: positions ``0..len-1`` stand for the batch's
    ordinals in ``ordinals`` (sorted), so the join's bookkeeping is one partition's size."""

    def __init__(
        self, ordinals: Sequence[int], explicit: dict[int, str], keys: dict[int, bytes]
    ) -> None:
        super().__init__()
        ordered = sorted(ordinals)
        self._ordinals = array("Q", ordered)
        self._ids = explicit  # batch ordinal -> id, for ids that are not the default
        self._by_id = {rid: ordinal for ordinal, rid in explicit.items()}
        self._encoded = keys
        self.count = len(ordered)

    @property
    def has_named(self) -> bool:
        return bool(self._ids)

    def _position(self, ordinal: int) -> int | None:
        pos = bisect.bisect_left(self._ordinals, ordinal)
        if pos < len(self._ordinals) and self._ordinals[pos] == ordinal:
            return pos
        return None

    def ordinal_of(self, record_id: str) -> int | None:
        ordinal = self._by_id.get(record_id)
        if ordinal is None:
            ordinal = default_ordinal(record_id)
            if ordinal is None or ordinal in self._ids:
                return None
        return self._position(ordinal)

    def id_at(self, ordinal: int) -> str:
        batch_ordinal = self._ordinals[ordinal]
        return self._ids.get(batch_ordinal) or default_id_factory(batch_ordinal)

    def ids(self, start: int = 0, end: int | None = None) -> list[str]:
        stop = self.count if end is None else min(end, self.count)
        return [self.id_at(o) for o in range(start, stop)]

    def encoded_key_at(self, ordinal: int) -> bytes | None:
        return self._encoded.get(self._ordinals[ordinal])


# -- reading index.jsonl by byte ranges ------------------------------------------------------


def _lines_at(
    access: S3Access, bucket: str, key: str, byte_range: tuple[int, int] | None = None
) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, next line's offset, line)`` of an object or of a byte range of it, split on
    ``\\n`` only (blank lines are skipped)."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    offset = 0  # where ``pending`` starts
    if byte_range is not None:
        offset = byte_range[0]
        kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
    resp = access._call("GetObject", access.client.get_object, **kwargs)
    with contextlib.closing(resp["Body"]) as body, translate_client_error("GetObject"):
        pending = b""
        for chunk in body.iter_chunks(1 << 20):
            data = pending + chunk if pending else chunk
            start = 0
            while (end := data.find(b"\n", start)) >= 0:
                if data[start:end].strip():
                    yield offset + start, offset + end + 1, data[start:end].rstrip(b"\r")
                start = end + 1
            pending = data[start:]
            offset += start
        if pending.strip():
            yield offset, offset + len(pending), pending.rstrip(b"\r")


def _line_ordinal(raw: bytes, previous: int) -> int | None:
    """The ordinal an index line is about (None for the header line)."""
    m = _N.match(raw)
    if m:
        return int(m.group(1))
    entry = decode(raw)
    if entry.get("format") == INDEX_FORMAT:
        return None
    return int(entry.get("n", previous + 1))


def _index_offsets(
    access: S3Access, uri: S3Uri, boundaries: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """For each boundary ordinal: the byte offset of the first index line at or after it, and
    that line's ordinal (one streamed pass; only the offsets are kept)."""
    wanted = sorted(set(boundaries))
    out: dict[int, tuple[int, int]] = {}
    pos = 0
    previous = -1
    end = 0
    for offset, after, raw in _lines_at(access, uri.bucket, uri.key):
        end = after
        ordinal = _line_ordinal(raw, previous)
        if ordinal is None:
            continue
        while pos < len(wanted) and wanted[pos] <= ordinal:
            out[wanted[pos]] = (offset, ordinal)
            pos += 1
        previous = ordinal
    for boundary in wanted[pos:]:
        out[boundary] = (end, boundary)
    return out


def _read_slice(
    access: S3Access, piece: IndexSlice | None, start: int, end: int
) -> tuple[dict[int, str], dict[int, bytes]]:
    """Ids that are not the default, and keys, of the records ``[start, end)``."""
    explicit: dict[int, str] = {}
    keys: dict[int, bytes] = {}
    if piece is None or piece.end <= piece.start:
        return explicit, keys
    previous = piece.first_ordinal - 1
    for _, _, raw in _lines_at(access, piece.bucket, piece.key, (piece.start, piece.end)):
        entry = decode(raw)
        if entry.get("format") == INDEX_FORMAT:
            continue
        ordinal = int(entry.get("n", previous + 1))
        previous = ordinal
        if not start <= ordinal < end:
            continue
        rid = entry.get("recordId") or default_id_factory(ordinal)
        if default_ordinal(rid) != ordinal:
            explicit[ordinal] = rid
        if entry.get("key") is not None:
            keys[ordinal] = encode(entry["key"])
    return explicit, keys


# -- the plan ----------------------------------------------------------------------------------


@attrs.frozen
class _Range:
    start: int
    end: int
    bucket: str | None = None
    key: str | None = None
    job_arn: str | None = None


def _line_id(raw: bytes) -> str | None:
    """The record id the join would read from an output line (None: it would not join)."""
    frame = scan(raw)  # its frame, as the join reads it; else the line decoded whole
    if frame is not None:
        return frame[0]
    try:
        obj = decode(raw)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("recordId"), str):
        return None
    if has_lone_surrogate(raw, obj):
        obj = scrub_surrogates(obj)
    return str(obj["recordId"])


class _Ranges:
    """Sorted, disjoint ranges of ordinals, for "is this ordinal in one of them"."""

    def __init__(self, ranges: Sequence[tuple[int, int]]) -> None:
        self._ranges = sorted(ranges)
        self._starts = [s for s, _ in self._ranges]

    def __contains__(self, ordinal: int) -> bool:
        i = bisect.bisect_right(self._starts, ordinal) - 1
        return i >= 0 and ordinal < self._ranges[i][1]

    def gaps(self, total: int) -> list[tuple[int, int]]:
        """The ranges of ``[0, total)`` no range covers."""
        out, at = [], 0
        for start, end in self._ranges:
            if start > at:
                out.append((at, start))
            at = max(at, end)
        if at < total:
            out.append((at, total))
        return out


def _with_twins(
    parts: list[Partition], fan_out: Mapping[int, list[int]], answered: Mapping[int, int],
    n_ranges: int, index: RecordIndex,
) -> list[Partition]:  # fmt: skip
    """``parts`` with each twin given to the part that gives the record whose answer it shares:
    the listed file that answered it, else the range that holds it."""
    starts = [part.span[0] if part.span else 0 for part in parts[:n_ranges]]
    given: dict[int, list[tuple[str, int, bytes | None, int]]] = {}
    for sent, twins in fan_out.items():
        at = answered.get(sent)
        number = n_ranges + at if at is not None else bisect.bisect_right(starts, sent) - 1
        span = parts[number].span
        assert at is not None or (span is not None and span[0] <= sent < span[1])
        given.setdefault(number, []).extend((index.id_at(t), t, index.encoded_key_at(t), sent) for t in twins)  # fmt: skip
    return [attrs.evolve(p, twins=tuple(given[n])) if n in given else p for n, p in enumerate(parts)]  # fmt: skip


def plan_partitions(results: Join, s3: S3Config | None = None) -> list[Partition]:
    """Cut a batch's results into independent partitions (see the module docstring)."""
    access, index, ledger = results._s3, results._index, results.ledger
    config = s3 or S3Config.of(access)
    total = len(index)
    sources = results.sources  # latest attempt first: the join's order
    first = ledger.attempts[0] if ledger is not None and ledger.attempts else None
    in_s3 = ledger is not None and results.index_in_s3
    ranges: list[_Range] = []
    read_by_range: set[int] = set()
    run_ranges: list[tuple[int, int]] = []
    if in_s3 and first is not None:
        by_arn = {s.job_arn: i for i, s in enumerate(sources) if s.attempt == 0 and s.job_arn}
        for job in first.jobs:
            if not job.files:
                continue
            found: dict[str, str] = {}
            bucket = None
            i = by_arn.get(job.job_arn) if job.job_arn else None
            if i is not None:
                folder, keys = results._files(sources[i])
                read_by_range.add(i)
                bucket = folder.bucket
                found = {k[len(folder.prefix) :]: k for k in keys}
                extra = set(found) - {f"{f.name}.out" for f in job.files}
                if extra:
                    log.warning("%s: output files with no input file are not read: %s", job.job_arn, sorted(extra))  # fmt: skip
            for f in job.files:
                key = found.get(f"{f.name}.out")
                ranges.append(_Range(f.start, f.end, bucket if key else None, key, job.job_arn))
        if first.on_demand is not None:
            run_ranges = [(f.start, f.end) for f in first.on_demand.files]
            ranges += [_Range(s, e) for s, e in run_ranges]
    covered = _Ranges([(r.start, r.end) for r in ranges])
    runs = _Ranges(run_ranges)

    # read ahead: every file no range reads, in the join's order
    answered: dict[int, int] = {}
    listed: list[tuple[OutputSource, str, str, list[int]]] = []
    for i, src in enumerate(sources):
        if i in read_by_range:
            continue
        folder, keys = results._files(src)
        for key in keys:
            entries: list[int] = []
            uri = S3Uri(folder.bucket, key)
            for _, raw in access.lines(uri, chunk_size=results._chunk):
                rid = _line_id(raw)
                ordinal = None if rid is None else index.ordinal_of(rid)
                if ordinal is None or ordinal in answered:
                    continue
                if src.attempt == 0:  # the first attempt answers only its own records
                    own_run = src.job_arn is None and not src.reused  # (reused: none covered)
                    mine = ordinal in runs if own_run else ordinal not in covered
                    if not mine:
                        continue
                answered[ordinal] = len(listed)
                entries.append(ordinal)
            listed.append((src, folder.bucket, key, entries))

    done = sorted(answered)

    def skipped(start: int, end: int) -> frozenset[int]:
        return frozenset(done[bisect.bisect_left(done, start) : bisect.bisect_left(done, end)])

    def record(ordinal: int) -> tuple[str, int, bytes | None]:
        return index.id_at(ordinal), ordinal, index.encoded_key_at(ordinal)

    # records answered without being sent follow the sent ones in the index (``fanout.jsonl``):
    # a twin comes back with the record whose answer it shares, a reused one from its copy
    fan_out, sent = results._fan_out, ledger.records if ledger and ledger.fanout else total
    if sent < total and not in_s3:
        raise StateError("partitions() of a batch with records answered without being sent needs its index in S3")  # fmt: skip
    twins = {t for ts in fan_out.values() for t in ts}
    gaps = covered.gaps(sent) if ranges else [(0, sent)] if sent else []
    if in_s3:
        ranges += [_Range(s, e) for s, e in gaps]
        gaps = []
    parts: list[Partition] = []
    if ranges:
        assert ledger is not None
        uri = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, INDEX_NAME)
        offsets = _index_offsets(access, uri, [b for r in ranges for b in (r.start, r.end)])
        for r in sorted(ranges, key=lambda r: r.start):
            (lo, first_ordinal), (hi, _) = offsets[r.start], offsets[r.end]
            piece = IndexSlice(uri.bucket, uri.key, lo, hi, first_ordinal)
            parts.append(
                Partition(
                    len(parts), r.bucket, r.key, r.job_arn, 0, config, (r.start, r.end),
                    skipped(r.start, r.end), piece, chunk_size=results._chunk,
                )
            )  # fmt: skip
    n_ranges = len(parts)  # listed file i is part n_ranges + i
    for src, bucket, key, entries in listed:
        parts.append(
            Partition(
                len(parts), bucket, key, src.job_arn, src.attempt, config,
                records=tuple(record(o) for o in entries), chunk_size=results._chunk,
            )
        )  # fmt: skip
    for start, end in gaps:  # records no file covers: a job this library did not create
        left = [o for o in range(start, end) if o not in answered]
        for at in range(0, len(left), _REMAINDER):
            chunk = tuple(record(o) for o in left[at : at + _REMAINDER])
            parts.append(Partition(len(parts), None, None, None, 0, config, records=chunk))
    left = [o for o in range(sent, total) if o not in answered and o not in twins]
    for at in range(0, len(left), _REMAINDER):  # reused records whose copy has no answer
        chunk = tuple(record(o) for o in left[at : at + _REMAINDER])
        parts.append(Partition(len(parts), None, None, None, 0, config, records=chunk))
    if fan_out:
        parts = _with_twins(parts, fan_out, answered, n_ranges, index)
    if ledger is not None and ledger.rejected:  # records skipped when added, never sent
        where = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, REJECTS_NAME)
        parts.append(
            Partition(
                len(parts), where.bucket, where.key, None, 0, config, rejected=ledger.rejected
            )
        )
    if results._models:
        models = tuple(sorted(results._models.items()))
        parts = [attrs.evolve(part, models=models) for part in parts]
    fields = key_fields(key for _, key in index.iter_index())
    return [attrs.evolve(part, family=results.family, key_fields=fields) for part in parts]

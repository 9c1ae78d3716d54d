"""Inputs written by a cluster (``bedrock_batch.dask``): each worker builds one partition's
records and uploads them as content-addressed shards with a small manifest; the driver plans
jobs from the manifests and assembles each job's input folder by server-side copy.

- **Worker** (:func:`build_partition`): the partition's rows become records by the family's
  rules (``add_dataframe`` on a :class:`PartitionRecords` whose ids continue from the
  partition's offset), cut into files within the per-file quotas (:func:`plan_shards`), each
  uploaded once to ``{input root}shards/{sha256}.jsonl``; the partition's part of the index
  (keys by batch ordinal) to ``shards/index/{sha256}.jsonl``; then its :class:`Manifest` (records,
  bytes, first and last id, the shards' digests, the index part) to
  ``shards/manifests/{sha256}.json``. A partition with a refused row (``on_invalid="raise"``)
  uploads nothing and reports its problems.
- **Driver** (:func:`plan_from_manifests`, :func:`assemble`): jobs are runs of whole shards
  under the per-job quotas (records, bytes) and the minimum; the batch's content id derives
  from the shards' digests in order. Each job's ``part-NNNNN.jsonl`` is a CopyObject of its
  shard (never read by the driver); ``index.jsonl`` is the partitions' index parts after one
  header. The ledger is the normal one, so ``wait()``, ``results()``, ``attach()``, ``retry()``
  and ``summary()`` work unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .._batch._quotas import Quotas, QuotaSource
from .._batch._sharding import Shard, plan_shards
from .._batch._spec import JobSpec, content_id, identity
from .._catalog import Family, ModelInfo, assumed_model_warnings
from .._common._codec import decode, encode
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import Problem, QuotaError, StateError, ValidationError
from .._families._outputs import Usage
from .._ledger._ledger import INDEX_NAME, JobEntry, OnDemandEntry, move_job, move_run
from .._ledger._ledgerstore import LedgerStore
from .._pricing import Cost, Price, price_for
from .._records._dataframes import add_dataframe
from .._records._partition import PartitionRecords, index_header, index_part_lines
from ._uploader import PartPlan, Plan, Uploader, model_warnings

__all__ = [
    "COPY_LIMIT",
    "SHARDS_DIR",
    "Manifest",
    "PartitionTask",
    "ShardRef",
    "assemble",
    "build_partition",
    "count_partition",
    "group_shards",
    "load_manifest",
    "plan_from_manifests",
]

log = logging.getLogger("bedrock_batch")

#: The folder under the input root that holds shards, index parts and manifests.
SHARDS_DIR = "shards"
#: The largest object one CopyObject copies (5 GB): no shard is made larger.
COPY_LIMIT = 5_000_000_000
#: What the batch's content digest of shards starts with (so it never equals a line digest).
_DIGEST_TAG = b"bedrock-batch-shards/1\n"
#: ``bytes`` (a :class:`Manifest` has a field of that name).
_Encoded = bytes


@attrs.frozen
class PartitionTask:
    """What every worker is told (picklable): the batch's model and rules, the columns, the
    per-file limits and how to reach S3."""

    model_id: str
    invocation_type: str
    input_root: str
    mode: str
    columns: Mapping[str, Any]
    options: Mapping[str, Any]
    on_invalid: str
    max_records_per_file: int
    max_bytes_per_file: int
    #: Makes the worker's S3 access (``S3Config.access`` of ``bedrock_batch.dask``: picklable).
    s3: Callable[[], S3Access]
    upload_extra_args: Mapping[str, Any] = attrs.field(factory=dict)

    def records(self, offset: int) -> PartitionRecords:
        """An empty record set for a partition whose first record is batch ordinal ``offset``."""
        return PartitionRecords(
            self.model_id, offset=offset, invocation_type=self.invocation_type,
            input_uri=self.input_root, mode=self.mode,
        )  # fmt: skip

    def add(self, records: PartitionRecords, frame: Any) -> None:
        """The frame's rows into ``records`` as ``add_dataframe`` adds them."""
        add_dataframe(
            records, frame, prompt=self.columns.get("prompt"), text=self.columns.get("text"),
            model_input=self.columns.get("model_input"), key=self.columns.get("key"),
            record_id=None, options=dict(self.options), on_invalid=self.on_invalid,
        )  # fmt: skip


@attrs.frozen
class ShardRef:
    """One uploaded shard: its SHA-256 (its key), records and bytes."""

    sha256: str
    records: int
    bytes: int


@attrs.frozen
class Manifest:
    """What a worker made of one partition (also stored as JSON beside its shards)."""

    partition: int
    offset: int
    rows: int
    records: int
    bytes: int
    first_id: str | None
    last_id: str | None
    shards: tuple[ShardRef, ...]
    index_sha256: str | None
    estimated_input_tokens: int
    max_output_tokens: int
    #: Rows refused (``on_invalid="skip"``: reported; ``"raise"``: the call fails).
    rejected: tuple[Problem, ...] = ()
    #: Records over the per-file byte limit (the call fails with :class:`QuotaError`).
    oversize: tuple[Problem, ...] = ()
    failed: bool = False

    def to_json(self) -> _Encoded:
        """The manifest as stored."""
        data = attrs.asdict(self, recurse=True)
        data["format"] = "bedrock-batch-shards/1"
        return encode(data)


def _with_line(problems: Sequence[Problem], row_offset: int) -> tuple[Problem, ...]:
    """Problems located by the batch's row numbers (1-based across every partition)."""
    return tuple(
        attrs.evolve(p, line=None if p.line is None else p.line + row_offset) for p in problems
    )


def count_partition(frame: Any, task: PartitionTask) -> tuple[int, int]:
    """``(rows, records)`` of a partition: how many rows it has and how many the family's rules
    accept (nothing is uploaded)."""
    records = task.records(0)
    try:
        task.add(records, frame)
        return len(frame), len(records)
    except ValidationError:
        return len(frame), 0
    finally:
        records.close()


def build_partition(
    frame: Any, task: PartitionTask, partition: int, offset: int, row_offset: int
) -> Manifest:
    """Build, shard and upload one partition (see the module docstring); returns its manifest.

    ``offset`` is the batch ordinal of its first record, ``row_offset`` the rows before it.
    """
    records = task.records(offset)
    try:
        try:
            task.add(records, frame)
        except ValidationError as err:
            return Manifest(
                partition, offset, len(frame), 0, 0, None, None, (), None, 0, 0,
                rejected=_with_line(err.problems, row_offset), failed=True,
            )  # fmt: skip
        rejected = _with_line(records.rejected, row_offset)
        store = records.store
        n = len(store)
        oversize = tuple(
            Problem(
                f"record is {size} bytes, over the {task.max_bytes_per_file}-byte file limit",
                record_id=records.record_id(i),
            )
            for i, size in enumerate(store.sizes)
            if size > task.max_bytes_per_file
        )
        if oversize:
            return Manifest(
                partition, offset, len(frame), n, store.total_bytes, None, None, (), None, 0, 0,
                rejected=rejected, oversize=oversize, failed=True,
            )  # fmt: skip
        s3 = task.s3()
        s3.upload_extra_args = dict(task.upload_extra_args)
        root = S3Uri.parse(task.input_root).join(SHARDS_DIR)
        shards = []
        for shard in plan_shards(store.sizes, task.max_records_per_file, task.max_bytes_per_file):
            with tempfile.NamedTemporaryFile(prefix="bedrock-batch-shard-") as fh:
                size, sha = store.copy_range(shard.start, shard.end, fh)
                fh.flush()
                _put(s3, fh.name, root.join(f"{sha}.jsonl"), size, sha)
            shards.append(ShardRef(sha, shard.records, size))
        index_sha = _upload_index_part(s3, root, store, offset)
        manifest = Manifest(
            partition, offset, len(frame), n, store.total_bytes,
            records.record_id(0) if n else None, records.record_id(n - 1) if n else None,
            tuple(shards), index_sha, records.estimated_input_tokens, records.max_output_tokens,
            rejected=rejected,
        )  # fmt: skip
        data = manifest.to_json()
        digest = hashlib.sha256(data).hexdigest()
        s3.put(root.join("manifests", f"{digest}.json"), data, content_type="application/json")
        return manifest
    finally:
        records.close()


def _put(s3: S3Access, path: str, uri: S3Uri, size: int, sha: str) -> None:
    if not s3.same_object(uri, sha, size):
        s3.upload_file(path, uri, metadata={"sha256": sha})


def _upload_index_part(s3: S3Access, root: S3Uri, store: Any, offset: int) -> str | None:
    """The partition's keys, by batch ordinal (None when it has none)."""
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(prefix="bedrock-batch-index-") as fh:
        for line in index_part_lines(store, offset):
            fh.write(line)
            digest.update(line)
            size += len(line)
        if not size:
            return None
        fh.flush()
        sha = digest.hexdigest()
        _put(s3, fh.name, root.join("index", f"{sha}.jsonl"), size, sha)
        return sha


# -- the driver ------------------------------------------------------------------------------


def group_shards(
    shards: Sequence[ShardRef], *, max_records_per_job: int, max_job_bytes: int
) -> list[tuple[int, int]]:
    """Consecutive shards ``[a, b)`` per job: as few jobs as the per-job quotas allow, of
    near-equal record counts (cut at the shard boundary nearest each equal share)."""
    m = len(shards)
    if m == 0:
        return []
    cum = [0, *itertools.accumulate(s.records for s in shards)]
    size = [0, *itertools.accumulate(s.bytes for s in shards)]
    n, total = cum[-1], size[-1]
    k = max(1, -(-n // max_records_per_job), -(-total // max_job_bytes))
    while True:
        bounds = [0]
        for i in range(1, k):
            target = i * n / k
            lo, hi = bounds[-1] + 1, m - (k - i)
            best = min(range(lo, hi + 1), key=lambda j: (abs(cum[j] - target), j))
            bounds.append(best)
        bounds.append(m)
        groups = list(itertools.pairwise(bounds))
        fits = all(
            cum[b] - cum[a] <= max_records_per_job and size[b] - size[a] <= max_job_bytes
            for a, b in groups
        )
        if fits or k >= m:
            return groups
        k += 1


def plan_from_manifests(
    manifests: Sequence[Manifest],
    spec: JobSpec,
    quotas: Quotas,
    source: QuotaSource,
    *,
    requested_mode: str,
    model: ModelInfo | None,
    family: Family | None,
    prices: Mapping[str, Price],
) -> Plan:
    """The first attempt's plan from the workers' manifests (no shard is read)."""
    refs = [s for m in manifests for s in m.shards]
    n = sum(s.records for s in refs)
    if n == 0:
        raise ValidationError("the job has no records: the partitions hold no rows")
    label = model.display_name if model else spec.model_id
    mode = "on_demand" if requested_mode == "on_demand" else "batch"
    if mode == "batch" and n < quotas.min_records_per_job:
        if requested_mode == "batch":
            raise QuotaError(
                f"{n} records is below the minimum of {quotas.min_records_per_job} records per "
                f"batch job for {label} (quotas from {source}); use mode='auto' or 'on_demand'",
                quota="min_records_per_job",
                limit=quotas.min_records_per_job,
            )
        mode = "on_demand"
    digest = hashlib.sha256(_DIGEST_TAG)
    for s in refs:
        digest.update(f"{s.sha256} {s.records} {s.bytes}\n".encode())
    cid = content_id(digest.hexdigest(), spec, mode)
    ident = identity(cid, quotas)
    folder = spec.root.join(cid)
    starts = [0, *itertools.accumulate(s.records for s in refs)]

    def files(a: int, b: int) -> tuple[Shard, ...]:
        return tuple(
            Shard(j, starts[i], starts[i + 1], refs[i].bytes) for j, i in enumerate(range(a, b))
        )

    if mode == "batch":
        groups = group_shards(
            refs, max_records_per_job=quotas.max_records_per_job,
            max_job_bytes=quotas.max_job_bytes,
        )  # fmt: skip
        small = [g for g in groups if starts[g[1]] - starts[g[0]] < quotas.min_records_per_job]
        if small:
            raise QuotaError(
                f"cannot group {len(refs)} shards of {n} records into jobs that each meet the "
                f"minimum of {quotas.min_records_per_job} records per job for {label} within "
                "the per-job quotas: use fewer, larger partitions",
                quota="min_records_per_job",
                limit=quotas.min_records_per_job,
            )
        parts = _name_parts(
            [files(a, b) for a, b in groups], spec=spec, folder=folder, identity=ident,
            base_name=spec.base_name(cid),
        )  # fmt: skip
    else:
        shards = files(0, len(refs))
        parts = [
            PartPlan("od000", "on_demand", "", "", str(folder.join("runs", "od000")) + "/", n,
                     sum(s.size for s in shards), shards)
        ]  # fmt: skip
    warnings = model_warnings(model, mode) + assumed_model_warnings(spec.model_id, spec.invocation_type)  # fmt: skip
    for warning in warnings:
        log.warning("%s", warning)
    price = price_for(spec.model_id, prices)
    upper = Usage(
        sum(m.estimated_input_tokens for m in manifests),
        sum(m.max_output_tokens for m in manifests),
    )
    cost = Cost(
        price.cost(upper, batch=True) if price else None,
        price.cost(upper, batch=False) if price else None,
    )
    return Plan(
        model_id=spec.model_id, family=family, invocation_type=spec.invocation_type, mode=mode,
        records=n, bytes=sum(s.bytes for s in refs), parts=tuple(parts), quotas=quotas,
        quota_source=str(source), estimated_input_tokens=upper.input_tokens,
        max_output_tokens=upper.output_tokens, cost=cost, content_id=cid,
        state_uri=str(folder.join("bedrock-batch.json")), identity=ident,
        quota_warning=source.warning, warnings=warnings,
    )  # fmt: skip


def _name_parts(
    groups: Sequence[tuple[Shard, ...]],
    *,
    spec: JobSpec,
    folder: S3Uri,
    identity: str,
    base_name: str,
) -> list[PartPlan]:
    """Jobs named as ``job_parts`` names a first attempt's (``p000``...; one job: the base
    name and token)."""
    out = []
    for index, shards in enumerate(groups):
        tag = f"p{index:03d}"
        single = len(groups) == 1
        name = base_name if single else f"{base_name[: 63 - len(tag) - 1]}-{tag}"
        token = f"bb{identity}" if single else f"bb{identity}{tag}"
        out.append(
            PartPlan(
                tag, "batch", name, token, str(folder.join("runs", tag)) + "/",
                shards[-1].end - shards[0].start, sum(s.size for s in shards), shards,
            )
        )  # fmt: skip
    return out


def assemble(
    store: LedgerStore,
    manifests: Sequence[Manifest],
    *,
    copy_extra_args: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Put the first attempt's planned inputs in place without reading a shard: the batch's
    ``index.jsonl``, then each job's files, copied server-side from the shards, each entry
    marked ``uploaded`` once its files are there."""
    ledger = store.refresh()
    first = ledger.attempts[0]
    s3 = store.s3
    root = ledger.spec.root
    by_start: dict[int, ShardRef] = {}
    start = 0
    for m in manifests:
        for ref in m.shards:
            by_start[start] = ref
            start += ref.records
    if start != ledger.records:
        raise StateError(
            f"the manifests hold {start} records, the batch's ledger {ledger.records}: the "
            "partitions changed between two submits of the same batch"
        )
    entries: list[JobEntry | OnDemandEntry] = [j for j in first.jobs if j.phase == "planned"]
    if first.on_demand is not None and first.on_demand.phase == "planned":
        entries.append(first.on_demand)
    if not entries:
        return
    Uploader(s3).upload_lines(
        root.join(ledger.batch_id, INDEX_NAME), _index_lines(s3, root, manifests, ledger.records)
    )
    for entry in entries:
        folder = S3Uri.parse(entry.input_uri)
        for shard in entry.files:
            ref = by_start[shard.start]
            dest = folder.join(shard.name)
            if not s3.same_object(dest, ref.sha256, ref.bytes):
                copy_object(s3, root.join(SHARDS_DIR, f"{ref.sha256}.jsonl"), dest, copy_extra_args)
            if progress is not None:
                progress(ref.bytes)
        move = move_job if isinstance(entry, JobEntry) else move_run
        store.transition(move(entry.part, "planned", "uploaded"))


def _index_lines(s3: S3Access, root: S3Uri, manifests: Sequence[Manifest], records: int) -> Any:
    yield index_header(records)
    for m in manifests:
        if m.index_sha256 is not None:
            uri = root.join(SHARDS_DIR, "index", f"{m.index_sha256}.jsonl")
            for _, raw in s3.lines(uri):
                if raw:
                    yield raw + b"\n"


def copy_object(
    s3: S3Access, source: S3Uri, dest: S3Uri, extra: Mapping[str, Any] | None = None
) -> None:
    """CopyObject (server-side: no byte passes through this process); the shard's metadata
    (its SHA-256) is copied with it."""
    kwargs: dict[str, Any] = {
        "Bucket": dest.bucket,
        "Key": dest.key,
        "CopySource": {"Bucket": source.bucket, "Key": source.key},
        **{k: v for k, v in (extra or {}).items() if k != "Metadata"},
    }
    if s3.bucket_owner:
        kwargs["ExpectedSourceBucketOwner"] = s3.bucket_owner
    s3._call("CopyObject", s3.client.copy_object, **kwargs)


def load_manifest(data: bytes) -> Manifest:
    """A stored manifest, read back (for tools that plan from S3 rather than from the
    workers' answers)."""
    raw = decode(data)
    raw.pop("format", None)
    raw["shards"] = tuple(ShardRef(**s) for s in raw["shards"])
    for name in ("rejected", "oversize"):
        raw[name] = tuple(Problem(**p) for p in raw[name])
    return Manifest(**raw)

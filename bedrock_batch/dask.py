"""Results on Dask: :func:`read_results` reads a batch's results as a ``dask.dataframe``, one
partition per output file, on any Dask scheduler (threads, processes, a ``distributed``
cluster). Needs the ``dask`` extra: ``pip install 'bedrock-batch[dask]'``.

The partitions are :meth:`Results.partitions <bedrock_batch.Results.partitions>`: independent
and picklable, so every record comes back exactly once without the workers talking to each
other; each worker reads one output file and its slice of the batch's index from S3 with its
own client (endpoint and region from :class:`S3Config`, credentials from its environment).

Inputs on Dask: :func:`submit_dataframe` (and :func:`submit_partitions` for any iterable of
partitions) has the workers build, check and upload a batch's records, so no row is collected
on the driver: each worker uploads its partition as content-addressed shards with a small
manifest, and the driver plans the jobs from the manifests and assembles their input folders
by server-side copy. The batch is then an ordinary one: :meth:`BatchJob.wait`,
:meth:`~BatchJob.results`, :meth:`~BatchJob.attach`, :meth:`~BatchJob.retry` and
:meth:`~BatchJob.summary` work as for a batch submitted from one process.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

try:
    import dask.dataframe as dd
    from dask.base import compute, is_dask_collection
    from dask.delayed import delayed as _dask_delayed
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError("bedrock_batch.dask needs Dask: pip install 'bedrock-batch[dask]'") from err

from ._batch._quotas import Quotas, resolve_quotas
from ._batch._spec import OnInvalid
from ._budget import bound_tokens, check_cap, line_tokens, require_bound
from ._common._progress import CountDisplay
from ._common._s3 import S3Access
from ._errors import BudgetError, Problem, QuotaError, StateError, ValidationError
from ._job import BatchJob
from ._lifecycle._status import BatchStatus
from ._pricing import price_for
from ._reader._export import ROW_COLUMNS, KeyFields, key_schema
from ._reader._partitions import Partition, S3Config
from ._reader._resultset import Results
from ._uploader._cluster import (
    COPY_LIMIT,
    Manifest,
    PartitionTask,
    assemble,
    build_partition,
    count_partition,
    plan_from_manifests,
)
from ._uploader._uploader import open_ledger

if TYPE_CHECKING:
    import boto3

__all__ = [
    "Partition",
    "S3Config",
    "meta",
    "read_partition",
    "read_results",
    "submit_dataframe",
    "submit_partitions",
]

#: A column name (an integer label too) or a function of the row, as ``add_dataframe`` takes.
Column = str | int | Callable[[Mapping[str, Any]], Any] | None


def read_results(
    source: BatchJob | Results | str | Sequence[Partition],
    *,
    session: boto3.Session | None = None,
    bucket_owner: str | None = None,
    s3: S3Config | None = None,
    partial: bool = False,
) -> Any:
    """A batch's results as a ``dask.dataframe.DataFrame``: one row per input record, with the
    columns and Arrow types of :meth:`Results.to_arrow <bedrock_batch.Results.to_arrow>`
    (pandas ``ArrowDtype`` columns), ``key_<name>`` columns for keys that are dicts included.

    Args:
        source: a :class:`~bedrock_batch.BatchJob`, its :class:`~bedrock_batch.Results`, a
            handle for :meth:`BatchJob.attach <bedrock_batch.BatchJob.attach>` (a job ARN or
            the batch's ``state_uri``), or partitions already planned.
        session / bucket_owner: for attaching a handle.
        s3: how workers reach S3 (by default the endpoint and region of the batch's client).
        partial: read a batch that is still running (records not answered yet come back
            ``missing``); otherwise such a batch raises :class:`~bedrock_batch.NotFinishedError`.

    Planning reads the batch's ledger and index and the outputs of its retries and on-demand
    runs; the first attempt's output files are read by the workers only.
    """
    parts = _partitions(source, session=session, bucket_owner=bucket_owner, s3=s3, partial=partial)
    if not parts:
        return dd.from_pandas(meta(), npartitions=1)
    empty = meta(parts[0].key_fields)
    return dd.from_map(
        read_partition, parts, meta=empty, label="bedrock-batch-results", enforce_metadata=False
    )


def read_partition(partition: Partition, columns: Sequence[str] | None = None) -> Any:
    """One partition as a pandas frame of Arrow-typed columns (``columns`` picks some: Dask
    passes the columns a computation needs)."""
    return partition.to_pandas(columns)


def meta(key_fields: KeyFields = ()) -> Any:
    """An empty frame with the columns and dtypes :func:`read_results` gives (``key_fields``:
    the ``key_<name>`` columns of a batch whose keys are dicts)."""
    import pandas as pd

    frame = key_schema(key_fields).empty_table().to_pandas(types_mapper=pd.ArrowDtype)
    assert tuple(c for c in frame.columns if not c.startswith("key_")) == ROW_COLUMNS
    return frame


def _partitions(
    source: BatchJob | Results | str | Sequence[Partition],
    *,
    session: boto3.Session | None,
    bucket_owner: str | None,
    s3: S3Config | None,
    partial: bool,
) -> list[Partition]:
    if isinstance(source, Results):
        return source.partitions(s3=s3)
    if isinstance(source, BatchJob):
        return source.results(partial=partial).partitions(s3=s3)
    if isinstance(source, str):
        with BatchJob.attach(source, session=session, bucket_owner=bucket_owner) as job:
            return job.results(partial=partial).partitions(s3=s3)
    return list(source)


# -- inputs written by a cluster ------------------------------------------------------------------


def submit_dataframe(
    ddf: Any,
    job: BatchJob,
    *,
    prompt: Column = None,
    text: Column = None,
    model_input: Column = None,
    key: Column = None,
    on_invalid: OnInvalid = "raise",
    progress: bool = False,
    **options: Any,
) -> BatchStatus:
    """Submit a ``dask.dataframe`` as ``job``'s records, built and uploaded by the workers.

    The rows are those :meth:`BatchJob.add_dataframe` takes (``prompt``, ``text`` or
    ``model_input``, ``key``, and the other keyword arguments of :meth:`BatchJob.add_prompt`
    such as ``system`` or ``max_tokens``); each record gets the id the single-process path gives
    the same row (``R`` and its position), as the driver first counts each partition's rows
    (``ddf.map_partitions(len)``; with ``on_invalid="skip"``, the rows the family's rules
    accept). No row is collected on the driver, and the driver reads no shard.

    A refused row fails the whole call before any job is created (:class:`ValidationError`
    listing every problem, located by row number across the partitions); with
    ``on_invalid="skip"`` it is left out and reported in :attr:`BatchJob.rejected` and by
    ``results()`` as ``"rejected"``. A record over the per-file byte limit raises
    :class:`QuotaError`. ``job`` must be new (no records added, not submitted) and use the
    default record ids. Submitting the same partitions again resumes the same batch (same
    shards, same ledger, no second job).

    With ``max_cost_usd`` (on ``job``), a first pass on the workers builds each partition's
    records without uploading them and computes its bound (the rule of :meth:`BatchJob.plan`:
    each record's ``max_tokens`` or the model's maximum output, its bytes as input tokens, the
    batch price, cache-marked input at the cache-write price); the driver adds them up and
    raises :class:`~bedrock_batch.BudgetError` before anything is uploaded when the bound passes
    the cap. That pass replaces the counting pass: each partition is loaded twice, as without a
    cap, and its records are built twice.

    Returns the batch's status, as :meth:`BatchJob.submit` does; then use ``job`` as usual.
    """
    columns = {"prompt": prompt, "text": text, "model_input": model_input, "key": key}
    parts = list(ddf.to_delayed())
    if on_invalid == "raise":
        counted: list[tuple[int, int]] | None = [
            (int(n), int(n)) for n in ddf.map_partitions(len).compute()
        ]
    else:
        counted = None
    return _submit(job, parts, columns, options, on_invalid, counted, progress=progress)


def submit_partitions(
    parts: Iterable[Any],
    job: BatchJob,
    *,
    prompt: Column = None,
    text: Column = None,
    model_input: Column = None,
    key: Column = None,
    on_invalid: OnInvalid = "raise",
    progress: bool = False,
    **options: Any,
) -> BatchStatus:
    """:func:`submit_dataframe` for any iterable of partitions: each a pandas (or polars)
    DataFrame, a function of no arguments returning one (called on a worker), or a
    ``dask.delayed`` one. They run on the current Dask scheduler (a ``distributed`` client's
    cluster when one is active, else Dask's default); each is loaded twice, once to count its
    rows and once to build its records, so a function must return the same rows each time."""
    delayed = [_delayed(p) for p in parts]
    if not delayed:
        raise ValidationError("the job has no records: no partitions were given")
    columns = {"prompt": prompt, "text": text, "model_input": model_input, "key": key}
    counted = None
    if on_invalid == "raise":
        counted = [(int(n), int(n)) for n in compute(*[_dask_delayed(len)(p) for p in delayed])]
    return _submit(job, delayed, columns, options, on_invalid, counted, progress=progress)


def _delayed(part: Any) -> Any:
    if is_dask_collection(part):  # a dask.delayed one already
        return part
    if callable(part):
        return _dask_delayed(part, pure=False)()
    return _dask_delayed(part)


def _submit(
    job: BatchJob,
    parts: Sequence[Any],
    columns: Mapping[str, Column],
    options: Mapping[str, Any],
    on_invalid: str,
    counted: list[tuple[int, int]] | None,
    *,
    progress: bool,
) -> BatchStatus:
    """Plan and submit the batch of ``parts`` (see :func:`submit_dataframe`)."""
    if on_invalid not in ("raise", "skip"):
        raise ValidationError("on_invalid must be 'raise' or 'skip'")
    if sum(columns[c] is not None for c in ("prompt", "text", "model_input")) != 1:
        raise ValidationError("submit_dataframe needs exactly one of prompt=, text= or model_input=")  # fmt: skip
    if "record_id" in options:
        raise ValidationError(
            "submit_dataframe gives every record the default id of its position; record_id= "
            "is not supported (ids must be unique across partitions): use key= for your own ids"
        )
    records = job._records
    if job._batch is not None or len(records) or records.rejected:
        raise StateError("submit_dataframe needs a new BatchJob: no records added, not submitted")
    if not records._trusted_factory:
        raise ValidationError("submit_dataframe gives records the default ids: id_factory and record_id_pattern must be the defaults")  # fmt: skip
    spec = job._spec()
    if job._quota_cache is None:  # as plan() resolves them
        job._quota_cache = resolve_quotas(
            records.model, override=job.quotas, use_service_quotas=job.use_service_quotas,
            list_quotas=lambda: job._clients.quotas.list_service_quotas,
        )  # fmt: skip
    quotas, source = job._quota_cache
    client = job._clients.s3
    s3 = S3Access(
        client, bucket_owner=spec.bucket_owner, transfer_config=job.transfer_config,
        upload_extra_args=job.params.upload_extra_args,
    )  # fmt: skip
    task = PartitionTask(
        spec.model_id, spec.invocation_type, spec.input_root, str(job.params.mode), dict(columns),
        dict(options), on_invalid,
        min(quotas.max_records_per_file, spec.max_records_per_file or 10**12, quotas.max_records_per_job),
        min(quotas.max_file_bytes, spec.max_bytes_per_file or 10**15, quotas.max_job_bytes, COPY_LIMIT),
        S3Config.of(s3).access, dict(job.params.upload_extra_args or {}),
    )  # fmt: skip
    if job.budget is not None:  # a first pass: every partition's bound, before any upload
        counted = _check_budget(job, parts, task, quotas, counted)
    if counted is None:  # on_invalid="skip": the records each partition keeps set the offsets
        counted = [
            (int(r), int(k))
            for r, k in compute(*[_dask_delayed(count_partition)(p, task) for p in parts])
        ]
    offsets = [0, *itertools.accumulate(k for _, k in counted)]
    rows = [0, *itertools.accumulate(r for r, _ in counted)]
    built = compute(
        *[
            _dask_delayed(build_partition)(p, task, i, offsets[i], rows[i])
            for i, p in enumerate(parts)
        ]
    )
    manifests: list[Manifest] = list(built)
    _check(manifests, counted, on_invalid, task.max_bytes_per_file)
    rejected = [p for m in manifests for p in m.rejected]
    plan = plan_from_manifests(
        manifests, spec, quotas, source, requested_mode=str(job.params.mode),
        model=records.model, family=records.family, prices=job.prices,
    )  # fmt: skip
    store = open_ledger(s3, plan, spec, rejected, legacy_id=plan.content_id)
    records.rejected.extend(rejected)
    records.freeze("this job was submitted from partitions; records can no longer be added")
    display = CountDisplay("copy", total=plan.bytes, unit="B") if progress else None
    try:
        assemble(
            store, manifests, copy_extra_args=job.params.upload_extra_args,
            progress=None if display is None else display.update,
        )  # fmt: skip
    finally:
        if display is not None:
            display.close()
    job._wire(store)
    return job.submit()


class PartitionBound(NamedTuple):
    """What the first pass of a capped :func:`submit_dataframe` learns of one partition."""

    rows: int
    records: int
    input_tokens: int
    output_tokens: int
    cached: bool
    problem: str | None  # records whose tokens follow no rule from their bytes
    invalid: bool  # a row the family's rules refuse (the build pass reports it)


def bound_partition(frame: Any, task: PartitionTask, cap: float) -> PartitionBound:
    """One partition's rows, records and token bound (``_budget``'s rule), built on a worker
    without uploading anything."""
    records = task.records(0)
    try:
        try:
            task.add(records, frame)
        except ValidationError:
            return PartitionBound(len(frame), 0, 0, 0, False, None, True)
        try:
            size, cached, _ = line_tokens(records.store.iter_lines(), cap=cap)
        except BudgetError as err:
            return PartitionBound(len(frame), len(records), 0, 0, False, str(err), False)
        return PartitionBound(len(frame), len(records), size, records.max_output_tokens, cached, None, False)  # fmt: skip
    finally:
        records.close()


def _check_budget(
    job: BatchJob, parts: Sequence[Any], task: PartitionTask, quotas: Quotas,
    counted: list[tuple[int, int]] | None,
) -> list[tuple[int, int]] | None:  # fmt: skip
    """Refuse (:class:`BudgetError`) a batch whose bound passes ``job``'s cap, before anything
    is uploaded; returns the partitions' ``(rows, records)`` (as counted, when they were)."""
    budget, records = job.budget, job._records
    assert budget is not None
    price = price_for(task.model_id, budget.prices)
    require_bound(budget.cap, task.model_id, price, records.model)  # before any work
    bounds: list[PartitionBound] = list(
        compute(*[_dask_delayed(bound_partition)(p, task, budget.cap) for p in parts])
    )
    if counted is None:
        counted = [(b.rows, b.records) for b in bounds]
    if any(b.invalid for b in bounds):
        return counted  # the build pass reports every refused row, and nothing is submitted
    for i, b in enumerate(bounds):
        if b.problem is not None:
            raise BudgetError(f"partition {i}: {b.problem}", cap=budget.cap)
    n = sum(b.records for b in bounds)
    mode = str(job.params.mode)
    batch = mode != "on_demand" and (n >= quotas.min_records_per_job or mode == "batch")
    bound = bound_tokens(
        sum(b.input_tokens for b in bounds), sum(b.output_tokens for b in bounds),
        cached=any(b.cached for b in bounds), model_id=task.model_id, model=records.model,
        price=price, batch=batch, cap=budget.cap,
    )  # fmt: skip
    check_cap(budget.cap, bound, what=f"this batch of {n:,} records")
    return counted


def _check(
    manifests: Sequence[Manifest], counted: Sequence[tuple[int, int]], on_invalid: str, limit: int
) -> None:
    """Refuse the call (before any ledger or job) when a partition refused a row, holds a
    record too large for a file, or changed between its two readings."""
    problems: list[Problem] = []
    for m in manifests:
        if on_invalid == "raise" or (m.failed and not m.oversize):
            problems += m.rejected
    if problems:
        raise ValidationError(
            f"{len(problems)} invalid record(s) in the partitions; no job was created", problems
        )
    oversize = [p for m in manifests for p in m.oversize]
    if oversize:
        raise QuotaError(
            "record(s) too large for one input file", oversize, quota="max_file_bytes", limit=limit
        )
    for m, (n_rows, n_records) in zip(manifests, counted, strict=True):
        if m.rows != n_rows or m.records != n_records:
            raise StateError(
                f"partition {m.partition} gave {m.rows} rows ({m.records} records) when built "
                f"but {n_rows} rows ({n_records} records) when counted: partitions must give the "
                "same rows each time they are computed"
            )

"""Results on Dask: :func:`read_results` reads a batch's results as a ``dask.dataframe``, one
partition per output file, on any Dask scheduler (threads, processes, a ``distributed``
cluster). Needs the ``dask`` extra: ``pip install 'bedrock-batch[dask]'``.

The partitions are :meth:`Results.partitions <bedrock_batch.Results.partitions>`: independent
and picklable, so every record comes back exactly once without the workers talking to each
other; each worker reads one output file and its slice of the batch's index from S3 with its
own client (endpoint and region from :class:`S3Config`, credentials from its environment).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

try:
    import dask.dataframe as dd
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError("bedrock_batch.dask needs Dask: pip install 'bedrock-batch[dask]'") from err

from ._job import BatchJob
from ._reader._export import ROW_COLUMNS, KeyFields, key_schema
from ._reader._partitions import Partition, S3Config
from ._reader._resultset import Results

if TYPE_CHECKING:
    import boto3

__all__ = ["Partition", "S3Config", "meta", "read_partition", "read_results"]


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

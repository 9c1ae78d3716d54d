"""``Results``, the public face of a batch's joined results: the join itself
(:mod:`._results`), its exports (:mod:`._export`), its partitions for a cluster
(:mod:`._partitions`) and its renderings."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

from .._common._display import html_table
from .._common._progress import CountDisplay
from ._export import Order, arrow_batches, arrow_table, pandas_frame, write
from ._partitions import Partition, S3Config, plan_partitions
from ._results import Join, Result

__all__ = ["Results"]


class Results(Join):
    """Streams a batch's results; ``anomalies`` and ``counts`` fill in as you iterate.

    Every input record comes back exactly once; when a record was retried, its latest attempt
    with an output wins (:meth:`history` shows all of them). Each iteration is a fresh pass
    over S3, in the order of the outputs. Memory: the compact index of record ids, and a byte
    per record.

    The exports (:meth:`to_jsonl`, :meth:`to_csv`, :meth:`to_parquet`, :meth:`to_arrow`,
    :meth:`to_pandas`, :meth:`iter_arrow_batches`) stream too, and give the records in the
    order they were added (``order="input"``, the default) or in the order Bedrock wrote them
    (``order="output"``, a little faster: no spill file). Records skipped when they were
    added (``rejected``) come last.
    """

    #: Index ordinal → the record's place in the order added, where they differ (a batch
    #: with records answered without being sent: ``dedupe=``, ``reuse=``).
    input_positions: array[int] | None = None

    def positioned(self) -> Iterator[tuple[int, Result]]:
        """Each result with its input position (see :meth:`Join.positioned`)."""
        places = self.input_positions
        if places is None:
            yield from super().positioned()
            return
        for ordinal, result in super().positioned():
            yield (places[ordinal] if ordinal < len(places) else ordinal), result

    def partitions(self, *, s3: S3Config | None = None) -> list[Partition]:
        """Independent, picklable units of these results, to read on a cluster (Dask, Ray,
        Spark): one per output file (and one per range of records with no output file), each
        carrying its bucket and key and what its join needs. Together they give every record
        exactly once, the latest attempt with an output winning, as iterating here does.

        Reading ahead the retries' and on-demand runs' outputs, the planner tells each file
        what to skip (see :mod:`bedrock_batch._reader._partitions`). A worker reads ids and
        keys from the batch's index in S3, with a client built from ``s3`` (by default this
        batch's endpoint and region; credentials from the worker's environment).

        Records answered without being sent are covered too: a ``dedupe=True`` duplicate comes
        back from the partition that gives the record whose answer it shares, a ``reuse=``
        answer from the partition of the batch's own copy of it.
        """
        return plan_partitions(self, s3)

    def __repr__(self) -> str:
        """``<Results succeeded=499 errored=1 missing=0>`` (counts read on demand)."""
        return "<Results " + " ".join(f"{k}={v}" for k, v in self.counts.items()) + ">"

    def _repr_html_(self) -> str:
        rows = [(k, str(v)) for k, v in self.counts.items()]
        return html_table([*rows, ("anomalies", str(len(self.anomalies)))], caption="Results")

    def _write(self, path: str, fmt: str, order: Order, progress: bool) -> dict[str, int]:
        display = CountDisplay("results", total=len(self._index), unit="rec") if progress else None
        try:
            with open(path, "wb") as stream:
                write(self, stream, fmt, order=order, progress=display.update if display else None)
        finally:
            if display is not None:
                display.close()
        return dict(self._counts)

    def to_jsonl(
        self, path: str, *, order: Order = "input", progress: bool = False
    ) -> dict[str, int]:
        """Write one joined JSON line per input record to ``path``; returns the counts.

        Each line is :meth:`Result.to_dict <bedrock_batch.Result.to_dict>`. ``order``:
        ``"input"`` (the order the records were added) or ``"output"`` (Bedrock's order).
        ``progress=True`` shows the records written.
        """
        return self._write(path, "jsonl", order, progress)

    def to_csv(
        self, path: str, *, order: Order = "input", progress: bool = False
    ) -> dict[str, int]:
        """Write one CSV row per input record to ``path`` (UTF-8, a header row); returns the
        counts.

        The columns of :meth:`to_arrow`; ``key`` and ``embedding`` are JSON text unless the
        key is a string. ``order`` and ``progress`` as for :meth:`to_jsonl`. Streams: holds
        one row at a time.
        """
        return self._write(path, "csv", order, progress)

    def to_parquet(
        self, path: str, *, order: Order = "input", progress: bool = False
    ) -> dict[str, int]:
        """Write a Parquet file of one row per input record to ``path``; returns the counts.

        The columns and Arrow types of :meth:`to_arrow`, written in row groups of 2,000 rows
        (needs the ``arrow`` extra). ``order`` and ``progress`` as for :meth:`to_jsonl`.
        """
        return self._write(path, "parquet", order, progress)

    def iter_arrow_batches(
        self, batch_size: int = 10_000, *, order: Order = "input"
    ) -> Iterator[Any]:
        """Stream results as ``pyarrow.RecordBatch`` es of at most ``batch_size`` rows (needs
        the ``arrow`` extra), in ``order`` (see :meth:`to_jsonl`)."""
        return arrow_batches(self, batch_size, order=order)

    def to_arrow(self, batch_size: int = 10_000, *, order: Order = "input") -> Any:
        """A ``pyarrow.Table``, one row per input record (built from streamed record batches).

        Columns: key (JSON text unless a string), record_id, status, text, embedding, parsed
        (a structured output's answer, JSON text), error_code, error_message, retryable, input_tokens, output_tokens, attempt. ``order``:
        ``"input"`` (the order the records were added, the default) or ``"output"``.
        """
        return arrow_table(self, batch_size, order=order)

    def to_pandas(self, chunk_size: int | None = None, *, order: Order = "input") -> Any:
        """A ``pandas.DataFrame``, one row per input record; ``key`` keeps your Python objects.

        Built from columns in one step: its peak memory stays close to the frame's own
        (``chunk_size`` is accepted for compatibility and no longer used). ``order``:
        ``"input"`` (the order the records were added, the default) or ``"output"``.
        """
        return pandas_frame(self, order=order)

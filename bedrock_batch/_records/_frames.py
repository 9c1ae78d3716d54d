"""DataFrames in and out (optional extras: ``pandas``, ``arrow``; polars works when installed).

Rows stream in (``itertuples`` / ``iter_rows``), never as one list; results stream out as Arrow
record batches of a fixed schema, one row per input record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .._common._codec import encode
from .._reader._results import Result

__all__ = ["ROW_COLUMNS", "iter_frame_rows", "result_row"]

#: Columns of ``to_pandas()`` / ``to_arrow()``: one row per input record.
ROW_COLUMNS = (
    "key", "record_id", "status", "text", "embedding", "error_code", "error_message",
    "retryable", "input_tokens", "output_tokens", "attempt",
)  # fmt: skip


def iter_frame_rows(df: Any) -> Iterator[dict[str, Any]]:
    """Rows of a pandas or polars DataFrame as dicts, one at a time."""
    if hasattr(df, "iter_rows"):  # polars
        yield from df.iter_rows(named=True)
        return
    if hasattr(df, "itertuples"):  # pandas
        columns = [str(c) for c in df.columns]
        for values in df.itertuples(index=False, name=None):
            yield dict(zip(columns, values, strict=True))
        return
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")


def pick(row: Mapping[str, Any], spec: str | Callable[[Mapping[str, Any]], Any] | None) -> Any:
    """A column's value, or a function of the row."""
    if spec is None:
        return None
    if callable(spec):
        return spec(row)
    if spec not in row:
        raise KeyError(f"the DataFrame has no column {spec!r}")
    return row[spec]


def scalar_key(value: Any) -> Any:
    """Keys must survive JSON (they are persisted): numpy scalars become Python ones."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def result_row(r: Result) -> dict[str, Any]:
    """One result as a flat row (see ``ROW_COLUMNS``)."""
    emb = r.embedding
    return {
        "key": r.key,
        "record_id": r.record_id,
        "status": r.status,
        "text": r.text if emb is None else None,
        "embedding": emb,
        "error_code": r.error.code if r.error else None,
        "error_message": r.error.message if r.error else None,
        "retryable": r.error.retryable if r.error else None,
        "input_tokens": r.usage.input_tokens,
        "output_tokens": r.usage.output_tokens,
        "attempt": r.attempt,
    }


def column_batches(results: Iterable[Result], batch_size: int) -> Iterator[dict[str, list[Any]]]:
    """Results as columns (``ROW_COLUMNS``), ``batch_size`` rows at a time; no row objects."""
    cols: dict[str, list[Any]] = {name: [] for name in ROW_COLUMNS}
    key, rid, status, text, emb_col, code, message, retryable, tin, tout, attempt = cols.values()
    for r in results:
        emb = r.embedding
        error = r.error
        key.append(r.key)
        rid.append(r.record_id)
        status.append(r.status)
        text.append(r.text if emb is None else None)
        emb_col.append(emb)
        code.append(error.code if error else None)
        message.append(error.message if error else None)
        retryable.append(error.retryable if error else None)
        tin.append(r.usage.input_tokens)
        tout.append(r.usage.output_tokens)
        attempt.append(r.attempt)
        if len(rid) >= batch_size:
            yield cols
            cols = {name: [] for name in ROW_COLUMNS}
            key, rid, status, text, emb_col, code, message, retryable, tin, tout, attempt = (
                cols.values()
            )
    if rid:
        yield cols


def arrow_schema() -> Any:
    """The fixed Arrow schema of result rows (keys as JSON text, so any key type fits)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("key", pa.string()),
            ("record_id", pa.string()),
            ("status", pa.string()),
            ("text", pa.string()),
            ("embedding", pa.list_(pa.float32())),
            ("error_code", pa.int32()),
            ("error_message", pa.string()),
            ("retryable", pa.bool_()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("attempt", pa.int32()),
        ]
    )


def arrow_batches(results: Iterable[Result], batch_size: int) -> Iterator[Any]:
    """Results as ``pyarrow.RecordBatch`` es of at most ``batch_size`` rows.

    The arrays are allocated from the system allocator, not pyarrow's default pool (mimalloc):
    the default pool keeps the memory of each batch's temporary buffers, which made a
    200,000-row ``to_arrow()`` peak at 1.75x its table instead of 1.44x (``benchmarks/``).
    """
    import pyarrow as pa

    schema = arrow_schema()
    pool = pa.system_memory_pool()
    for cols in column_batches(results, batch_size):
        cols["key"] = [
            k if isinstance(k, str) or k is None else encode(k).decode() for k in cols["key"]
        ]
        arrays = [pa.array(cols[f.name], type=f.type, memory_pool=pool) for f in schema]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def pandas_frame(results: Iterable[Result]) -> Any:
    """One ``pandas.DataFrame``; ``key`` keeps the caller's Python objects.

    With pyarrow installed the columns are built as Arrow record batches of 10,000 rows and
    handed to pandas at once (``self_destruct``: each Arrow column is released as it is
    converted), so the peak stays near the frame's own size instead of holding every row's
    Python objects and their copy. Without pyarrow: Python lists of columns.
    """
    import pandas as pd

    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - the test group installs pyarrow
        return _pandas_from_lists(results)
    schema = arrow_schema()
    for name in ("key", "embedding"):  # Python objects in the frame: kept as they are
        schema = schema.remove(schema.get_field_index(name))
    keys: list[Any] = []
    embeddings: list[Any] = []
    batches = []
    pool = pa.system_memory_pool()  # as in arrow_batches
    for cols in column_batches(results, 10_000):
        keys.extend(cols.pop("key"))
        embeddings.extend(cols.pop("embedding"))
        arrays = [pa.array(cols[f.name], type=f.type, memory_pool=pool) for f in schema]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    table = pa.Table.from_batches(batches, schema=schema)
    del batches
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    frame.insert(0, "key", pd.Series(keys, dtype=object, index=frame.index))
    frame.insert(4, "embedding", pd.Series(embeddings, dtype=object, index=frame.index))
    return _typed(frame)


def _pandas_from_lists(results: Iterable[Result]) -> Any:
    import pandas as pd

    merged: dict[str, list[Any]] = {name: [] for name in ROW_COLUMNS}
    for cols in column_batches(results, 50_000):
        for name, values in cols.items():
            merged[name].extend(values)
    return _typed(pd.DataFrame(merged, columns=list(ROW_COLUMNS)))


def _typed(frame: Any) -> Any:
    """The same column types whichever way the frame was built."""
    for name in ("input_tokens", "output_tokens", "attempt"):
        frame[name] = frame[name].astype("int64")
    return frame

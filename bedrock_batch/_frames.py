"""DataFrames in and out (optional extras: ``pandas``, ``arrow``; polars works when installed).

Rows stream in (``itertuples`` / ``iter_rows``), never as one list; results stream out as Arrow
record batches of a fixed schema, one row per input record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._results import Result

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
    usage = r.usage
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
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "attempt": r.attempt,
    }


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
    """Results as ``pyarrow.RecordBatch`` es of at most ``batch_size`` rows."""
    import pyarrow as pa

    schema = arrow_schema()
    rows: list[dict[str, Any]] = []

    def flush() -> Any:
        cols = {name: [row[name] for row in rows] for name in ROW_COLUMNS}
        cols["key"] = [
            k if isinstance(k, str) or k is None else json.dumps(k, ensure_ascii=False)
            for k in cols["key"]
        ]
        return pa.RecordBatch.from_pydict(cols, schema=schema)

    for r in results:
        rows.append(result_row(r))
        if len(rows) >= batch_size:
            yield flush()
            rows = []
    if rows:
        yield flush()

"""Results out: JSONL, CSV and Parquet files, Arrow tables and pandas DataFrames, streamed with
bounded memory (``Results.to_*`` and the command line's ``--output`` both write through here).

**Order.** The outputs come back in Bedrock's order (file by file, shuffled within a file).
``order="input"`` (the default of every public export) gives the records in the order they
were added: each row is written at its input position while the columns are filled, never
sorted afterwards. The join streams once; each row, encoded, goes to a temporary spill file
and its place is noted by input position (12 bytes a record); the rows are then written
position by position from the spill. So memory holds one batch of rows (and, for Arrow and
pandas, the table being built), whatever the order of the outputs. The records skipped when
they were added (``rejected``) come after every other record. ``order="output"`` streams the
join as it reads, with no spill.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from .._common._codec import decode, encode
from ._columns import Assembled, assemble, pack
from ._formats import FORMATS, ORDERS, Order, format_of
from ._results import Join, Result

__all__ = [
    "FORMATS",
    "KeyFields",
    "ORDERS",
    "ROW_COLUMNS",
    "Order",
    "arrow_batches",
    "arrow_schema",
    "arrow_table",
    "format_of",
    "key_fields",
    "key_schema",
    "pandas_frame",
    "parsed_text",
    "result_row",
    "write",
]

#: Columns of the CSV and Parquet files, ``to_pandas()`` and ``to_arrow()``: one row per record.
ROW_COLUMNS = (
    "key", "record_id", "status", "text", "embedding", "parsed", "error_code", "error_message",
    "retryable", "input_tokens", "output_tokens", "attempt",
)  # fmt: skip
#: Rows held at once while writing CSV or Parquet.
FILE_BATCH_ROWS = 2000

Row = Sequence[Any]  # values in ROW_COLUMNS order


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise ValueError(f"order must be 'input' or 'output', not {order!r}")


def result_row(r: Result) -> tuple[Any, ...]:
    """One result as a flat row (values in ``ROW_COLUMNS`` order)."""
    emb = r.embedding
    error = r.error
    return (
        r.key, r.record_id, r.status, r.text if emb is None else None, emb, parsed_text(r.parsed),
        error.code if error else None, error.message if error else None,
        error.retryable if error else None, r.usage.input_tokens, r.usage.output_tokens,
        r.attempt,
    )  # fmt: skip


def parsed_text(parsed: Any) -> str | None:
    """A structured output's parsed answer as JSON text (a pydantic model by its JSON dump):
    the ``parsed`` column, the same in every format (``json.loads`` gives the dict back)."""
    if parsed is None:
        return None
    dump = getattr(parsed, "model_dump", None)
    return encode(dump(mode="json") if callable(dump) else parsed).decode()


# -- keys that are dicts: one column each ---------------------------------------------------------

#: ``(name, kind)`` of each member of the keys that are dicts, in first-seen order; kind is
#: ``bool``, ``int64``, ``float64``, ``string`` or ``json`` (anything else, as JSON text).
KeyFields = tuple[tuple[str, str], ...]
_INT64 = range(-(2**63), 2**63)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64" if value in _INT64 else "json"
    if isinstance(value, float):
        return "float64"
    return "string" if isinstance(value, str) else "json"


def _merge_kinds(a: str, b: str) -> str:
    if a == b:
        return a
    return "float64" if {a, b} == {"int64", "float64"} else "json"


def key_fields(keys: Iterable[Any]) -> KeyFields:
    """The ``key_<name>`` columns the keys make: one per member of the keys that are dicts,
    typed from every value it takes (None when no key is a dict: no columns)."""
    kinds: dict[str, str | None] = {}
    for key in keys:
        if not isinstance(key, dict):
            continue
        for name, value in key.items():
            kind = None if value is None else _kind(value)
            old = kinds.get(name)
            kinds[name] = kind if old is None else old if kind is None else _merge_kinds(old, kind)
    return tuple((str(name), kind or "string") for name, kind in kinds.items())


def _key_values(keys: Sequence[Any], name: str, kind: str) -> list[Any]:
    values = [k.get(name) if isinstance(k, dict) else None for k in keys]
    if kind == "json":
        return [None if v is None else v if isinstance(v, str) else encode(v).decode() for v in values]  # fmt: skip
    if kind == "float64":
        return [None if v is None else float(v) for v in values]
    return values


def _arrow_type(pa: Any, kind: str) -> Any:
    return {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64()}.get(kind, pa.string())  # fmt: skip


def _with_key_columns(table: Any, keys: Sequence[Any], fields: KeyFields) -> Any:
    """``table`` with a ``key_<name>`` column per field, right after ``key``."""
    pa = _pyarrow()
    for i, (name, kind) in enumerate(fields):
        array = pa.array(_key_values(keys, name, kind), type=_arrow_type(pa, kind))
        table = table.add_column(1 + i, f"key_{name}", array)
    return table


def key_schema(fields: KeyFields) -> Any:
    """:func:`arrow_schema` with the ``key_<name>`` columns of ``fields``."""
    pa = _pyarrow()
    schema = arrow_schema()
    for i, (name, kind) in enumerate(fields):
        schema = schema.insert(1 + i, pa.field(f"key_{name}", _arrow_type(pa, kind)))
    return schema


# -- the order -------------------------------------------------------------------------------


def _encoded(
    results: Iterable[Result], order: Order, encode_one: Callable[[Result], bytes]
) -> Iterator[bytes]:
    """Each result encoded, in ``order`` (see the module docstring)."""
    _check_order(order)
    if order == "output":
        for r in results:
            yield encode_one(r)
        return
    if not isinstance(results, Join):
        raise TypeError("order='input' needs the results of a batch (their input positions)")
    starts = array("Q")
    sizes = array("I")  # 0: no row at this position
    with tempfile.TemporaryFile(prefix="bedrock-batch-export-") as spill:
        at = 0
        for position, r in results.positioned():
            data = encode_one(r)
            if position >= len(starts):
                grow = max(position + 1, 2 * len(starts)) - len(starts)
                starts.frombytes(bytes(8 * grow))
                sizes.frombytes(bytes(4 * grow))
            spill.write(data)
            starts[position], sizes[position] = at, len(data)
            at += len(data)
        spill.flush()
        read = _reader_of(spill)
        for start, size in zip(starts, sizes, strict=True):
            if size:
                yield read(start, size)


def _reader_of(spill: IO[bytes]) -> Callable[[int, int], bytes]:
    """Read ``size`` bytes at ``start`` of ``spill`` (no buffering: the reads jump about)."""
    if hasattr(os, "pread"):
        fd = spill.fileno()
        return lambda start, size: os.pread(fd, size, start)

    def read(start: int, size: int) -> bytes:  # pragma: no cover - Windows
        spill.seek(start)
        return spill.read(size)

    return read


def _rows(results: Iterable[Result], order: Order) -> Iterator[Row]:
    """Flat rows (``ROW_COLUMNS``) in ``order``."""
    if order == "output":
        _check_order(order)
        return map(result_row, results)
    return map(decode, _encoded(results, order, lambda r: encode(result_row(r))))


def _column_batches(rows: Iterable[Row], batch_size: int) -> Iterator[list[list[Any]]]:
    """Rows as columns (``ROW_COLUMNS``), ``batch_size`` rows at a time."""
    columns: list[list[Any]] = [[] for _ in ROW_COLUMNS]
    count = 0
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        count += 1
        if count >= batch_size:
            yield columns
            columns, count = [[] for _ in ROW_COLUMNS], 0
    if count:
        yield columns


# -- files -----------------------------------------------------------------------------------


def _jsonl_line(r: Result) -> bytes:
    return encode(r.to_dict()) + b"\n"


def _csv_line(r: Result) -> bytes:
    row = list(result_row(r))
    for i in (0, 4):  # key and embedding: JSON text unless a string
        value = row[i]
        if value is not None and not isinstance(value, str):
            row[i] = encode(value).decode()
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue().encode()


def _csv_header() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(ROW_COLUMNS)
    return out.getvalue().encode()


def write(
    results: Iterable[Result],
    stream: IO[bytes],
    fmt: str,
    *,
    order: Order = "input",
    progress: Callable[[int], object] | None = None,
) -> None:
    """Write ``results`` to the binary ``stream`` as ``fmt`` (one of :data:`FORMATS`), in
    ``order``; ``progress`` is called with each row written."""
    if fmt == "parquet":
        _write_parquet(results, stream, order=order, progress=progress)
        return
    if fmt == "jsonl":
        lines = _encoded(results, order, _jsonl_line)
    elif fmt == "csv":
        stream.write(_csv_header())
        lines = _encoded(results, order, _csv_line)
    else:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    for line in lines:
        stream.write(line)
        if progress is not None:
            progress(1)


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise ImportError(
            "Arrow and Parquet need pyarrow: pip install 'bedrock-batch[arrow]'"
        ) from None
    return pa


def _write_parquet(
    results: Iterable[Result],
    stream: IO[bytes],
    *,
    order: Order,
    progress: Callable[[int], object] | None,
) -> None:
    _pyarrow()
    import pyarrow.parquet as pq

    with pq.ParquetWriter(stream, arrow_schema()) as parquet:
        for batch in arrow_batches(results, FILE_BATCH_ROWS, order=order):
            parquet.write_batch(batch)
            if progress is not None:
                progress(batch.num_rows)


# -- Arrow and pandas ------------------------------------------------------------------------


def arrow_schema() -> Any:
    """The fixed Arrow schema of result rows (keys as JSON text, so any key type fits)."""
    pa = _pyarrow()
    return pa.schema(
        [
            ("key", pa.string()),
            ("record_id", pa.string()),
            ("status", pa.string()),
            ("text", pa.string()),
            ("embedding", pa.list_(pa.float32())),
            ("parsed", pa.string()),
            ("error_code", pa.int32()),
            ("error_message", pa.string()),
            ("retryable", pa.bool_()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("attempt", pa.int32()),
        ]
    )


def arrow_batches(
    results: Iterable[Result],
    batch_size: int,
    *,
    order: Order = "output",
    keys: list[Any] | None = None,
) -> Iterator[Any]:
    """Results as ``pyarrow.RecordBatch`` es of at most ``batch_size`` rows, in ``order``.

    Each result is packed into one row of bytes as the join yields it (spilled by input
    position for ``order="input"``), and each batch's buffers are made once at their exact
    size from its packed rows, no value passing through a Python list (:mod:`._columns`).
    ``keys``: the keys that are dicts (others as None) are added to it, in row order.
    """
    pa = _pyarrow()
    schema = arrow_schema()
    for part in _assembled(results, batch_size, order, objects=False, json_keys=keys is not None):  # fmt: skip
        if keys is not None:
            keys.extend(part.keys)
        yield pa.RecordBatch.from_arrays(part.arrays, schema=schema)


def _assembled(
    results: Iterable[Result], batch_size: int, order: Order, *, objects: bool, json_keys: bool,
    key_objects: list[Any] | None = None,
) -> Iterator[Assembled]:  # fmt: skip
    """Batches of packed rows in ``order``, as columns (see :func:`.assemble`).
    ``key_objects`` (order ``"output"``): the results' keys appended as they are, and left
    out of the packed rows."""
    pa = _pyarrow()

    def packed(r: Result) -> bytes:
        row = result_row(r)
        if key_objects is not None:
            key_objects.append(row[0])
            row = (None, *row[1:])
        return pack(row)

    rows: list[bytes] = []
    for row in _encoded(results, order, packed):
        rows.append(row)
        if len(rows) >= batch_size:
            yield assemble(pa, rows, objects=objects, json_keys=json_keys)
            rows = []
    if rows:
        yield assemble(pa, rows, objects=objects, json_keys=json_keys)


def arrow_table(
    results: Iterable[Result],
    batch_size: int,
    *,
    order: Order = "output",
    fields: KeyFields | None = None,
) -> Any:
    """One ``pyarrow.Table`` of every result (built from streamed record batches), with a
    ``key_<name>`` column per member of the keys that are dicts (``fields``: those columns,
    already decided for the whole batch; None: from these keys)."""
    pa = _pyarrow()
    keys: list[Any] = []
    table = pa.Table.from_batches(
        list(arrow_batches(results, batch_size, order=order, keys=keys)), schema=arrow_schema()
    )
    return _with_key_columns(table, keys, key_fields(keys) if fields is None else fields)


def pandas_frame(results: Iterable[Result], *, order: Order = "output") -> Any:
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
        return _pandas_from_lists(results, order=order)
    schema = arrow_schema()
    for name in ("key", "embedding"):  # Python objects in the frame: kept as they are
        schema = schema.remove(schema.get_field_index(name))
    keys: list[Any] = []
    embeddings: list[Any] = []
    batches = []
    # in output order the keys are taken as they are; in input order from their JSON text
    direct = order == "output"
    for part in _assembled(results, 10_000, order, objects=True, json_keys=False, key_objects=keys if direct else None):  # fmt: skip
        if not direct:
            keys.extend(part.keys)
        embeddings.extend(part.embeddings)
        arrays = [a for i, a in enumerate(part.arrays) if i not in (0, 4)]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    table = pa.Table.from_batches(batches, schema=schema)
    del batches
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    frame.insert(0, "key", pd.Series(keys, dtype=object, index=frame.index))
    frame.insert(4, "embedding", pd.Series(embeddings, dtype=object, index=frame.index))
    for i, (name, kind) in enumerate(key_fields(keys)):  # merge on them: dicts cannot be
        array = pa.array(_key_values(keys, name, kind), type=_arrow_type(pa, kind))
        frame.insert(1 + i, f"key_{name}", array.to_pandas())
    return _typed(frame)


def _pandas_from_lists(results: Iterable[Result], *, order: Order = "output") -> Any:
    import pandas as pd

    merged: list[list[Any]] = [[] for _ in ROW_COLUMNS]
    for columns in _column_batches(_rows(results, order), 50_000):
        for whole, part in zip(merged, columns, strict=True):
            whole.extend(part)
    frame = pd.DataFrame(dict(zip(ROW_COLUMNS, merged, strict=True)), columns=list(ROW_COLUMNS))  # fmt: skip
    for i, (name, kind) in enumerate(key_fields(merged[0])):
        frame.insert(1 + i, f"key_{name}", _key_values(merged[0], name, kind))
    return _typed(frame)


def _typed(frame: Any) -> Any:
    """The same column types whichever way the frame was built."""
    for name in ("input_tokens", "output_tokens", "attempt"):
        frame[name] = frame[name].astype("int64")
    return frame

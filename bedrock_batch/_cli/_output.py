"""What the command line prints and writes: aligned tables, camelCase JSON, and joined results
streamed to JSONL, CSV or Parquet with bounded memory."""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ._errors import EXIT_USAGE, CliError

__all__ = [
    "camel",
    "check_output",
    "emit",
    "open_output",
    "output_format",
    "table",
    "write_results",
]

FORMATS = ("jsonl", "csv", "parquet")
BATCH_ROWS = 2000  # rows held at once while writing CSV or Parquet


def camel(data: Any) -> Any:
    """``data`` with every dict key in camelCase (the AWS API's convention)."""
    if isinstance(data, Mapping):
        return {
            re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), str(k)): camel(v)
            for k, v in data.items()
        }
    if isinstance(data, (list, tuple)):
        return [camel(v) for v in data]
    return data


def table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """Rows as left-aligned columns separated by two spaces (a header underlined)."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    if header:
        cells.insert(0, list(header))
    if not cells:
        return ""
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() for row in cells
    ]
    if header:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit(as_json: bool, data: Any, text: str) -> None:
    """Print ``data`` as camelCase JSON, or ``text``."""
    if as_json:
        print(json.dumps(camel(data), ensure_ascii=False, default=str, indent=2))
    else:
        print(text)


def output_format(path: str, fmt: str | None) -> str:
    """The format to write: ``fmt``, else the file's extension, else JSONL for stdout."""
    if fmt:
        return fmt
    if path == "-":
        return "jsonl"
    ext = Path(path).suffix.lower().lstrip(".")
    if ext in ("jsonl", "json", "ndjson"):
        return "jsonl"
    if ext in ("csv", "parquet"):
        return ext
    raise CliError(
        f"cannot tell the format of {path!r} from its extension: use .jsonl, .csv or .parquet, "
        "or pass --format"
    )


def check_output(path: str, *, force: bool) -> None:
    """Refuse a missing folder, a folder, or an existing file without ``force`` (before any
    AWS call)."""
    if path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise CliError(f"--output {path} is a folder; name a file in it")
    if not target.parent.is_dir():
        raise CliError(f"the folder {str(target.parent)!r} does not exist; create it first")
    if target.exists() and not force:
        raise CliError(f"{path} already exists; pass --force to overwrite it")


def open_output(path: str, *, force: bool, binary: bool) -> tuple[IO[Any], str | None]:
    """Where to write: stdout for ``-``, else a temporary file beside ``path`` (renamed into
    place when complete; see :func:`check_output`). Returns the stream and the temporary path
    (None for stdout)."""
    if path == "-":
        sys.stdout.flush()
        return (sys.stdout.buffer if binary else sys.stdout), None
    check_output(path, force=force)
    target = Path(path)
    tmp = str(target.with_name(f".{target.name}.part"))
    try:
        stream: IO[Any] = (
            open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115
        )
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror}", EXIT_USAGE) from None
    return stream, tmp


def _csv_rows(results: Iterable[Any]) -> Iterator[dict[str, Any]]:
    from .._records._frames import result_row

    for r in results:
        row = result_row(r)
        for name in ("key", "embedding"):
            value = row[name]
            if value is not None and not isinstance(value, str):
                row[name] = json.dumps(value, ensure_ascii=False, default=str)
        yield row


def write_results(results: Any, path: str, fmt: str, *, force: bool) -> dict[str, int]:
    """Stream ``results`` to ``path`` (``-``: stdout) as ``fmt``; returns the counts."""
    if fmt == "parquet":
        if path == "-":
            raise CliError("Parquet cannot go to stdout; name a .parquet file")
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise CliError(
                "writing Parquet needs pyarrow: pip install 'bedrock-batch[arrow]'"
            ) from None
    stream, tmp = open_output(path, force=force, binary=fmt != "csv")
    try:
        if fmt == "jsonl":
            from .._common._codec import encode

            for r in results:
                stream.write(encode(r.to_dict()) + b"\n")
        elif fmt == "csv":
            from .._records._frames import ROW_COLUMNS

            writer = csv.DictWriter(stream, fieldnames=list(ROW_COLUMNS))
            writer.writeheader()
            writer.writerows(_csv_rows(results))
        else:
            from .._records._frames import arrow_schema

            with pq.ParquetWriter(stream, arrow_schema()) as parquet:
                for batch in results.iter_arrow_batches(BATCH_ROWS):
                    parquet.write_batch(batch)
        stream.flush()
    except BaseException:
        if tmp is not None:
            stream.close()
            os.unlink(tmp)
        raise
    if tmp is not None:
        stream.close()
        os.replace(tmp, path)
    return dict(results.counts)

"""What the command line prints and writes: aligned tables, camelCase JSON, and joined results
written through the reader's export (:mod:`bedrock_batch._reader._export`) to a file, renamed
into place when complete, or to stdout."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .._reader._formats import Order
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
    from .._reader._formats import format_of

    found = format_of(path)
    if found is not None:
        return found
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


def write_results(
    results: Any, path: str, fmt: str, *, force: bool, order: Order = "input"
) -> dict[str, int]:
    """Stream ``results`` to ``path`` (``-``: stdout) as ``fmt``, in ``order``; returns the
    counts."""
    from .._reader._export import write

    if fmt == "parquet":
        if path == "-":
            raise CliError("Parquet cannot go to stdout; name a .parquet file")
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise CliError(
                "writing Parquet needs pyarrow: pip install 'bedrock-batch[arrow]'"
            ) from None
    stream, tmp = open_output(path, force=force, binary=True)
    try:
        write(results, stream, fmt, order=order)
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

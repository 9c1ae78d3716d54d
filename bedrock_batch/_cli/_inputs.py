"""The CLI's input files: Bedrock-format JSONL as written, or prompts to build requests from.

``.csv`` and ``.parquet`` (read with pandas, imported only for them), ``.jsonl`` of arbitrary
rows, and plain text files (one prompt a line) are turned into records by the library's own
``add_prompt``; a JSONL file whose first object has a ``modelInput`` is Bedrock's own format and
goes to ``add_jsonl`` unchanged. The CLI never builds a request body itself.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._errors import Problem, ValidationError
from ._errors import CliError

__all__ = ["BEDROCK_FORMAT", "add_input", "input_kind"]

BEDROCK_FORMAT = 'Bedrock-format JSONL ({"recordId"?, "modelInput"} lines)'
_PROMPT_FLAGS = ("system", "max_tokens", "output_schema")


def input_kind(path: Path, prompt_column: str | None) -> str:
    """``"bedrock"``, ``"jsonl"`` (rows), ``"csv"``, ``"parquet"`` or ``"text"``."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".json", ".ndjson"):
        if prompt_column is not None:
            return "jsonl"
        first = _first_object(path)
        return "jsonl" if isinstance(first, dict) and "modelInput" not in first else "bedrock"
    return "text"


def _first_object(path: Path) -> Any:
    """The first non-blank line of a JSONL file, decoded (None when it is not JSON)."""
    try:
        with path.open("rb") as fh:
            for raw in fh:
                if raw.strip():
                    return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def add_input(job: Any, path: Path, args: argparse.Namespace) -> list[Problem]:
    """Add ``path``'s records to ``job``; returns the rows refused under ``--skip-invalid``
    (Bedrock-format lines refused are the job's own ``rejected``). Raises ValidationError
    listing the problems, its first line naming the expected format and the flag that builds it.
    """
    kind = input_kind(path, args.prompt_column)
    if kind == "bedrock":
        given = [f"--{f.replace('_', '-')}" for f in _PROMPT_FLAGS if getattr(args, f) is not None]
        if given:
            raise CliError(
                f"{path} is {BEDROCK_FORMAT}, sent as written: {', '.join(given)} only apply to "
                "prompts (a .csv, .parquet or .txt file, or JSONL rows with --prompt-column)"
            )
        try:
            job.add_jsonl(
                str(path),
                key_field=args.key_column,
                on_invalid="skip" if args.skip_invalid else "raise",
            )
        except ValidationError as err:
            if args.skip_invalid or type(err) is not ValidationError or not err.problems:
                raise
            raise ValidationError(
                f"{err.summary}: expected {BEDROCK_FORMAT}; to build the requests from a column of "
                "prompts instead, pass --prompt-column NAME (--skip-invalid sends the valid lines "
                "and lists the others)",
                err.problems,
            ) from None
        return []
    column = args.prompt_column or "prompt"
    if kind == "text" and args.key_column is not None:
        raise CliError(f"{path} is a text file (one prompt a line): its key is the line number, "
                       "and --key-column applies to CSV, Parquet and JSONL rows")  # fmt: skip
    options: dict[str, Any] = {"system": args.system, "max_tokens": args.max_tokens}
    if args.output_schema is not None:
        options["output_schema"] = _schema(args.output_schema)
    problems: list[Problem] = []
    valid: list[tuple[int, str, Any]] = []
    for line, row in _rows(path, kind):
        if kind != "text" and not isinstance(row, dict):
            why = str(row) if isinstance(row, _NotJson) else "the line is not a JSON object"
            problems.append(Problem(why, line=line))
            continue
        prompt = row if kind == "text" else row.get(column)
        key = row.get(args.key_column) if args.key_column and kind != "text" else None
        if kind == "text":
            key = line
        if not isinstance(prompt, str) or not prompt.strip():
            what = "no column" if kind != "text" and column not in row else "an empty or non-text"
            problems.append(Problem(f"{what} {column!r}", line=line, field=column))
            continue
        if args.key_column and kind != "text" and args.key_column not in row:
            problems.append(Problem(f"no column {args.key_column!r} (--key-column)", line=line))
            continue
        valid.append((line, prompt, key))
    if problems and not args.skip_invalid:
        raise _refused(path, kind, column, problems, _columns(path, kind))
    for line, prompt, key in valid:
        try:
            job.add_prompt(prompt, key=key, **options)
        except ValidationError as err:
            problems.append(Problem(err.summary, line=line))
            if not args.skip_invalid:
                raise _refused(path, kind, column, problems, []) from None
    return problems


def _refused(
    path: Path, kind: str, column: str, problems: list[Problem], columns: list[str]
) -> ValidationError:
    what = {
        "csv": "CSV rows",
        "parquet": "Parquet rows",
        "jsonl": "JSONL rows",
        "text": "a text file, one prompt a line",
    }[kind]
    seen = f" (its columns: {', '.join(columns)})" if columns else ""
    return ValidationError(
        f"{path}: {len(problems)} invalid row(s); expected {what} with the prompt in the "
        f"column {column!r}{seen}: --prompt-column NAME picks the column, or give {BEDROCK_FORMAT} "
        "(--skip-invalid sends the valid rows and lists the others)",
        problems,
    )


def _schema(name: str) -> Any:
    try:
        schema = json.loads(Path(name).read_text(encoding="utf-8"))
    except OSError as err:
        raise CliError(f"cannot read the --output-schema file {name}: {err.strerror}") from None
    except ValueError as err:
        raise CliError(f"the --output-schema file {name} is not JSON: {err}") from None
    if not isinstance(schema, dict):
        raise CliError(f"the --output-schema file {name} must hold a JSON Schema object")
    return schema


def _rows(path: Path, kind: str) -> Iterator[tuple[int, Any]]:
    """(line or row number, row) pairs: 1-based file lines for text and JSONL, the file line
    for CSV (the header is line 1), the 1-based row for Parquet."""
    try:
        if kind in ("text", "jsonl"):
            with path.open(encoding="utf-8") as fh:
                for n, raw in enumerate(fh, start=1):
                    if not raw.strip():
                        continue
                    if kind == "text":
                        yield n, raw.rstrip("\r\n")
                        continue
                    try:
                        yield n, json.loads(raw)
                    except ValueError as err:
                        yield n, _NotJson(f"not valid JSON: {err}")
            return
        frame = _frame(path, kind)
        first = 2 if kind == "csv" else 1
        for n, row in enumerate(frame.to_dict("records")):
            yield n + first, {str(k): _cell(v) for k, v in row.items()}
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"cannot read {path}: {err}") from None


class _NotJson(str):
    """A JSONL line that does not decode: the reason."""


def _cell(value: Any) -> Any:
    """A pandas cell as a plain value (NaN is an empty cell)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        value = item()
    return None if isinstance(value, float) and math.isnan(value) else value


def _frame(path: Path, kind: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise CliError(
            f"reading {path.suffix} files needs pandas (and pyarrow for Parquet): "
            "pip install 'bedrock-batch[pandas]'"
        ) from None
    try:
        if kind == "csv":
            return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
        return pd.read_parquet(path)
    except ImportError as err:
        raise CliError(f"reading {path} needs pyarrow: {err}") from None
    except ValueError as err:
        raise CliError(f"cannot read {path} as {kind}: {' '.join(str(err).split())}") from None


def _columns(path: Path, kind: str) -> list[str]:
    """The columns the file has (the first row's), to show next to a missing one."""
    if kind == "text":
        return []
    for _, row in _rows(path, kind):
        return [str(c) for c in row] if isinstance(row, dict) else []
    return []

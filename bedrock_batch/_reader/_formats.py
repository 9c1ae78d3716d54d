"""The formats and orders results are exported in: one definition, for ``Results.to_*``
(:mod:`._export`) and the command line's ``--format`` and ``--order`` (standard library only,
so ``bedrock-batch --help`` stays free of boto3)."""

from __future__ import annotations

import os
from typing import Literal

__all__ = ["EXTENSIONS", "FORMATS", "ORDERS", "Order", "format_of"]

#: The file formats results are written as.
FORMATS = ("jsonl", "csv", "parquet")
#: The file extensions that name each format.
EXTENSIONS = {"jsonl": "jsonl", "json": "jsonl", "ndjson": "jsonl", "csv": "csv", "parquet": "parquet"}  # fmt: skip

Order = Literal["input", "output"]
#: ``input``: the order the records were added; ``output``: the order Bedrock wrote them.
ORDERS: tuple[Order, ...] = ("input", "output")


def format_of(path: str) -> str | None:
    """The format a file's extension names (None when it names none)."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower().lstrip("."))

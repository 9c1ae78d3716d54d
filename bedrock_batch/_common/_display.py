"""Text and HTML renderings of plain rows and values (for the CLI and notebooks).

The objects shown (``BatchJob``, ``BatchStatus``, ``Results``, ``Plan``) build their own
``(label, value)`` rows and counts and hand them here; this module knows none of them and does
no I/O.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["count_text", "html_table", "progress_text", "records_text", "rows_text"]

Rows = Sequence[tuple[str, str]]


def rows_text(rows: Rows) -> str:
    """(label, value) rows as two aligned columns."""
    if not rows:
        return ""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def html_table(rows: Rows, caption: str | None = None) -> str:
    """(label, value) rows as an HTML table."""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table>{cap}{cells}</table>"


def count_text(value: int | None) -> str:
    """A count, or ``?`` when it is not known."""
    return "?" if value is None else str(value)


def records_text(processed: int | None, total: int | None, *, ended: bool) -> str:
    """``120 of 500 processed``, or ``not counted yet`` while Bedrock reports no total
    (Submitted and Validating report 0) and the batch has not ended."""
    if not total and not ended:
        return "not counted yet"
    return f"{count_text(processed)} of {count_text(total)} processed"


def progress_text(processed: int | None, total: int | None, *, ended: bool) -> str | None:
    """``120/500 records``, or None while nothing is counted yet (see :func:`records_text`)."""
    if not total and not ended:
        return None
    return f"{count_text(processed)}/{count_text(total)} records"

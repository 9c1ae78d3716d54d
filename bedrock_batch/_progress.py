"""Progress display for ``wait(progress=True)``: tqdm when installed, else one stderr line."""

from __future__ import annotations

import sys
from typing import Any, Protocol, TextIO

__all__ = ["ProgressDisplay"]


class Progressable(Protocol):
    """A job or a batch of jobs, as the display reads it."""

    @property
    def job_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def total_records(self) -> int | None: ...
    @property
    def processed_records(self) -> int | None: ...
    @property
    def errored_records(self) -> int | None: ...


class ProgressDisplay:
    """Shows a job's status and record counters; call ``update`` per poll and ``close`` at end."""

    def __init__(self, *, stream: TextIO | None = None, use_tqdm: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        self._bar: Any = None
        self._last_width = 0
        if use_tqdm is not False:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                if use_tqdm:
                    raise
            else:
                self._bar = tqdm(total=0, unit="rec", file=self._stream, desc="Submitted")

    def update(self, desc: Progressable) -> None:
        """Render the latest description."""
        total = desc.total_records or 0
        done = desc.processed_records or 0
        if self._bar is not None:
            if total and self._bar.total != total:
                self._bar.total = total
            self._bar.set_description_str(desc.status)
            self._bar.n = done
            self._bar.set_postfix_str(f"errors={desc.errored_records or 0}", refresh=False)
            self._bar.refresh()
            return
        pct = f" {100 * done / total:5.1f}%" if total else ""
        text = f"{desc.job_id} {desc.status:<18} {done}/{total} records{pct} errors={desc.errored_records or 0}"
        pad = " " * max(0, self._last_width - len(text))
        self._stream.write("\r" + text + pad)
        self._stream.flush()
        self._last_width = len(text)

    def close(self) -> None:
        """End the line / bar."""
        if self._bar is not None:
            self._bar.close()
        elif self._last_width:
            self._stream.write("\n")
            self._stream.flush()

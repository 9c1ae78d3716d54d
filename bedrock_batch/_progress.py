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


class CountDisplay:
    """A count of records or bytes for long uploads and reads (tqdm when installed)."""

    def __init__(
        self,
        desc: str,
        *,
        total: int | None = None,
        unit: str = "rec",
        stream: TextIO | None = None,
    ) -> None:
        self._stream = stream or sys.stderr
        self._desc = desc
        self._unit = unit
        self._total = total
        self._n = 0
        self._bar: Any = None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:
            scale = unit == "B"
            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                unit_scale=scale,
                unit_divisor=1024 if scale else 1000,
                file=self._stream,
            )

    def update(self, n: int) -> None:
        """Count ``n`` more."""
        self._n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._n % 1000 == 0 or n > 1:
            total = f"/{self._total}" if self._total else ""
            self._stream.write(f"\r{self._desc}: {self._n}{total} {self._unit}")
            self._stream.flush()

    def close(self) -> None:
        """Finish the display."""
        if self._bar is not None:
            self._bar.close()
        else:
            total = f"/{self._total}" if self._total else ""
            self._stream.write(f"\r{self._desc}: {self._n}{total} {self._unit}\n")
            self._stream.flush()

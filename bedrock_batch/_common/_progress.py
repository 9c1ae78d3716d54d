"""Progress displays: ``wait(progress=True)`` (phase, counters and a moving clock) and counts
for uploads and reads (tqdm when installed)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

__all__ = ["CountDisplay", "ProgressDisplay", "clock_text", "phase_of", "sliced"]


class Progressable(Protocol):
    """A job or a batch of jobs, as the display reads it."""

    @property
    def job_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def is_terminal(self) -> bool: ...
    @property
    def total_records(self) -> int | None: ...
    @property
    def processed_records(self) -> int | None: ...
    @property
    def errored_records(self) -> int | None: ...


def phase_of(desc: Progressable) -> str:
    """The phase to show: the status, or ``finishing`` once every record of a job still
    InProgress is processed (Bedrock writes the outputs and the manifest then)."""
    total, done = desc.total_records, desc.processed_records
    if desc.status == "InProgress" and total and done is not None and done >= total:
        return "finishing"
    return desc.status


def clock_text(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour)."""
    whole = int(max(0.0, seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressDisplay:
    """A batch's phase, record counters and elapsed time on stderr.

    Call ``update`` with every status a poll returns and ``tick`` between polls (at least once
    a second): on a terminal the line is redrawn in place with the clock moving; elsewhere (a
    pipe, a CI log) one line is written per change of phase or counters, never a frame per
    tick. ``use_tqdm=True`` (or a Jupyter kernel with tqdm installed) shows a tqdm bar instead.
    ``clock`` is the local clock (``time.monotonic``; tests inject a fake one).
    """

    #: seconds between redraws while waiting between polls
    tick_interval = 0.5

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        use_tqdm: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        live: bool | None = None,
    ) -> None:
        self._stream = stream or sys.stderr
        self._clock = clock
        self._started = clock()
        if live is None:
            isatty = getattr(self._stream, "isatty", None)
            live = bool(isatty()) if callable(isatty) else False
        self._live = live
        self._last: Progressable | None = None
        self._key: tuple[Any, ...] | None = None
        self._width = 0
        self._closed = False
        self._bar: Any = None
        if use_tqdm is None:
            use_tqdm = "ipykernel" in sys.modules
        if use_tqdm:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                if use_tqdm and "ipykernel" not in sys.modules:
                    raise
            else:
                self._bar = tqdm(total=0, unit="rec", file=self._stream, desc="waiting")

    @property
    def elapsed(self) -> float:
        """Seconds since the display was created, by its clock."""
        return self._clock() - self._started

    def line(self) -> str:
        """The text shown now (empty before the first status)."""
        desc = self._last
        if desc is None:
            return ""
        total = desc.total_records
        done = desc.processed_records or 0
        counts = f"{done}/{total} records" if total else "records not counted yet"
        pct = f" {100 * done / total:5.1f}%" if total else ""
        errors = desc.errored_records or 0
        return (
            f"{desc.job_id}  {phase_of(desc):<18} {counts}{pct}  {errors} errors  "
            f"{clock_text(self.elapsed)}"
        )

    def update(self, desc: Progressable) -> None:
        """Show the status a poll returned."""
        self._last = desc
        key = (phase_of(desc), desc.total_records, desc.processed_records, desc.errored_records)
        changed, self._key = key != self._key, key
        if self._bar is not None:
            total = desc.total_records or 0
            if total and self._bar.total != total:
                self._bar.total = total
            self._bar.set_description_str(phase_of(desc))
            self._bar.n = desc.processed_records or 0
            self._bar.set_postfix_str(f"errors={desc.errored_records or 0}", refresh=False)
            self._bar.refresh()
        elif self._live:
            self._draw()
        elif changed:
            self._stream.write(self.line() + "\n")
            self._stream.flush()

    def tick(self) -> None:
        """Redraw with the clock moved on (on a terminal only: a log gets lines on change)."""
        if self._closed or self._last is None:
            return
        if self._bar is not None:
            self._bar.refresh()
        elif self._live:
            self._draw()

    def _draw(self) -> None:
        text = self.line()
        pad = " " * max(0, self._width - len(text))
        self._stream.write("\r" + text + pad)
        self._stream.flush()
        self._width = len(text)

    def close(self) -> None:
        """End the line / bar (once)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self._live and self._width:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()


def sliced(seconds: float, sleep: Callable[[float], None], display: ProgressDisplay | None) -> None:
    """Sleep ``seconds`` in slices of at most ``display.tick_interval``, redrawing after each."""
    if display is None:
        sleep(seconds)
        return
    left = seconds
    while left > 0:
        step = min(left, display.tick_interval)
        sleep(step)
        left -= step
        display.tick()


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

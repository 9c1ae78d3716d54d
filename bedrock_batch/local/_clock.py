"""Emulated time: Local Bedrock owns a clock so a 24-hour timeout can pass in a second."""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "ScaledClock"]


class Clock(Protocol):
    """Anything that tells the emulated time, in seconds since the epoch."""

    def now(self) -> float:
        """The current emulated time."""
        ...


class ScaledClock:
    """Real time, sped up: every real second is ``time_scale`` emulated seconds.

    Emulated time starts at the real time of creation, so timestamps look current.
    """

    def __init__(self, time_scale: float = 1000.0, *, start: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._origin = time.time() if start is None else start
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """The current emulated time."""
        return self._origin + (time.monotonic() - self._mono0) * self.time_scale


class ManualClock:
    """Time that moves only when a test says so (:meth:`advance`)."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current emulated time."""
        return self._now

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0) -> float:
        """Move time forward; returns the new time."""
        delta = seconds + 60 * minutes + 3600 * hours
        if delta < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += delta
            return self._now

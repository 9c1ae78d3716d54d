"""Time in Local Bedrock: emulated time drives the lifecycle; clients see wall-clock times.

A clock has two faces:

- :meth:`Clock.now` is *emulated* time. Phases, record processing, timeouts and idempotency
  windows are measured in it, so a 24-hour timeout can pass in 86 real seconds.
- ``wall(t)`` turns an emulated instant into the timestamp clients see. For
  :class:`ScaledClock` that is the real wall-clock time at which the instant happened, so a job
  created now reports ``submitTime`` = now, never a time in the future. For
  :class:`ManualClock` it is the virtual time itself (tests that want virtual time get it).

Clocks written before ``wall`` existed (with ``now()`` only) still work: their emulated time is
reported as is.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "ScaledClock", "is_realtime", "wall_time"]


class Clock(Protocol):
    """Anything that tells the emulated time, in seconds since the epoch.

    A clock may also define ``wall(t) -> float`` (the timestamp clients see for emulated time
    ``t``; identity when absent) and ``realtime`` (True when time passes by itself, so Local
    Bedrock runs a background thread to move jobs along).
    """

    def now(self) -> float:
        """The current emulated time."""
        ...


class ScaledClock:
    """Real time, sped up for the lifecycle: every real second is ``time_scale`` emulated seconds.

    Timestamps shown to clients stay honest: :meth:`wall` maps an emulated instant back to the
    real moment it happened, so the time scale shortens phases and timeouts but never moves
    reported time forward.
    """

    realtime = True

    def __init__(self, time_scale: float = 1000.0, *, start: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._origin = time.time() if start is None else start
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """The current emulated time."""
        return self._origin + (time.monotonic() - self._mono0) * self.time_scale

    def wall(self, t: float) -> float:
        """The real wall-clock time at which emulated time ``t`` is (or was) reached."""
        return self._origin + (t - self._origin) / self.time_scale


class ManualClock:
    """Virtual time that moves only when a test says so (:meth:`advance`).

    Reported timestamps are the virtual times themselves (starting 2026-01-01T00:00:00Z), which
    makes every timestamp a test sees exact and reproducible. They have nothing to do with the
    real time, nor with the ``LastModified`` moto gives S3 objects.
    """

    realtime = False

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current emulated time."""
        return self._now

    def wall(self, t: float) -> float:
        """Virtual time is what clients see."""
        return t

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0) -> float:
        """Move time forward; returns the new time."""
        delta = seconds + 60 * minutes + 3600 * hours
        if delta < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += delta
            return self._now


def wall_time(clock: Clock, t: float) -> float:
    """The timestamp clients see for emulated time ``t`` on ``clock``."""
    wall = getattr(clock, "wall", None)
    return float(wall(t)) if callable(wall) else t


def is_realtime(clock: Clock) -> bool:
    """Whether time passes by itself on this clock (anything but a :class:`ManualClock`)."""
    return bool(getattr(clock, "realtime", not isinstance(clock, ManualClock)))

"""Waiting for a batch: the steps of a wait (shared by the blocking and asyncio APIs) and the
blocking loop around them (progress display, callback, Ctrl-C)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._common._progress import ProgressDisplay, sliced
from .._errors import JobExpiredError, JobFailedError, JobStoppedError, NotFinishedError
from ._parts import BatchParts
from ._polling import PollConfig, wait_until_terminal
from ._status import BatchStatus

if TYPE_CHECKING:
    from ..events import EventQueue

__all__ = ["WaitSteps", "blocking_wait", "raise_for_failures", "raise_unless_finished"]

log = logging.getLogger("bedrock_batch")

_ERRORS = {"Failed": JobFailedError, "Expired": JobExpiredError, "Stopped": JobStoppedError}


def raise_for_failures(status: BatchStatus, handle: str | None = None) -> None:
    """Raise the error of the first job that ended Failed, Expired or Stopped, if any, or
    :class:`JobStoppedError` for a batch stopped with records never run (``handle`` names it
    when no job of it ended Stopped)."""
    if status.failures:
        failed = status.failures[0]
        raise _ERRORS[failed.status](failed.job_arn, failed.status, failed.message)
    if status.stopped_early:
        raise JobStoppedError(handle or status.job_arn or "the batch", "Stopped", status.message)


def raise_unless_finished(status: BatchStatus) -> None:
    """Raise :class:`NotFinishedError` unless the batch has ended."""
    if not status.is_terminal:
        raise NotFinishedError(status.status, status.processed_records, status.total_records)


class WaitSteps:
    """The steps of a wait, shared by :meth:`BatchJob.wait` and the asyncio API.

    Each call moves the batch forward and returns its status: a full step (upload what is
    planned, create what the quota allows, describe every job) or, with an event queue and
    between full steps, only the state changes its events announce. A full step still runs
    every ``events.safety_interval`` seconds, so a lost event never hangs a wait.

    ``timeout`` (seconds, None: no limit) clips the events' long poll to the time left, so a
    wait with a deadline never overruns it by a long poll (up to 20 s).
    """

    def __init__(
        self, parts: BatchParts, events: EventQueue | None = None, timeout: float | None = None
    ) -> None:
        self._parts = parts
        self._events = events
        self.timeout = timeout
        self._slept = 0.0
        self._asked = 0.0  # the pauses asked for (a long poll waits part of them)
        self._long_poll = events.wait_seconds if events is not None else 0
        self._start = time.monotonic()
        self._next_full = 0.0

    def waited(self) -> float:
        """Seconds waited so far: slept (virtual time in tests) or elapsed, whichever is more."""
        return max(self._slept, time.monotonic() - self._start)

    def _long_poll_seconds(self, events: EventQueue) -> int:
        """The events' long poll, cut to the whole seconds left before the deadline."""
        if self.timeout is None:
            return events.wait_seconds
        spent = max(self._asked, time.monotonic() - self._start)
        return max(0, min(events.wait_seconds, int(self.timeout - spent)))

    def __call__(self) -> BatchStatus:
        store, lifecycle = self._parts.store, self._parts.lifecycle
        events = self._events
        if events is None or self.waited() >= self._next_full:
            self._parts.step()
            if events is not None:
                self._next_full = self.waited() + events.safety_interval
        else:
            arns = frozenset(store.ledger.job_arns if store.ledger else ())
            self._long_poll = self._long_poll_seconds(events)
            if lifecycle.apply(events.receive(arns, wait_seconds=self._long_poll)):
                lifecycle.advance(poll=False)
        return lifecycle.status()

    def pause(self, seconds: float) -> float:
        """How long to sleep for a pause of ``seconds``: an event queue's long poll already
        waits part of it."""
        self._asked += seconds
        if self._events is not None:
            seconds = max(0.0, seconds - self._long_poll)
        self._slept += seconds
        return seconds


def blocking_wait(
    steps: WaitSteps,
    config: PollConfig,
    *,
    sleep: Callable[[float], None],
    handle: str | None,
    progress: bool,
    callback: Callable[[BatchStatus], None] | None,
) -> BatchStatus:
    """Take ``steps`` until every job has ended (see :meth:`BatchJob.wait`), sleeping with
    ``sleep`` between them; returns the status. ``handle`` is what resumes the batch."""
    display = ProgressDisplay() if progress else None
    steps.timeout = config.timeout  # the events' long poll ends by the deadline too

    def poll() -> BatchStatus:
        status = steps()
        if display is not None:
            display.update(status)
        if callback is not None:
            callback(status)
        return status

    def pause(seconds: float) -> None:
        sliced(steps.pause(seconds), sleep, display)

    try:
        return wait_until_terminal(poll, config, sleep=pause)
    except KeyboardInterrupt:
        log.info(
            "stopped waiting; the job(s) keep running. Resume with BatchJob.attach(%r)",
            handle,
        )
        raise
    finally:
        if display is not None:
            display.close()

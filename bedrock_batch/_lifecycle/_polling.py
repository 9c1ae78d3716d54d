"""Waiting for a job: capped, jittered polling on tenacity, with time injected for tests."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import attrs
import tenacity as _t

from .._errors import PollTimeoutError, ServiceError

__all__ = ["Pacer", "PollConfig", "backoff", "doubled", "wait_until_terminal"]


@attrs.frozen
class PollConfig:
    """How to poll: first interval, cap, jitter and overall timeout (seconds; None = no limit).

    The pauses adapt to the job's phase (see :class:`Pacer`): they start at ``initial`` and
    double up to ``max_interval`` within a phase, start again at ``initial`` whenever the status
    changes, and shrink towards the end of InProgress (estimated from the record counters).
    ``adaptive=False`` keeps plain capped exponential backoff from the first poll. A phase may
    last as long as the job's timeout (up to a week): the pauses stay at ``max_interval`` for
    any number of polls.

    .. versionchanged:: Unreleased
       ``initial`` 5 s → 0.5 s and ``jitter`` 2 s → 0.5 s, with the adaptive pacing: a job
       that ends in a second is seen ending within a second.

    ``create_token_window`` (seconds) is how long a client request token names its job
    (UNVERIFIED: Bedrock does not document the idempotency window of
    CreateModelInvocationJob; 24 hours is assumed, Local Bedrock's default). A create whose
    answer was lost in a batch stopped meanwhile is looked for by name at every later wait,
    status or summary; it is given up (the entry cancelled) only once this window has passed
    since the create was last sent, because until then a job may still turn up.

    .. versionchanged:: Unreleased
       A wait no longer dies with :class:`OverflowError` after about 1,040 polls in one phase
       (17 hours at the 60 s cap): the doubling is capped before the power is computed.

    .. versionadded:: Unreleased
       ``create_token_window``.
    """

    initial: float = 0.5
    max_interval: float = 60.0
    jitter: float = 0.5
    timeout: float | None = 8 * 24 * 3600.0
    adaptive: bool = True
    create_token_window: float = 24 * 3600.0

    def __attrs_post_init__(self) -> None:
        if self.initial <= 0 or self.max_interval < self.initial or self.jitter < 0:
            raise ValueError("PollConfig needs 0 < initial <= max_interval and jitter >= 0")
        if self.create_token_window < 0:
            raise ValueError("PollConfig.create_token_window must not be negative")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError("PollConfig.timeout must be positive or None")


#: The largest power of two a pause is ever computed with (``2.0 ** 1024`` overflows); reached
#: only when ``cap`` is infinite or more than 2**1000 times ``initial``.
_MAX_EXPONENT = 1000


def doubled(initial: float, doublings: int, cap: float) -> float:
    """``initial * 2**doublings``, or ``cap`` once that reaches it.

    The exponent is compared with the cap *before* the power is computed, so no number of
    polls can overflow: a phase may last for days (a job's timeout is up to a week) and
    ``2.0 ** n`` raises :class:`OverflowError` from ``n = 1024`` on.
    """
    if doublings >= math.log2(cap) - math.log2(initial):  # both positive: PollConfig checks
        return cap
    return initial * 2.0 ** min(doublings, _MAX_EXPONENT)


def backoff(initial: float, cap: float, jitter: float) -> Callable[[_t.RetryCallState], float]:
    """Capped exponential backoff plus up to ``jitter`` seconds of random jitter (for any
    number of attempts: see :func:`doubled`)."""

    def wait(state: _t.RetryCallState) -> float:
        base = doubled(initial, max(0, state.attempt_number - 1), cap)
        return float(min(cap, base + (random.uniform(0, jitter) if jitter else 0.0)))

    return wait


class Pacer:
    """The pause before the next poll, from what the last poll said.

    - Within a phase (a status, or "finishing": InProgress with every record processed), pauses
      double from ``initial`` up to ``max_interval``; a new phase starts again at ``initial``,
      so a short phase is seen ending soon after it ends, and a long one costs few calls.
    - During InProgress, the processing rate measured between polls estimates when the last
      record will be processed; the pause is at most half of that estimate (never below
      ``initial``), so the polls get closer together as the end nears.

    Time is the sum of the pauses it has given (what an injected ``sleep`` slept), so tests need
    no clock. ``adaptive=False`` in the config gives plain backoff by poll number. Any number of
    polls in a phase is fine: the doubling stops at the cap (:func:`doubled`), it never
    overflows.
    """

    def __init__(self, config: PollConfig) -> None:
        self.config = config
        self._phase: str | None = None
        self._in_phase = 0
        self._polls = 0
        self._time = 0.0
        self._first: tuple[float, int] | None = None  # (time, processed) at the first InProgress
        self._latest: tuple[float, int] | None = None

    @staticmethod
    def phase_of(status: object) -> str | None:
        """The phase a status is in (None when unknown: a failed poll)."""
        if status is None:
            return None
        name = str(getattr(status, "status", ""))
        total = getattr(status, "total_records", None)
        done = getattr(status, "processed_records", None)
        if name == "InProgress" and total and done is not None and done >= total:
            return "finishing"
        return name

    def next(self, status: object = None) -> float:
        """The pause after a poll that returned ``status`` (None: the poll failed)."""
        c = self.config
        self._polls += 1
        phase = self.phase_of(status)
        if not c.adaptive:
            base = doubled(c.initial, self._polls - 1, c.max_interval)
        else:
            if phase is not None and phase != self._phase:
                self._phase, self._in_phase = phase, 0
            base = doubled(c.initial, self._in_phase, c.max_interval)
            self._in_phase += 1
            eta = self._eta(status) if phase == "InProgress" else None
            if eta is not None:
                base = min(base, max(c.initial, eta / 2))
        jitter = min(c.jitter, base / 4) if c.adaptive else c.jitter
        pause = float(min(c.max_interval, base + (random.uniform(0, jitter) if jitter else 0)))
        self._time += pause
        return pause

    def _eta(self, status: object) -> float | None:
        """Seconds until the last record is processed, at the rate seen so far (None until
        two polls of InProgress have seen records processed)."""
        total = getattr(status, "total_records", None)
        done = getattr(status, "processed_records", None)
        if not total or done is None:
            return None
        sample = (self._time, int(done))
        if self._first is None:
            self._first = sample
        self._latest = sample
        elapsed = sample[0] - self._first[0]
        progressed = sample[1] - self._first[1]
        if elapsed <= 0 or progressed <= 0:
            return None
        return (int(total) - sample[1]) / (progressed / elapsed)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ServiceError) and exc.transient


class Pollable(Protocol):
    """What polling needs to know of a job (or of a batch of jobs)."""

    @property
    def is_terminal(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def job_arn(self) -> str | None: ...


P = TypeVar("P", bound=Pollable)


def wait_until_terminal(
    get: Callable[[], P],
    config: PollConfig,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_update: Callable[[P], None] | None = None,
) -> P:
    """Call ``get`` until the job is terminal; returns the last description.

    Throttling, 5xx and lost connections that survive botocore's own retries are polled
    through (the next poll is the retry). ``config.timeout`` is a deadline: each sleep is cut to
    the time left, and :class:`PollTimeoutError` is raised once the summed waits (or the real
    elapsed time) reach it — at the end of the pause that reached it, without polling again.
    """
    last: list[P] = []
    started = time.monotonic()
    slept = [0.0]

    def poll() -> P:
        timeout = config.timeout
        if last and timeout is not None and max(slept[0], time.monotonic() - started) >= timeout:
            return last[-1]  # the deadline came during the pause: give up now, not a poll later
        desc = get()
        last.append(desc)
        del last[:-1]
        if on_update is not None:
            on_update(desc)
        return desc

    def spent(state: _t.RetryCallState) -> float:
        return max(state.idle_for, state.seconds_since_start or 0.0)

    def out_of_time(state: _t.RetryCallState) -> bool:
        return config.timeout is not None and spent(state) >= config.timeout

    pacer = Pacer(config)

    def capped(state: _t.RetryCallState) -> float:
        outcome = state.outcome
        wait_for = pacer.next(
            outcome.result() if outcome is not None and not outcome.failed else None
        )
        if config.timeout is not None:
            wait_for = max(0.0, min(wait_for, config.timeout - spent(state)))
        slept[0] += wait_for
        return wait_for

    retrying = _t.Retrying(
        retry=_t.retry_if_result(lambda d: not d.is_terminal) | _t.retry_if_exception(_transient),
        wait=capped,
        stop=out_of_time,
        sleep=sleep,
        reraise=False,
    )
    try:
        return retrying(poll)
    except _t.RetryError as err:
        state = err.last_attempt
        if state.failed:
            exc = state.exception()
            if exc is not None and not _transient(exc):
                raise exc from None
        arn = (last[-1].job_arn if last else None) or "the job"
        status = last[-1].status if last else "unknown"
        raise PollTimeoutError(
            arn, status, float(retrying.statistics.get("idle_for", 0.0))
        ) from None

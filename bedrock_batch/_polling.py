"""Waiting for a job: capped, jittered polling on tenacity, with time injected for tests."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import attrs
import tenacity as _t

from ._errors import PollTimeoutError, ServiceError

__all__ = ["PollConfig", "backoff", "wait_until_terminal"]


@attrs.frozen
class PollConfig:
    """How to poll: first interval, cap, jitter and overall timeout (seconds; None = no limit)."""

    initial: float = 5.0
    max_interval: float = 60.0
    jitter: float = 2.0
    timeout: float | None = 8 * 24 * 3600.0

    def __attrs_post_init__(self) -> None:
        if self.initial <= 0 or self.max_interval < self.initial or self.jitter < 0:
            raise ValueError("PollConfig needs 0 < initial <= max_interval and jitter >= 0")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError("PollConfig.timeout must be positive or None")


def backoff(initial: float, cap: float, jitter: float) -> Callable[[_t.RetryCallState], float]:
    """Capped exponential backoff plus up to ``jitter`` seconds of random jitter."""

    def wait(state: _t.RetryCallState) -> float:
        base: float = initial * 2.0 ** max(0, state.attempt_number - 1)
        return float(min(cap, base + (random.uniform(0, jitter) if jitter else 0.0)))

    return wait


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
    elapsed time) reach it.
    """
    last: list[P] = []

    def poll() -> P:
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

    interval = backoff(config.initial, config.max_interval, config.jitter)

    def capped(state: _t.RetryCallState) -> float:
        wait_for = interval(state)
        if config.timeout is not None:
            wait_for = max(0.0, min(wait_for, config.timeout - spent(state)))
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

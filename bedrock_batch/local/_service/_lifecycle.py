"""The job lifecycle as data: every status, how it ends, and where it may go.

Like moto's ``ManagedState``, transitions are a table rather than code. :data:`LIFECYCLE`
names, for each non-terminal status, the :class:`Timings` field that times it, the status it
moves to when its time (or its work) is done, the status it moves to when the job's timeout
hits, and the full set of exits. :func:`next_step` reads the table and a job's state and says
what is due at emulated time ``now``; it does no I/O, so the backend can run the I/O outside
its lock.

::

    Submitted ─► Validating ─► Scheduled ─► InProgress ─► Completed
                     │             │            ├──────► PartiallyCompleted (timeout)
                     └► Failed     └► Expired   └──────► Failed (late)
    any of the above ─► Stopping ─► Stopped
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from ..._catalog import ModelInfo
from .._config import JobFault, Timings
from ._work import JobWork

__all__ = [
    "ACTIVE",
    "LIFECYCLE",
    "STATUSES",
    "TERMINAL",
    "Finish",
    "Job",
    "Move",
    "Phase",
    "Process",
    "Step",
    "Validate",
    "enter",
    "may_move",
    "next_step",
]


@attrs.frozen
class Phase:
    """A non-terminal status and its exits."""

    #: The :class:`Timings` field that says how long the phase lasts (None: until its work ends).
    timer: str | None
    #: Where the job goes when the phase's time or work is done.
    then: str
    #: Every status the job may move to from here.
    exits: frozenset[str]
    #: Where the job goes when its ``timeoutDurationInHours`` runs out in this phase.
    on_timeout: str | None = None


LIFECYCLE: Mapping[str, Phase] = {
    "Submitted": Phase("submitted", "Validating", frozenset({"Validating", "Stopping"})),
    "Validating": Phase("validating", "Scheduled", frozenset({"Scheduled", "Failed", "Stopping"})),
    "Scheduled": Phase(
        "scheduled",
        "InProgress",
        frozenset({"InProgress", "Expired", "Stopping"}),
        on_timeout="Expired",
    ),
    "InProgress": Phase(
        None,
        "Completed",
        frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopping"}),
        on_timeout="PartiallyCompleted",
    ),
    "Stopping": Phase("stopping", "Stopped", frozenset({"Stopped"})),
}
TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
ACTIVE = frozenset(LIFECYCLE)
STATUSES = ACTIVE | TERMINAL

EXPIRED_MESSAGE = "The job timed out before it started."
PARTIAL_MESSAGE = "Not all records could be processed before the job timed out."


@attrs.define(eq=False)
class Job:
    """One model invocation job: the request, its lifecycle state and its counters.

    Times named ``*_at`` are emulated seconds (the lifecycle's clock); ``*_stamp`` are the
    wall-clock timestamps clients see.
    """

    job_id: str
    arn: str
    name: str
    region: str
    account: str
    model_id: str
    model: ModelInfo
    model_arn: str
    role_arn: str
    token: str
    request: dict[str, Any]
    invocation_type: str
    timeout_hours: int
    fault: JobFault | None
    input_bucket: str
    submit_at: float
    submit_stamp: float
    status: str = "Submitted"
    phase_start: float = 0.0
    modified_stamp: float = 0.0
    end_stamp: float | None = None
    message: str | None = None
    total: int = 0
    processed: int = 0
    success: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: Cache-read / cache-write input tokens (counted with the batch-cache knob on only).
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    tags: dict[str, str] = attrs.field(factory=dict)
    history: list[tuple[str, float]] = attrs.field(factory=list)
    work: JobWork | None = None

    @property
    def expiration_at(self) -> float:
        """When the job times out, in emulated seconds."""
        return self.submit_at + self.timeout_hours * 3600.0

    @property
    def record_limit(self) -> int:
        """How many records the job will ever process (a timeout or stall fault stops early)."""
        if self.fault is not None and self.fault.kind in ("timeout", "stall"):
            return min(self.total, int(self.total * self.fault.at_fraction))
        return self.total


@attrs.frozen
class Move:
    """A status change that needs no I/O."""

    to: str
    at: float
    message: str | None = None


@attrs.frozen
class Validate:
    """End of Validating: read and check the inputs, then Scheduled or Failed."""

    at: float


@attrs.frozen
class Process:
    """Answer records until ``target`` of them are processed."""

    target: int


@attrs.frozen
class Finish:
    """Write the outputs and the manifest, then move to the terminal status ``to``."""

    to: str
    at: float
    message: str | None = None


Step = Move | Validate | Process | Finish


def _timer_due(job: Job, timings: Timings) -> float:
    phase = LIFECYCLE[job.status]
    if phase.timer is None:
        return math.inf
    return job.phase_start + float(getattr(timings, phase.timer))


def next_step(job: Job, now: float, timings: Timings) -> Step | None:
    """What is due for ``job`` at emulated time ``now`` (None: nothing yet)."""
    status = job.status
    if status in TERMINAL:
        return None
    phase = LIFECYCLE[status]
    if status == "InProgress":
        return _in_progress(job, now, timings.records_per_second)
    due = _timer_due(job, timings)
    if status == "Scheduled" and job.fault is not None and job.fault.kind == "expire":
        due = math.inf
    if phase.on_timeout is not None and job.expiration_at <= due:
        if now >= job.expiration_at:
            return Move(phase.on_timeout, job.expiration_at, EXPIRED_MESSAGE)
        return None
    if now < due:
        return None
    if status == "Validating":
        if job.fault is not None and job.fault.kind == "fail_validation":
            return Move("Failed", due, job.fault.message)
        return Validate(due)
    if status == "Stopping":
        return Finish(phase.then, due)
    return Move(phase.then, due)


def _in_progress(job: Job, now: float, rate: float) -> Step | None:
    limit = job.record_limit
    done_at = job.phase_start + job.total / rate if limit == job.total else math.inf
    horizon = min(now, job.expiration_at, done_at)
    by_time = int((horizon - job.phase_start) * rate + 1e-9)
    due = job.total if done_at <= horizon else min(limit, by_time)
    if job.processed < due and job.work is not None:
        return Process(due)
    if job.fault is not None and job.fault.kind == "stall":
        return None
    if done_at <= now and done_at <= job.expiration_at:
        if job.fault is not None and job.fault.kind == "fail_late":
            return Move("Failed", done_at, job.fault.message)
        return Finish("Completed", done_at)
    if job.expiration_at <= now:
        return Finish("PartiallyCompleted", job.expiration_at, PARTIAL_MESSAGE)
    return None


def may_move(source: str, target: str) -> bool:
    """Whether the table allows ``source`` → ``target``."""
    phase = LIFECYCLE.get(source)
    return phase is not None and target in phase.exits


def enter(job: Job, status: str, at: float, stamp: float, message: str | None = None) -> None:
    """Move ``job`` to ``status`` (emulated time ``at``, client timestamp ``stamp``).

    Raises AssertionError for a move the table does not allow: the table is the contract.
    """
    if not may_move(job.status, status):
        raise AssertionError(f"illegal transition {job.status} -> {status} for job {job.job_id}")
    job.status = status
    job.history.append((status, at))
    job.phase_start = at
    job.modified_stamp = max(stamp, job.modified_stamp)
    if message is not None:
        job.message = message
    if status in TERMINAL:
        job.end_stamp = job.modified_stamp

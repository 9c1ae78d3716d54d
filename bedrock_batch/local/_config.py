"""Knobs of Local Bedrock: timings, quotas and faults. Plain values, no behaviour of their own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

from .._batch._quotas import Quotas

__all__ = [
    "AFTER_FAULT_KINDS",
    "JOB_FAULT_KINDS",
    "AfterFault",
    "AfterFaultKind",
    "FaultEvent",
    "Faults",
    "JobFault",
    "JobFaultKind",
    "OperationFaults",
    "PromptCaching",
    "Quotas",
    "Timings",
]


@attrs.frozen
class Timings:
    """How long each phase lasts, in *emulated* seconds, and how fast records are processed."""

    submitted: float = 30.0
    validating: float = 60.0
    scheduled: float = 120.0
    stopping: float = 30.0
    #: Emulated records per second while InProgress.
    records_per_second: float = 5.0


@attrs.frozen
class PromptCaching:
    """How Local Bedrock emulates prompt caching (``bedrock-facts.md`` §12.4).

    - ``runtime``: bedrock-runtime calls account for cache markers (Claude ``cache_control``,
      Converse / Nova ``cachePoint``) on models whose catalogue ``prompt_caching`` is True.
    - ``batch``: batch records do too, and the manifest gains ``cacheReadInputTokenCount`` /
      ``cacheWriteInputTokenCount``. Off by default: whether batch jobs honour cache markers is
      UNVERIFIED (the real Converse batch lines had null cache fields).
    - ``min_tokens``: the shortest prefix cached (REPORTED: 1,024 tokens for Claude Sonnet,
      4,096 for Claude Haiku; one value here).

    The first request carrying a prefix writes it, later ones read it; entries never expire.
    """

    runtime: bool = True
    batch: bool = False
    min_tokens: int = 1024


JobFaultKind = Literal["fail_validation", "fail_late", "expire", "timeout", "stall"]
JOB_FAULT_KINDS: tuple[JobFaultKind, ...] = (
    "fail_validation",
    "fail_late",
    "expire",
    "timeout",
    "stall",
)


@attrs.frozen
class JobFault:
    """A job-level fault, applied to the next ``times`` jobs whose name contains ``name_contains``.

    - ``fail_validation``: the job fails in Validating with ``message``.
    - ``fail_late``: the job fails at the end of InProgress with ``message`` (writes no output).
    - ``expire``: the job never leaves Scheduled and ends Expired at its timeout.
    - ``timeout``: processing stalls at ``at_fraction`` of the records; the timeout then ends
      the job PartiallyCompleted, with outputs for the processed records.
    - ``stall``: like ``timeout`` but the job simply stays InProgress (to test stop and polling).
    """

    kind: JobFaultKind
    message: str = "Customer doesn't have permissions to invokeModel"
    at_fraction: float = 0.5
    name_contains: str = ""
    times: int = 1

    def __attrs_post_init__(self) -> None:
        if self.kind not in JOB_FAULT_KINDS:
            raise ValueError(
                f"unknown job fault {self.kind!r}; one of {', '.join(JOB_FAULT_KINDS)}"
            )
        if not 0.0 <= self.at_fraction <= 1.0:
            raise ValueError("at_fraction must be within [0, 1]")


AfterFaultKind = Literal["lost_answer", "server_error"]
AFTER_FAULT_KINDS: tuple[AfterFaultKind, ...] = ("lost_answer", "server_error")


@attrs.frozen
class AfterFault:
    """A fault *after* the operation took effect, for the next ``times`` calls of ``operation``.

    The call is performed (a job is created, stopped, a record answered), then:

    - ``lost_answer``: no answer at all. In process the client sees a read timeout
      (botocore's ``ReadTimeoutError``); a served emulator drops the connection.
    - ``server_error``: the answer is a 500 InternalServerException.

    botocore retries both, so losing every attempt of one call takes ``times`` equal to the
    client's ``max_attempts``.
    """

    operation: str
    kind: AfterFaultKind = "lost_answer"
    times: int = 1

    def __attrs_post_init__(self) -> None:
        if self.kind not in AFTER_FAULT_KINDS:
            raise ValueError(
                f"unknown fault after an operation {self.kind!r}; one of "
                f"{', '.join(AFTER_FAULT_KINDS)}"
            )
        if self.times < 1:
            raise ValueError("times must be at least 1")


@attrs.frozen
class OperationFaults:
    """Injection rates for one API operation (overrides the global rates of :class:`Faults`).

    ``throttle_rate`` and ``server_error_rate`` fail a call *before* it takes effect;
    ``lost_answer_rate`` and ``server_error_after_rate`` perform it and then lose its answer or
    answer 500 (see :class:`AfterFault`).
    """

    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    lost_answer_rate: float = 0.0
    server_error_after_rate: float = 0.0


@attrs.frozen
class FaultEvent:
    """One injected fault, recorded so tests can assert on it."""

    kind: str
    operation: str = ""
    job_id: str = ""
    record_id: str = ""


def _frozen_ids(ids: Iterable[str]) -> frozenset[str]:
    return frozenset(ids)


def _job_list(jobs: Iterable[JobFault]) -> list[JobFault]:
    return list(jobs)


def _after_list(faults: Iterable[AfterFault]) -> list[AfterFault]:
    return list(faults)


def _per_operation(rates: Mapping[str, OperationFaults]) -> dict[str, OperationFaults]:
    return dict(rates)


@attrs.define
class Faults:
    """Seeded fault injection. Rates are probabilities in [0, 1].

    - ``throttle_rate`` / ``server_error_rate``: each Bedrock, bedrock-runtime or Service Quotas
      call (``operations`` limits which) answers 429 ThrottlingException / 500
      InternalServerException instead.
    - ``per_operation``: :class:`OperationFaults` by operation name (e.g.
      ``"CreateModelInvocationJob"``), used instead of the global rates for that operation.
    - ``record_error_rate`` / ``retryable_record_error_rate``: each record fails with a
      non-retryable 400 / a retryable 429; ``record_error_ids`` always fail (400).
      The draw depends on the seed, the job and the record, so a retry in a new job can succeed.
    - ``invalid_output_rate`` / ``invalid_output_ids``: a structured answer (Claude
      ``output_config``, ``response_format``, Converse ``outputConfig.textFormat``, a forced or
      strict tool's input) that does not validate against its schema — a required member left
      out, a member of the wrong type — with the synthetic responder, in batch jobs (the record
      succeeds; the client reads it as ``invalid_output``). Drawn apart from the record errors.
    - ``jobs``: job-level faults (:class:`JobFault`), consumed in order by matching jobs.
    - ``after``: faults after an operation took effect (:class:`AfterFault`: the answer of a
      call that did its work is lost, or is a 500), consumed in order by matching calls; the
      rates of the same kinds are ``per_operation`` (:class:`OperationFaults`).

    Every injected fault is appended to ``log``.
    """

    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    operations: frozenset[str] | None = None
    record_error_rate: float = 0.0
    retryable_record_error_rate: float = 0.0
    record_error_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen_ids)
    invalid_output_rate: float = 0.0
    invalid_output_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen_ids)
    jobs: list[JobFault] = attrs.field(factory=list, converter=_job_list)
    log: list[FaultEvent] = attrs.field(factory=list)
    per_operation: dict[str, OperationFaults] = attrs.field(factory=dict, converter=_per_operation)
    after: list[AfterFault] = attrs.field(factory=list, converter=_after_list)

    def rates_for(self, operation: str) -> OperationFaults:
        """The throttle and 5xx rates in force for one operation."""
        specific = self.per_operation.get(operation)
        if specific is not None:
            return specific
        if self.operations is not None and operation not in self.operations:
            return OperationFaults()
        return OperationFaults(self.throttle_rate, self.server_error_rate)

    def take_after_fault(self, operation: str) -> AfterFault | None:
        """Consume the first fault-after-the-operation that applies to a call of ``operation``."""
        for i, fault in enumerate(self.after):
            if fault.operation == operation:
                if fault.times <= 1:
                    del self.after[i]
                else:
                    self.after[i] = attrs.evolve(fault, times=fault.times - 1)
                return fault
        return None

    def take_job_fault(self, job_name: str) -> JobFault | None:
        """Consume the first job fault that applies to a job of this name."""
        for i, fault in enumerate(self.jobs):
            if fault.name_contains in job_name:
                if fault.times <= 1:
                    del self.jobs[i]
                else:
                    self.jobs[i] = attrs.evolve(fault, times=fault.times - 1)
                return fault
        return None

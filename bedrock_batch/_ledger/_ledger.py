"""The batch's ledger: its typed state, persisted to S3 *before* each action it announces.

The ledger lives at ``{input}{content id}/bedrock-batch.json`` beside the batch's inputs. It is
the only state of a batch: any process, on any machine, can read it and carry the batch on.

Shape (format ``bedrock-batch/5``)::

    Ledger            one batch: spec, quotas, the mode that applies, phase active|stopped
    ├── FanOut        (``dedupe=`` / ``reuse=``) the records answered without being sent
    └── Attempt       the first submission (0) or a retry (n): which records, and
        ├── JobEntry      one Bedrock job: planned → uploaded → creating → created
        └── OnDemandEntry the records answered through bedrock-runtime: planned → uploaded →
                          running → done

Every change is a transition (:data:`JOB_TRANSITIONS`, :data:`RUN_TRANSITIONS`): a pure
function from one ledger to the next. One method stores them, ``LedgerStore.transition``
(:mod:`._ledgerstore`, the module that reads and writes ledgers), before the caller acts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

import attrs

from .._batch._quotas import Quotas
from .._batch._sharding import Shard
from .._batch._spec import JobSpec, VpcConfig
from .._common._bedrock import JobDescription
from .._common._s3uri import S3Uri
from .._errors import StateError

__all__ = [
    "JOB_TRANSITIONS",
    "ON_DEMAND_CLAIM_TTL",
    "ON_DEMAND_SLICE",
    "RUN_TRANSITIONS",
    "Attempt",
    "FanOut",
    "JobEntry",
    "Ledger",
    "OnDemandEntry",
    "ledger_uri_for",
    "move_job",
    "move_run",
]

log = logging.getLogger("bedrock_batch")

LEDGER_NAME = "bedrock-batch.json"
REJECTS_NAME = "rejected.jsonl"
INDEX_NAME = "index.jsonl"
FANOUT_NAME = "fanout.jsonl"
REUSED_FOLDER = "reused/"

JobPhase = Literal["planned", "uploaded", "creating", "created", "cancelled"]
RunPhase = Literal["planned", "uploaded", "running", "done", "cancelled"]
BatchPhase = Literal["active", "stopped"]

#: Which phase a Bedrock job's entry may move to from each phase. ``creating`` is written
#: before CreateModelInvocationJob is called; ``created`` records the ARN it returned.
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"uploaded", "cancelled"}),
    "uploaded": frozenset({"creating", "cancelled"}),
    "creating": frozenset({"created", "uploaded", "cancelled"}),
    "created": frozenset(),
    "cancelled": frozenset(),
}
#: The same for an on-demand run (its records answered through bedrock-runtime).
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"uploaded", "cancelled"}),
    "uploaded": frozenset({"running", "cancelled"}),
    "running": frozenset({"done", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}


@attrs.frozen
class JobEntry:
    """One Bedrock job of an attempt."""

    part: str
    name: str
    token: str
    input_uri: str
    records: int
    size: int
    files: tuple[Shard, ...]
    phase: JobPhase = "planned"
    job_arn: str | None = None
    #: Every record this job left unanswered was given to a later attempt.
    superseded: bool = False
    #: When CreateModelInvocationJob was last sent for it (ISO 8601, UTC, this machine's clock):
    #: the start of its client request token's idempotency window. Stored only while
    #: ``creating`` (an entry in any other phase has none, so finished ledgers are unchanged).
    creating_at: str | None = None

    @property
    def start(self) -> int:
        """First record (in its attempt's order)."""
        return self.files[0].start if self.files else 0

    @property
    def end(self) -> int:
        """One past the last record."""
        return self.files[-1].end if self.files else 0


#: Records per on-demand slice (the unit one process claims and answers).
ON_DEMAND_SLICE = 50
#: Seconds, by S3's clock, after which an on-demand slice's unrefreshed claim may be taken over.
ON_DEMAND_CLAIM_TTL = 300.0


@attrs.frozen
class OnDemandEntry:
    """The records of an attempt answered through bedrock-runtime, slice by slice."""

    part: str
    input_uri: str
    records: int
    size: int
    files: tuple[Shard, ...]
    slice_size: int = ON_DEMAND_SLICE
    phase: RunPhase = "planned"
    #: Version 0.1 wrote all answers to one file; its name, for batches it submitted.
    legacy_output: str | None = None
    #: Seconds, by S3's clock, after which a slice's unrefreshed claim may be taken over (every
    #: process of the batch judges claims alike). Claims are fenced objects (format 4); a
    #: version reading format 3 would judge them by its own clock, so it must not run them.
    claim_ttl: float = ON_DEMAND_CLAIM_TTL

    def answers_prefix(self) -> S3Uri:
        """Where the run's answer chunks are (``.jsonl.out`` files, batch output format)."""
        folder = S3Uri.parse(self.input_uri)
        return S3Uri(folder.bucket, folder.prefix + "answers/")

    @property
    def slices(self) -> int:
        """How many claimable slices the records make."""
        return -(-self.records // self.slice_size) if self.records else 0


@attrs.frozen
class Attempt:
    """The first submission (``number`` 0) or a retry: which records, run how."""

    number: int
    records: int
    #: The retried record ids, in this attempt's order (a key under the batch folder);
    #: None for the first submission, whose order is the index's.
    targets: str | None = None
    jobs: tuple[JobEntry, ...] = ()
    on_demand: OnDemandEntry | None = None


@attrs.frozen
class FanOut:
    """Records of a batch answered without being sent (``dedupe=True``, ``reuse=``).

    They follow the sent records in the batch's index: ``fanout.jsonl`` beside the ledger
    lists them (index lines, ordinals from ``Ledger.records`` on), each naming the sent record
    whose answer it shares (``"of"``) or marked reused; the reused answers themselves are
    copies in the batch's own ``reused/`` folder, so reading the batch never needs the cache.
    """

    #: Records answered without being sent (deduplicated + reused).
    records: int = 0
    #: Records answered by another record's call of this batch.
    deduplicated: int = 0
    #: Records answered by an earlier batch's job (copied into ``reused/``).
    reused: int = 0
    #: The answer cache (``reuse=``) this batch publishes its answers to, or None.
    cache: str | None = None


@attrs.frozen
class Ledger:
    """Everything a batch is and has done (see the module docstring)."""

    batch_id: str
    identity: str
    spec: JobSpec
    mode: str
    quotas: Quotas
    quota_source: str
    records: int
    size: int
    attempts: tuple[Attempt, ...]
    phase: BatchPhase = "active"
    revision: int = 0
    created_at: str = ""
    #: Records refused when they were added (``on_invalid="skip"``), listed in
    #: ``rejected.jsonl`` beside the ledger.
    rejected: int = 0
    #: The format this ledger was read from, when it was converted (``bedrock-batch/2``).
    migrated_from: str | None = None
    #: Records answered without being sent (format 5), or None.
    fanout: FanOut | None = None

    @property
    def total(self) -> int:
        """Every record of the batch: those sent and those answered without being sent."""
        return self.records + (self.fanout.records if self.fanout else 0)

    # -- queries -----------------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """True once someone stopped the batch (nothing more is created until a retry)."""
        return self.phase == "stopped"

    def jobs(self) -> Iterator[tuple[Attempt, JobEntry]]:
        """Every Bedrock job entry, oldest attempt first."""
        for attempt in self.attempts:
            for job in attempt.jobs:
                yield attempt, job

    def runs(self) -> Iterator[tuple[Attempt, OnDemandEntry]]:
        """Every on-demand entry, oldest attempt first."""
        for attempt in self.attempts:
            if attempt.on_demand is not None:
                yield attempt, attempt.on_demand

    @property
    def job_arns(self) -> list[str]:
        """ARNs of every job created so far."""
        return [j.job_arn for _, j in self.jobs() if j.job_arn]

    def find_job(self, part: str) -> JobEntry:
        """The job entry of a part name."""
        for _, job in self.jobs():
            if job.part == part:
                return job
        raise KeyError(part)

    @property
    def unresolved(self) -> list[JobEntry]:
        """Entries of a stopped batch still ``creating``: a create whose answer never came,
        looked for until their job is found or their token's window has passed."""
        if not self.stopped:
            return []
        return [j for _, j in self.jobs() if j.phase == "creating"]

    def find_run(self, part: str) -> OnDemandEntry:
        """The on-demand entry of a part name."""
        for _, run in self.runs():
            if run.part == part:
                return run
        raise KeyError(part)

    # -- transitions (pure: each returns a new ledger) ------------------------------------

    def with_job(self, part: str, **changes: Any) -> Ledger:
        """The ledger with one job entry changed (phase changes follow JOB_TRANSITIONS)."""
        return self._replace_entry(part, changes, on_demand=False)

    def with_run(self, part: str, **changes: Any) -> Ledger:
        """The ledger with one on-demand entry changed (phases follow RUN_TRANSITIONS)."""
        return self._replace_entry(part, changes, on_demand=True)

    def _replace_entry(self, part: str, changes: dict[str, Any], *, on_demand: bool) -> Ledger:
        def job(entry: JobEntry) -> JobEntry:
            if on_demand or entry.part != part:
                return entry
            _check_phase(JOB_TRANSITIONS, entry.phase, changes, part)
            if changes.get("phase", "creating") != "creating":
                return attrs.evolve(
                    entry, **{"creating_at": None, **changes}
                )  # only while creating
            return attrs.evolve(entry, **changes)

        def run(entry: OnDemandEntry | None) -> OnDemandEntry | None:
            if not on_demand or entry is None or entry.part != part:
                return entry
            _check_phase(RUN_TRANSITIONS, entry.phase, changes, part)
            return attrs.evolve(entry, **changes)

        attempts = tuple(
            attrs.evolve(a, jobs=tuple(job(j) for j in a.jobs), on_demand=run(a.on_demand))
            for a in self.attempts
        )
        if attempts == self.attempts and not self._has(part, on_demand=on_demand):
            raise KeyError(part)
        return attrs.evolve(self, attempts=attempts)

    def _has(self, part: str, *, on_demand: bool) -> bool:
        if on_demand:
            return any(r.part == part for _, r in self.runs())
        return any(j.part == part for _, j in self.jobs())

    def with_attempt(self, attempt: Attempt, superseded: frozenset[str] = frozenset()) -> Ledger:
        """A new attempt (a retry); it re-opens a stopped batch. ``superseded`` names the job
        parts whose unanswered records it takes over."""
        older = tuple(
            attrs.evolve(
                a,
                jobs=tuple(
                    attrs.evolve(j, superseded=True) if j.part in superseded else j for j in a.jobs
                ),
            )
            for a in self.attempts
        )
        return attrs.evolve(self, attempts=(*older, attempt), phase="active")

    def stop(self, at: str | None = None) -> Ledger:
        """The batch stopped: every job not created yet and every on-demand run not done is
        cancelled, so no process creates or answers anything more.

        A ``creating`` entry stays ``creating``: its create may have made the job (only its
        answer was lost), so it is looked up by name and stopped once found, and cancelled only
        when its client request token's idempotency window has passed (see
        :meth:`Lifecycle.resolve_stopped`). Create is never sent for it again. One written by
        an older version, which did not store when its create was sent, takes the stop's time
        ``at`` (later than the create: its window is judged conservatively).
        """

        def job(j: JobEntry) -> JobEntry:
            if j.phase in ("planned", "uploaded"):
                return attrs.evolve(j, phase="cancelled")
            if j.phase == "creating" and j.creating_at is None and at is not None:
                return attrs.evolve(j, creating_at=at)
            return j

        attempts = []
        for attempt in self.attempts:
            jobs = tuple(job(j) for j in attempt.jobs)
            run = attempt.on_demand
            if run is not None and run.phase not in ("done", "cancelled"):
                run = attrs.evolve(run, phase="cancelled")
            attempts.append(attrs.evolve(attempt, jobs=jobs, on_demand=run))
        return attrs.evolve(self, attempts=tuple(attempts), phase="stopped")

    @classmethod
    def for_foreign_job(cls, desc: JobDescription) -> Ledger:
        """An in-memory ledger for a job ``bedrock_batch`` did not create (never stored)."""
        spec = JobSpec(
            desc.model_id,
            desc.role_arn,
            desc.input_uri,
            desc.output_uri,
            desc.invocation_type,
            bucket_owner=desc.bucket_owner,
        )
        records = desc.total_records or 0
        job = JobEntry(
            "p000", desc.job_name, desc.client_request_token or "", desc.input_uri, records, 0,
            (), "created", desc.job_arn,
        )  # fmt: skip
        attempt = Attempt(0, records, None, (job,))
        return cls("", "", spec, "batch", Quotas(), "unknown", records, 0, (attempt,))

    def with_job_parameters(self, desc: JobDescription) -> Ledger:
        """Version 0.1 did not record every job parameter: take them from one of its jobs."""
        vpc = (
            VpcConfig(desc.vpc_subnet_ids, desc.vpc_security_group_ids)
            if desc.vpc_subnet_ids
            else None
        )
        spec = attrs.evolve(
            self.spec, timeout_hours=desc.timeout_hours, kms_key_id=desc.kms_key_id, vpc=vpc
        )
        return attrs.evolve(self, spec=spec)


def _check_phase(
    table: dict[str, frozenset[str]], current: str, changes: dict[str, Any], part: str
) -> None:
    new = changes.get("phase")
    if new is not None and new != current and new not in table[current]:
        raise StateError(f"{part}: cannot go from {current} to {new}")


Change = Callable[[Ledger], "Ledger | None"]


def move_job(part: str, source: str, target: str) -> Change:
    """A transition moving one job entry from ``source`` to ``target`` (nothing to do when it
    is not in ``source`` any more: another process moved it)."""

    def change(ledger: Ledger) -> Ledger | None:
        if ledger.find_job(part).phase != source:
            return None
        return ledger.with_job(part, phase=target)

    return change


def move_run(part: str, source: str, target: str) -> Change:
    """The same for an on-demand entry."""

    def change(ledger: Ledger) -> Ledger | None:
        if ledger.find_run(part).phase != source:
            return None
        return ledger.with_run(part, phase=target)

    return change


def ledger_uri_for(input_uri: str) -> S3Uri:
    """Where a job's ledger is, from its input folder ``{input}{content id}/runs/{part}/``."""
    folder = input_uri.rstrip("/")
    if folder.count("/") > 4 and folder.rsplit("/", 2)[-2] == "runs":
        return S3Uri.parse(folder.rsplit("/", 2)[0] + "/" + LEDGER_NAME)
    return S3Uri.parse(folder + "/" + LEDGER_NAME)

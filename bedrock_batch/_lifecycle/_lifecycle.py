"""The *lifecycle* part: creating a batch's Bedrock jobs under the concurrent-job quota,
polling them, answering on-demand runs, stopping, and adding retry attempts — every step
announced in the ledger before it is taken.

Creating a job is three ledger phases: ``uploaded`` → ``creating`` (stored *before*
CreateModelInvocationJob is called, with the job's deterministic client request token) →
``created`` (its ARN). A process that finds a job ``creating`` does not know whether the call
reached Bedrock: it looks the job up by name before calling create again with the same token,
so a job is never created twice even after the service's idempotency window. A wait step reads
the latest ledger once, and ``creating`` is stored by a conditional write (S3 ``IfMatch`` on that
read's version): a stop stored by any process since then makes the write fail, the ledger is read
again and the create is not made. A batch stopped by any process creates nothing more.

A stop never cancels a ``creating`` entry on a miss (its create may have made the job, only the
answer was lost): under a stop Create is never sent again; the job is looked up by its
deterministic name at the stop and at every later wait, status or summary, recorded and stopped
once found, and the entry is cancelled only when its client request token's idempotency window
(``PollConfig.create_token_window``) has passed since the create was last sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
from botocore.exceptions import EndpointConnectionError

from .._common import _bedrock
from .._common._bedrock import JobDescription
from .._errors import ServiceError, translate_client_error
from .._ledger._ledger import Attempt, JobEntry, Ledger, move_job, move_run
from .._ledger._ledgerstore import LedgerStore
from ._ondemand import OnDemandRunner
from ._status import BatchStatus

if TYPE_CHECKING:
    from ..events import JobEvent

__all__ = ["Lifecycle"]

log = logging.getLogger("bedrock_batch")
#: Errors after which CreateModelInvocationJob surely created nothing: try again later.
_NOT_CREATED = frozenset({"ServiceQuotaExceededException", "ThrottlingException"})
#: Steps in a row that may fail to connect to Bedrock while creating (each call already retried
#: by botocore) before the wait gives up naming the endpoint.
UNREACHABLE_STEPS = 3


class Lifecycle:
    """Creates, watches and stops a batch's Bedrock jobs (see the module docstring)."""

    def __init__(
        self,
        bedrock: Any,
        ledger: LedgerStore,
        runner: OnDemandRunner,
        *,
        calls: Counter[str],
        token_window: float = 24 * 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bedrock = bedrock
        self.ledger = ledger
        self.runner = runner
        self.calls = calls
        #: Seconds a client request token names its job (``PollConfig.create_token_window``).
        self.token_window = token_window
        self.clock = clock
        #: The latest description of every created job, by ARN.
        self.last: dict[str, JobDescription] = {}
        self._unreachable = 0  # steps in a row whose create could not connect

    def advance(self, *, poll: bool = True, read: bool = True) -> None:
        """Move the batch forward once: create what the quota allows (after polling the jobs
        already created, unless ``poll`` is False because events told their states), then
        answer the on-demand runs. Nothing is created or answered for a stopped batch.

        ``read=False``: the caller read the latest ledger in this same step (the step's upload
        did); it is not read again. Every create is still announced by a conditional write,
        so a stop stored by another process since that read prevents it all the same.
        """
        ledger = self.ledger.refresh() if read else self.ledger.sync()
        if ledger.unresolved:
            self.resolve_stopped()
            ledger = self.ledger.ledger or ledger
        if poll and ledger.job_arns:
            self.poll()
        if ledger.stopped:
            return
        if self.create_pending():
            self.poll()
        self.run_on_demand()

    def apply(self, events: Iterable[JobEvent]) -> bool:
        """Update the jobs' states from state-change events; returns whether anything changed.

        An event never moves a job back from a terminal state (events may arrive out of order).
        """
        ledger = self.ledger.ledger
        known = set(ledger.job_arns) if ledger else set()
        changed = False
        for event in events:
            desc = self.last.get(event.job_arn)
            if event.job_arn not in known or desc is None or desc.is_terminal:
                continue
            if desc.status != event.status:
                message = event.failure_message or desc.message
                self.last[event.job_arn] = attrs.evolve(desc, status=event.status, message=message)
                changed = True
        return changed

    def run_on_demand(self) -> None:
        """Answer every on-demand run that is uploaded and not done (slices other processes
        hold are left to them)."""
        store = self.ledger
        for _, run in list(store.ledger.runs()) if store.ledger else ():
            if run.phase not in ("uploaded", "running"):
                continue
            if run.phase == "uploaded":
                store.transition(move_run(run.part, "uploaded", "running"))
            progress = self.runner.run(run, active=lambda: not store.refresh().stopped)
            if progress.done:
                store.transition(move_run(run.part, "running", "done"))

    def add_attempt(self, attempt: Attempt, superseded: frozenset[str]) -> bool:
        """Record a retry attempt as exactly the number it was planned as; returns whether this
        call stored it.

        False when another retry was stored first under that number (an identical one
        included: the same records retried twice are added once). The attempt's part names,
        input folders and targets key derive from its number, so it is never renumbered: the
        caller plans it again on the latest ledger (see :func:`plan_and_store`).
        """
        stored = [False]

        def add(ledger: Ledger) -> Ledger | None:
            stored[0] = False
            if len(ledger.attempts) != attempt.number:
                return None  # another retry took this number: plan again
            stored[0] = True
            return ledger.with_attempt(attempt, superseded)

        self.ledger.transition(add)
        return stored[0]

    # -- creating ----------------------------------------------------------------------------

    def create_pending(self) -> int:
        """Create waiting jobs while the concurrent-job quota allows; returns how many.

        Acts on the ledger :meth:`advance` read in this step, not a new read. Nothing is
        created for a stopped batch: each create is announced by a conditional write
        (:meth:`_create`), which a stop stored since that read makes fail and read again.
        """
        ledger = self.ledger.sync()
        if ledger.stopped:
            return 0
        limit = ledger.quotas.max_concurrent_jobs
        active = sum(1 for d in self.last.values() if not d.is_terminal)
        created = 0
        for _, job in list(ledger.jobs()):
            if job.phase not in ("uploaded", "creating"):
                continue
            if job.phase == "creating" and self._recover(job):
                continue
            if active >= limit:
                break
            outcome = self._create(job)
            if outcome is None:
                break
            if outcome:
                active += 1
                created += 1
        return created

    def _recover(self, job: JobEntry) -> bool:
        """A create was announced but its ARN not recorded: find the job if it exists."""
        self.calls["ListModelInvocationJobs"] += 1
        try:
            found = _bedrock.find_by_name(self.bedrock, job.name, job.token)
        except ServiceError as err:
            self._give_up_if_unreachable(err)
            raise
        self._unreachable = 0
        if found is None:
            return False
        self._record(job.part, found.job_arn)
        self.last[found.job_arn] = found
        return True

    def _create(self, job: JobEntry) -> bool | None:
        """Create one job; True when created, False when there was nothing to do, None when
        Bedrock asked us to wait (quota or throttling)."""
        part = job.part
        spec = self.ledger.ledger.spec if self.ledger.ledger else None
        # Everything is ready before ``creating`` is stored, so that Create follows the write at
        # once: the window in which a stop stored by another process cannot prevent the create
        # is one S3 write long (a job created inside it is found and stopped by that stop).
        request = spec.request(job.name, job.input_uri, job.token) if spec else None
        since = _iso(self.clock())

        def announce(ledger: Ledger) -> Ledger | None:
            entry = ledger.find_job(part)
            if ledger.stopped or entry.phase not in ("uploaded", "creating"):
                return None
            return ledger.with_job(part, phase="creating", creating_at=since)

        ledger = self.ledger.transition(announce)
        entry = ledger.find_job(part)
        if ledger.stopped or entry.phase != "creating":
            return False
        if request is None or spec != ledger.spec:
            request = ledger.spec.request(entry.name, entry.input_uri, entry.token)
        self.calls["CreateModelInvocationJob"] += 1
        try:
            arn = _bedrock.create(self.bedrock, request)
        except ServiceError as err:
            if err.code in _NOT_CREATED:
                log.info("%s: %s; %s waits its turn", err.code, err.operation, entry.name)
                self.ledger.transition(move_job(part, "creating", "uploaded"))
                return None
            if err.transient:  # a 5xx or a lost connection: the job may exist; stay "creating"
                self._give_up_if_unreachable(err)
                log.info("creating %s: %s; will look for it and try again", entry.name, err)
                return None
            raise
        self._unreachable = 0
        self._record(part, arn)
        log.info("created %s (%s, %d records)", arn, entry.name, entry.records)
        return True

    def _give_up_if_unreachable(self, err: ServiceError) -> None:
        """Count a step whose call could not even connect to Bedrock; the
        ``UNREACHABLE_STEPS``-th in a row raises a (non-transient) error naming the endpoint,
        so a wait never retries an unreachable endpoint without end."""
        if not isinstance(err.__cause__, EndpointConnectionError):
            return
        self._unreachable += 1
        if self._unreachable >= UNREACHABLE_STEPS:
            endpoint = self.bedrock.meta.endpoint_url
            raise ServiceError(
                f"could not connect to Bedrock at {endpoint} ({self._unreachable} steps in a "
                "row, each call retried by botocore); check the endpoint, the region and the "
                "network, then wait() again: the batch resumes where it stopped",
                code="EndpointConnectionError",
                operation=err.operation,
            ) from err

    def _record(self, part: str, arn: str, desc: JobDescription | None = None) -> bool:
        """Record a job's ARN; a job created for a stopped batch is stopped at once (returns
        whether it was asked to stop)."""

        def created(ledger: Ledger) -> Ledger | None:
            entry = ledger.find_job(part)
            if entry.job_arn == arn:
                return None
            if entry.phase == "cancelled":  # stopped while we created it: keep its ARN
                return ledger.with_job(part, job_arn=arn)
            if ledger.stopped:  # found (or created) after the stop: cancelled, with its ARN
                return ledger.with_job(part, phase="cancelled", job_arn=arn)
            return ledger.with_job(part, phase="created", job_arn=arn)

        ledger = self.ledger.transition(created)
        if ledger.find_job(part).phase == "cancelled" and not (desc and desc.is_terminal):
            log.warning("%s was created while the batch was being stopped; stopping it", arn)
            return self._stop_job(arn)
        return False

    # -- creates whose answer was lost ------------------------------------------------------

    def resolve(self) -> None:
        """Settle every ``creating`` entry whose create answer was lost (a status, attach or
        summary calls this): in a stopped batch by looking the job up (:meth:`resolve_stopped`),
        otherwise by looking it up and sending Create again with the same token."""
        ledger = self.ledger.refresh()
        if ledger.stopped:
            self.resolve_stopped()
            return
        for _, job in list(ledger.jobs()):
            if job.phase == "creating" and not self._recover(job):
                self._create(job)

    def resolve_stopped(self) -> list[str]:
        """Look for the job of every ``creating`` entry of a stopped batch, by its name (one
        List call, filtered by that name, per entry; Create is never sent again). A job found
        is recorded and stopped at once; an entry whose token window has passed since the
        create was last sent is cancelled; the others stay for the next look. Returns the ARNs
        asked to stop."""
        ledger = self.ledger.ledger
        asked = []
        for job in ledger.unresolved if ledger else []:
            self.calls["ListModelInvocationJobs"] += 1
            found = _bedrock.find_by_name(self.bedrock, job.name, job.token)
            if found is not None:
                log.info("found %s, created for a stopped batch", found.job_arn)
                self.last[found.job_arn] = found
                if self._record(job.part, found.job_arn, found):
                    asked.append(found.job_arn)
            elif self._window_passed(job):
                log.info("%s was never created (its token window has passed)", job.name)
                self.ledger.transition(move_job(job.part, "creating", "cancelled"))
            else:
                log.info("%s: no job of this name yet; looking again at the next status", job.name)
        return asked

    def _window_passed(self, job: JobEntry) -> bool:
        if job.creating_at is None:  # written by an older version: the window is unknown
            return False
        try:
            since = dt.datetime.fromisoformat(job.creating_at).timestamp()
        except ValueError:
            return False
        return self.clock() - since > self.token_window

    # -- watching ----------------------------------------------------------------------------

    def poll(self) -> dict[str, JobDescription]:
        """Describe every created job: one List call for many, one Get for a single job."""
        ledger = self.ledger.ledger
        arns = ledger.job_arns if ledger else []
        found: dict[str, JobDescription] = {}
        if len(arns) > 1 and ledger is not None:
            wanted = set(arns)
            prefix = ledger.spec.base_name(ledger.batch_id)[:63]
            for page in self._list_pages(prefix):
                for item in page.get("invocationJobSummaries", []):
                    if item["jobArn"] in wanted:
                        found[item["jobArn"]] = JobDescription.from_response(item)
                if len(found) == len(wanted):
                    break
        for arn in arns:
            if arn not in found:
                self.calls["GetModelInvocationJob"] += 1
                found[arn] = _bedrock.describe(self.bedrock, arn)
        self.last = found
        return found

    def _list_pages(self, prefix: str) -> Any:
        with translate_client_error("ListModelInvocationJobs"):
            pages = self.bedrock.get_paginator("list_model_invocation_jobs").paginate(
                nameContains=prefix, sortOrder="Descending", PaginationConfig={"PageSize": 1000}
            )
            for page in pages:
                self.calls["ListModelInvocationJobs"] += 1
                yield page

    def status(self) -> BatchStatus:
        """The batch's status from the last poll (on-demand progress is read from S3)."""
        ledger = self.ledger.ledger
        if ledger is None:
            return BatchStatus(())
        on_demand: dict[str, tuple[int, int]] = {}
        # Records the latest attempt will never run: a stop cancelled their job before it was
        # created (or its create, under the stop, is not found yet) or their on-demand run.
        not_run = 0
        latest = ledger.attempts[-1].number if ledger.attempts else -1
        for attempt, run in ledger.runs():
            if run.phase == "done":
                on_demand[run.part] = (run.records, 0)
                continue
            answered = self.runner.progress(run).answered
            if run.phase == "cancelled" or ledger.stopped:
                on_demand[run.part] = (answered, 0)
                not_run += run.records - answered if attempt.number == latest else 0
            else:
                on_demand[run.part] = (answered, run.records - answered)
        waiting = ("planned", "uploaded") if ledger.stopped else ("planned", "uploaded", "creating")
        pending = sum(1 for _, j in ledger.jobs() if j.phase in waiting)
        not_run += sum(
            j.records
            for a, j in ledger.jobs()
            if a.number == latest and not j.job_arn and j.phase in ("cancelled", "creating")
        )
        superseded = frozenset(j.job_arn for _, j in ledger.jobs() if j.superseded and j.job_arn)
        jobs = tuple(self.last[a] for a in ledger.job_arns if a in self.last)
        left = sum(left for _, left in on_demand.values()) + (not_run if ledger.stopped else 0)
        return BatchStatus(
            jobs,
            pending=pending,
            on_demand_records=sum(done for done, _ in on_demand.values()),
            on_demand_pending=sum(left for _, left in on_demand.values()),
            superseded=superseded,
            stopped=ledger.stopped,
            not_run=not_run if ledger.stopped else 0,
            batch_counts=self._batch_counts(ledger, waiting, left),
        )

    def _batch_counts(
        self, ledger: Ledger, waiting: tuple[str, ...], left: int
    ) -> tuple[int, int] | None:
        """A retried batch's (records, processed), each record counted by its latest attempt:
        the records not processed yet are those of the jobs that decide it (not superseded),
        of jobs not created yet, and ``left`` (on-demand and never-run ones)."""
        if len(ledger.attempts) < 2:
            return None
        for _, j in ledger.jobs():
            if j.superseded:
                continue
            desc = self.last.get(j.job_arn) if j.job_arn else None
            if desc is not None:
                left += max(0, j.records - (desc.processed_records or 0))
            elif j.phase in waiting:
                left += j.records
        return ledger.records, max(0, ledger.records - left)

    # -- stopping ----------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop the batch: the ledger says so first (no process creates anything more), then
        the jobs of creates whose answer was lost are looked for (:meth:`resolve_stopped`), then
        every running job is asked to stop. Returns the ARNs asked to stop."""
        at = _iso(self.clock())
        self.ledger.transition(lambda ledger: ledger.stop(at))
        asked = self.resolve_stopped()
        for arn, desc in self.poll().items():
            if arn in asked:
                continue
            if not desc.is_terminal and desc.status != "Stopping" and self._stop_job(arn):
                asked.append(arn)
        return asked

    def _stop_job(self, arn: str) -> bool:
        self.calls["StopModelInvocationJob"] += 1
        try:
            _bedrock.stop(self.bedrock, arn)
        except ServiceError as err:
            if err.code == "ConflictException":  # it ended meanwhile
                return False
            raise
        return True


def _iso(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, tz=dt.timezone.utc).isoformat()

"""``BatchStatus``: one status for a batch of many jobs, judged by each record's latest attempt."""

from __future__ import annotations

import attrs

from .._common._bedrock import TERMINAL, JobDescription
from .._common._display import count_text, html_table, progress_text, records_text, rows_text

__all__ = ["BatchStatus", "status_rows", "status_text"]

_ACTIVE_ORDER = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
_TERMINAL_SEVERITY = ("Completed", "PartiallyCompleted", "Stopped", "Expired", "Failed")


@attrs.frozen
class BatchStatus:
    """The state of a whole batch: every Bedrock job it created, and what is still to come.

    Reads like one job, judged by each record's *latest* attempt: jobs whose unanswered records
    were all retried later (``superseded``) no longer decide it. ``status`` is the least
    advanced status while anything runs, else the most severe terminal one; the record
    counters are sums over the jobs that decide it (None while any of them lacks them).

    A batch stopped with records it will never run (``not_run``: jobs cancelled before they
    were created, on-demand records not answered) is ``Stopped`` even when every job it did
    create completed, and its ``total_records`` include the records not run.
    """

    jobs: tuple[JobDescription, ...]
    pending: int = 0
    on_demand_records: int = 0
    on_demand_pending: int = 0
    superseded: frozenset[str] = frozenset()
    stopped: bool = False
    #: Records of a stopped batch that will never run (until a retry runs them).
    not_run: int = 0
    #: Once the batch was retried: (records, processed) of the batch itself, each record
    #: counted once, by its latest attempt (not once per attempt: 3,000, not 3,161).
    batch_counts: tuple[int, int] | None = None

    @property
    def current(self) -> tuple[JobDescription, ...]:
        """The jobs that decide the batch's status (not superseded by a retry)."""
        return tuple(j for j in self.jobs if j.job_arn not in self.superseded)

    @property
    def status(self) -> str:
        """One status for the whole batch."""
        active = [j.status for j in self.current if j.status not in TERMINAL]
        if self.pending:
            active.append("Submitted")
        if self.on_demand_pending:
            active.append("InProgress")
        if active:
            return min(active, key=lambda s: _ACTIVE_ORDER.index(s) if s in _ACTIVE_ORDER else 0)
        ended = [j.status for j in self.current]
        if self.stopped and (self.not_run or not (ended or self.on_demand_records)):
            ended.append("Stopped")
        if not ended:
            return "Completed"
        return max(
            ended, key=lambda s: _TERMINAL_SEVERITY.index(s) if s in _TERMINAL_SEVERITY else 0
        )

    @property
    def is_terminal(self) -> bool:
        """True once every job has ended and nothing waits to be created or answered."""
        return (
            self.pending == 0
            and self.on_demand_pending == 0
            and all(j.is_terminal for j in self.current)
        )

    @property
    def job_arn(self) -> str | None:
        """The first job's ARN (None for a batch answered on demand)."""
        return self.jobs[0].job_arn if self.jobs else None

    @property
    def job_arns(self) -> list[str]:
        """Every job's ARN."""
        return [j.job_arn for j in self.jobs]

    @property
    def job_id(self) -> str:
        """The first job's id (``on-demand`` when there is none)."""
        return self.jobs[0].job_id if self.jobs else "on-demand"

    @property
    def failures(self) -> tuple[JobDescription, ...]:
        """Jobs that decide the batch and ended Failed, Expired or Stopped."""
        return tuple(j for j in self.current if j.status in ("Failed", "Expired", "Stopped"))

    @property
    def stopped_early(self) -> bool:
        """True when the batch was stopped with records it will never run (status Stopped even
        if every job it created completed)."""
        return self.stopped and self.not_run > 0

    @property
    def message(self) -> str | None:
        """The message of the first deciding job that did not complete, if any (or how many
        records a stop left unrun)."""
        for j in self.failures:
            if j.message:
                return j.message
        if self.stopped_early:
            return f"stopped with {self.not_run} records never run"
        return None

    def _sum(self, name: str) -> int | None:
        total = 0
        for job in self.current:
            value = getattr(job, name)
            if value is None:
                return None
            total += value
        return total

    @property
    def total_records(self) -> int | None:
        """Records across the deciding jobs and on-demand runs, and those a stop left unrun
        (None while a job lacks it)."""
        jobs = self._sum("total_records")
        if jobs is None:
            return None
        if self.batch_counts is not None:
            return self.batch_counts[0]
        return jobs + self.on_demand_records + self.on_demand_pending + self.not_run

    @property
    def processed_records(self) -> int | None:
        """Processed records (on-demand answers included)."""
        jobs = self._sum("processed_records")
        if jobs is not None and self.batch_counts is not None:
            return self.batch_counts[1]
        return None if jobs is None else jobs + self.on_demand_records

    @property
    def succeeded_records(self) -> int | None:
        """Records the jobs report succeeded (on-demand answers count here, errors or not;
        :meth:`BatchJob.summary` has the exact counts)."""
        jobs = self._sum("succeeded_records")
        return None if jobs is None else jobs + self.on_demand_records

    @property
    def errored_records(self) -> int | None:
        """Records the jobs report errored."""
        return self._sum("errored_records")

    def __repr__(self) -> str:
        """``BatchStatus(Completed, 500/500 records, 0 errors, 1 job)``."""
        jobs = len(self.jobs)
        counted = progress_text(self.processed_records, self.total_records, ended=self.is_terminal)
        return (
            f"BatchStatus({self.status}, {counted or 'records not counted yet'}, "
            f"{count_text(self.errored_records)} errors, {jobs} job{'s' if jobs != 1 else ''}"
            + (f", {self.pending} waiting" if self.pending else "")
            + ")"
        )

    def _repr_html_(self) -> str:
        return html_table(status_rows(self), caption="BatchStatus")


def status_rows(status: BatchStatus, handle: str | None = None) -> list[tuple[str, str]]:
    """A status as (label, value) rows."""
    rows = [("status", status.status)]
    if handle:
        rows.append(("handle", handle))
    ended = status.is_terminal
    rows.append(("records", records_text(status.processed_records, status.total_records, ended=ended)))  # fmt: skip
    rows.append(("errors", count_text(status.errored_records)))
    for j in status.jobs:
        note = " (superseded by a retry)" if j.job_arn in status.superseded else ""
        counts = f"{count_text(j.processed_records)}/{count_text(j.total_records)}"
        rows.append(("job", f"{j.job_arn}  {j.status}  {counts}{note}"))
    if status.pending:
        rows.append(("waiting", f"{status.pending} job(s) for a free slot"))
    if status.on_demand_records or status.on_demand_pending:
        rows.append(
            ("on demand", f"{status.on_demand_records} answered, {status.on_demand_pending} to go")
        )
    if status.message:
        rows.append(("message", status.message))
    return rows


def status_text(status: BatchStatus, handle: str | None = None) -> str:
    """A status as aligned text (the CLI's ``status`` and ``wait``)."""
    return rows_text(status_rows(status, handle))

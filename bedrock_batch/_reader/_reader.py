"""The *reader* part: a batch's outputs, the join, accounting and reconciliation.

It turns the ledger into output sources (every created job's ``{output}/{jobId}/`` folder and
every on-demand run's answers, attempt by attempt), joins them to the inputs by ``recordId``
(:class:`~bedrock_batch._reader._results.Results`), reconciles the counts with the manifests and the
jobs' counters (:mod:`._summary`), and decides which records a retry takes over.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .._common._bedrock import JobDescription
from .._common._codec import decode
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import ValidationError
from .._families._registry import family_for
from .._ledger._ledger import REJECTS_NAME, REUSED_FOLDER, Attempt, JobEntry, Ledger
from .._pricing import Price
from .._uploader._inputs import InputSource
from ._results import ErrorInfo, OutputSource
from ._resultset import Results
from ._summary import Summary, reconcile

__all__ = ["Reader", "RetrySelection", "not_retryable"]

#: Job statuses that would fail the batch unless a later attempt took their records over.
_FAILING = frozenset({"Failed", "Expired", "Stopped", "PartiallyCompleted"})


#: 4xx errors worth sending again when Bedrock says nothing (timeout, throttling).
_RETRYABLE_4XX = frozenset({408, 429})


def not_retryable(error: ErrorInfo | None) -> bool:
    """True for an error that would fail the same way again: ``retryable`` false, or (where
    the flag is absent) a 4xx other than 408 and 429."""
    if error is None:
        return False
    if error.retryable is not None:
        return not error.retryable
    return 400 <= error.code < 500 and error.code not in _RETRYABLE_4XX


@attrs.frozen
class RetrySelection:
    """What a retry takes over: its records (first-attempt order) and the jobs it supersedes."""

    targets: tuple[str, ...]
    superseded: frozenset[str]
    #: Each failed job not superseded because some records it left unanswered are not
    #: retried: those records. Superseded after all when a concurrent retry sends them.
    blocked: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    #: Errored records of the statuses asked for that are not retryable (:func:`not_retryable`),
    #: and whether they are among the targets.
    non_retryable: int = 0
    non_retryable_sent: bool = False
    #: The requests that sends them (fewer with ``dedupe=True``: a body once for its twins).
    non_retryable_requests: int = 0

    def superseded_with(self, taken: set[str]) -> frozenset[str]:
        """The jobs superseded once the records ``taken`` by concurrent retries count too."""
        return self.superseded | {part for part, rids in self.blocked.items() if rids <= taken}


class Reader:
    """Reads a batch's outputs (see the module docstring)."""

    def __init__(self, s3: S3Access, inputs: InputSource) -> None:
        self.s3 = s3
        self.inputs = inputs

    def sources(
        self, ledger: Ledger, described: Mapping[str, JobDescription]
    ) -> list[OutputSource]:
        """Every place an output line of this batch can be, tagged with its attempt."""
        sources = []
        for attempt in ledger.attempts:
            for job in attempt.jobs:
                if not job.job_arn:
                    continue
                desc = described.get(job.job_arn)
                sources.append(
                    OutputSource(
                        ledger.spec.output_uri,
                        job.job_arn,
                        attempt.number,
                        tuple(f"{f.name}.out" for f in job.files),
                        desc.status if desc else None,
                        job.records,
                    )
                )
            run = attempt.on_demand
            if run is None:
                continue
            if run.legacy_output is not None:
                if run.phase == "done":
                    location = str(S3Uri.parse(run.input_uri).join(run.legacy_output))
                    sources.append(
                        OutputSource(
                            location, None, attempt.number, records=run.records, single_file=True
                        )
                    )
                continue
            prefix = run.answers_prefix()
            sources.append(OutputSource(str(prefix), None, attempt.number, records=run.records))
        if ledger.fanout is not None and ledger.fanout.reused:  # copies in the batch's folder
            folder = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, REUSED_FOLDER)
            sources.append(OutputSource(str(folder), None, 0, records=ledger.fanout.reused, reused=True))  # fmt: skip
        return sources

    def results(
        self,
        ledger: Ledger,
        described: Mapping[str, JobDescription],
        *,
        persisted: bool,
        models: Mapping[str, Any] | None = None,
    ) -> Results:
        """Every input record exactly once, joined by recordId (streams from S3)."""
        rejects = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, REJECTS_NAME)
        results = Results(
            s3=self.s3,
            sources=self.sources(ledger, described),
            index=self.inputs.index(ledger, persisted=persisted),
            read_inputs=lambda wanted: self.inputs.bodies(ledger, wanted),
            read_rejects=(lambda: (decode(raw) for _, raw in self.s3.lines(rejects)))
            if ledger.rejected
            else None,
            models=models,
            family=family_for(ledger.spec.model_id, ledger.spec.invocation_type),
            fan_out=self.inputs.fan_out(ledger),
        )
        results.ledger, results.index_in_s3 = ledger, persisted  # for Results.partitions()
        if ledger.fanout is not None and ledger.fanout.records:  # exports in the order added
            results.input_positions = self.inputs.positions(ledger)
        return results

    def summary(
        self,
        ledger: Ledger,
        results: Results,
        *,
        status: str,
        described: Mapping[str, JobDescription],
        price: Price | None,
    ) -> Summary:
        """Read every result once, tokens included, and reconcile the counts (see
        :class:`Summary`)."""
        results.count_tokens = True  # one fresh pass: counts, anomalies and tokens
        try:
            for _ in results:
                pass
        finally:
            results.count_tokens = False
        counters = {
            arn: {
                "totalRecordCount": d.total_records,
                "processedRecordCount": d.processed_records,
                "successRecordCount": d.succeeded_records,
                "errorRecordCount": d.errored_records,
            }
            for arn, d in described.items()
        }
        deduplicated = ledger.fanout.deduplicated if ledger.fanout else 0
        return reconcile(results, status, counters, ledger.total, price=price, deduplicated=deduplicated)  # fmt: skip

    # -- retries -----------------------------------------------------------------------------

    def select_retry(
        self,
        ledger: Ledger,
        results: Results,
        described: Mapping[str, JobDescription],
        *,
        statuses: Sequence[str],
        retryable_only: bool,
        record_ids: Iterable[str] | None,
        include_non_retryable: bool = False,
    ) -> RetrySelection:
        """Which records a retry runs, and which failed jobs it therefore supersedes.

        A record's *latest attempt* is the newest attempt that ran it. A job that ended
        Failed, Expired, Stopped or PartiallyCompleted is superseded when every record it
        left without an output line (and for which it is the latest attempt) is retried.

        ``rejected`` records cannot be retried: they were refused when added and never
        uploaded, so there is nothing to send (and their ids may be the caller's duplicates of
        records that ran). Asking for them raises :class:`ValidationError` before anything is
        recorded or sent.
        """
        if "rejected" in statuses:
            raise ValidationError(
                "retry() cannot send rejected records: they were refused when they were added "
                "and never uploaded. Fix them (BatchJob.rejected and results() say why) and add "
                "them to a new BatchJob"
            )
        wanted = set(record_ids) if record_ids is not None else None
        send_all = include_non_retryable or wanted is not None  # records named: sent as asked
        latest = self._latest_attempts(ledger)
        non_retryable = 0
        refused: set[str] = set()  # the non-retryable records
        chosen: set[str] = set()
        unanswered: list[str] = []  # records with no output from their latest attempt
        for r in results:
            if r.status == "missing" or r.attempt != latest.get(r.record_id, 0):
                unanswered.append(r.record_id)
            if r.status not in statuses or (wanted is not None and r.record_id not in wanted):
                continue
            if r.status == "errored" and not_retryable(r.error):
                non_retryable += 1
                refused.add(r.record_id)
                if not send_all:
                    continue
            if retryable_only and r.status == "errored" and not (r.error and r.error.retryable):
                continue
            chosen.add(r.record_id)
        for sent, twins in self.inputs.fan_out(ledger).items():  # a duplicate: its body, once
            index = self.inputs.index(ledger, persisted=True)
            if any(index.id_at(t) in chosen for t in twins):
                chosen.add(index.id_at(sent))
            if any(index.id_at(t) in refused for t in twins):
                refused.add(index.id_at(sent))
        ordered = tuple(rid for rid, _ in self.inputs.lines(ledger, chosen))
        blocked: dict[str, set[str]] = {}
        for rid, part in self._jobs_of(ledger, unanswered, latest).items():
            if rid not in chosen:
                blocked.setdefault(part, set()).add(rid)
        candidates = {
            job.part
            for _, job in ledger.jobs()
            if job.job_arn
            and not job.superseded
            and described.get(job.job_arn) is not None
            and described[job.job_arn].status in _FAILING
        }
        return RetrySelection(
            ordered,
            frozenset(candidates - set(blocked)),
            {part: frozenset(blocked[part]) for part in candidates & set(blocked)},
            non_retryable,
            send_all and not retryable_only,
            sum(1 for rid in ordered if rid in refused),
        )

    def _latest_attempts(self, ledger: Ledger) -> dict[str, int]:
        """Record id → the newest retry attempt that ran it (first-attempt records omitted)."""
        latest: dict[str, int] = {}
        for attempt in ledger.attempts[1:]:
            for rid in self.targets_of(ledger, attempt):
                latest[rid] = attempt.number
        return latest

    def targets_of(self, ledger: Ledger, attempt: Attempt) -> list[str]:
        """A retry attempt's record ids, in its order."""
        if attempt.targets is None:
            return []
        uri = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, attempt.targets)
        return [
            decode(raw) if raw.startswith(b'"') else raw.decode() for _, raw in self.s3.lines(uri)
        ]

    def _jobs_of(
        self, ledger: Ledger, rids: list[str], latest: Mapping[str, int]
    ) -> dict[str, str]:
        """The job part that ran each record in its latest attempt (records of on-demand runs
        and of jobs never created are left out)."""
        if not rids:
            return {}
        by_attempt: dict[int, set[str]] = {}
        for rid in rids:
            by_attempt.setdefault(latest.get(rid, 0), set()).add(rid)
        out: dict[str, str] = {}
        for attempt in ledger.attempts:
            wanted = by_attempt.get(attempt.number)
            if not wanted or not attempt.jobs:
                continue
            order: Iterable[str]
            if attempt.number == 0:
                index = self.inputs.index(ledger, persisted=True)
                order = (index.id_at(o) for o in range(len(index)))
            else:
                order = self.targets_of(ledger, attempt)
            jobs = sorted(attempt.jobs, key=lambda j: j.start)
            starts = [j.start for j in jobs]
            for ordinal, rid in enumerate(order):
                if rid in wanted:
                    job: JobEntry = jobs[max(0, bisect.bisect_right(starts, ordinal) - 1)]
                    if job.start <= ordinal < job.end:
                        out[rid] = job.part
        return out

"""A model-based test of the batch lifecycle on Local Bedrock (manual clock): random sequences of
submitting, waiting, stopping, retrying (with statuses and record ids), moving the clock and
injecting faults — and the rare paths between them:

- a **crash inside a call**, before or after the operation took effect (CreateModelInvocationJob,
  StopModelInvocationJob, GetModelInvocationJob, InvokeModel, the ledger's PutObject): a
  :class:`Crash` raised from a botocore hook of the handle's own clients; the handle is discarded
  and a fresh one (attached, or the script re-run) carries on with the same batch;
- a **lost answer**: Local Bedrock performs the call and then drops its answer or answers 500
  (:class:`AfterFault`), for every attempt botocore makes or only the first; a ledger write that
  landed but whose answer was lost;
- **two handles whose calls interleave**: a second handle stops, retries (another selection),
  waits or resumes the batch from inside a call of the first;
- S3 write and read faults, runtime (InvokeModel) throttling and 5xx, record and job faults;
- a **stop during an on-demand run** (from inside one of its InvokeModel calls);
- **claim expiry by a clock jump**: inside an InvokeModel call of an on-demand run the clock
  jumps past the claim TTL and a second handle resumes the run.

Checked after every step:

- no Bedrock job exists that the ledger does not know (every job's name and token are planned in
  the stored ledger), and none was created twice;
- after a stop returned, no job is still running, and a job created afterwards (the window
  between ``creating`` and Create) is stopped by the time a call of a handle returns;
- a stop during an on-demand run is followed by at most ``STOP_CHECK_CALLS + 2 *
  concurrency`` InvokeModel calls of the running handle;
- after a claim was taken over, its old owner makes at most as many calls (fenced claims);
- no on-demand answer is received twice for a record (beyond the documented allowances);
- after every call that returned, the ledger in S3 equals the in-memory one.

At the end, the script is run once more with every fault cleared; it waits and retries until
nothing is missing: every record comes back exactly once and succeeded, every job the emulator
ran is in the ledger, and no record was paid twice (answers in the jobs' outputs plus on-demand
answers received), beyond the documented allowances (an answer received by a process that then
died; a taken-over claim's unsaved answers and its owner's calls before it notices).

Shaping (issue 18 asks for at least half of the examples creating a Bedrock job and at least a
fifth stopping or retrying one, reliably): the first step is one weighted draw of a scenario
(``SCENARIOS``; independent draws of mode and size were skewed by hypothesis towards small
on-demand batches). It adds the records (20-80; a few examples have fewer than a job's minimum)
and in most examples submits batch jobs: plainly, or with a crash, a lost Create answer or a
stop inside the submit (after a crash the script runs again at once), or submits, waits and
retries the failed records on demand with a stop or a claim expiry inside that run; a few
answer on demand from the start. Then (``THEN``) most examples stop the batch from another
handle, wait and retry, or race two retries of overlapping selections (the other's inside the
first's ledger write). After a crash, most steps start by attaching a new process, so few
steps are spent without one. Interleavings are drawn half from a curated list (two retries
racing on the ledger write, a stop inside a create or an on-demand run, ...), half from every
call x hook point x action. ``test_model_based_mutants.py`` shows the search finds problems 1,
2, 3 and 7 of issue 18 when each is put back.

Profiles: CI runs 50 examples of up to 8 steps (about 30-35 s of one core's CPU; ``-n auto``
runs it beside the other tests). ``BEDROCK_BATCH_MODEL_PROFILE=long`` runs 400 examples of up
to 20 steps; ``BEDROCK_BATCH_MODEL_EXAMPLES=N`` sets the number. Run with
``--hypothesis-show-statistics`` for the distribution (percentages of all cases, invalid ones
included — a step drawn when no rule was enabled). Measured on this shape (2026-12-03):

- CI (50 examples): 85% of 55 cases and 79% of 57 created a Bedrock job; 73% and 61% stopped
  a running job or retried records of a batch that had one (85% and 81% stopped a running job
  or retried any records); earlier weights of the same shape gave 84%/61% and 80%/63%.
  Hypothesis mutates the examples it ran, so scenarios come in clusters and the split moves
  from run to run: the weights leave room. 41 s on a quiet machine (32 s user, 5 s system).
- Long (400 examples, 421 cases): 92% created a Bedrock job; 81% stopped a running job or
  retried a job's records (37% stopped a running job, 71% retried a job's records; 86% with
  any records); 17% stopped an on-demand run, 15% had a claim taken over; 20% lost a Create
  answer, 25% crashed inside a submit. 14.5 min on a loaded machine (361 s user, 55 s system).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bedrock_batch import BatchError, BatchJob, PollConfig, Quotas
from bedrock_batch._common._codec import decode
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._ledger._ledgerstore import LedgerStore
from bedrock_batch.local import AfterFault, JobFault, LocalBedrock, OperationFaults

from ..conftest import BUCKET, HAIKU, ROLE, claude_body
from ..support import RecordedBackoff, S3Faults
from .model_support import Armed, Crash, Hooks, PaidAnswers, WallClock, lose_answer

QUOTAS = Quotas(min_records_per_job=20, max_records_per_job=40, max_concurrent_jobs=2)
POLL = PollConfig(initial=600, max_interval=3600, jitter=0, timeout=4 * 24 * 3600)
CONCURRENCY = 2
#: The documented bound on InvokeModel calls after a stop (``BatchJob.stop``) and, for fenced
#: claims, after a takeover: ``STOP_CHECK_CALLS + 2 * on_demand_concurrency``.
CALLS_AFTER = 8 + 2 * CONCURRENCY
#: Answers an on-demand run keeps in memory per slice before saving them (``chunk_records``).
CHUNK = 10
#: Past the on-demand claim TTL (``OnDemandRunner.claim_ttl``, 300 s), with room for the
#: seconds the stalled owner's own calls take.
CLAIM_JUMP = 360.0
CONTROL_PLANE = frozenset(
    {"CreateModelInvocationJob", "GetModelInvocationJob", "ListModelInvocationJobs"}
)
RUNNING = {"Submitted", "Validating", "Scheduled", "InProgress"}
STOPPED = {"Stopping", "Stopped"}
LEDGER = "bedrock-batch.json"

#: Where a hook can sit: (phase, operation, S3 key filter).
HOOK_POINTS = [
    ("before", "CreateModelInvocationJob"),
    ("after", "CreateModelInvocationJob"),
    ("after", "StopModelInvocationJob"),
    ("before", "GetModelInvocationJob"),
    ("before", "InvokeModel"),
    ("after", "InvokeModel"),
    ("before", "PutObject"),
    ("after", "PutObject"),
]
CALLS = ["submit", "wait", "retry", "stop", "retry on demand"]
ON_DEMAND_CALLS = ["retry on demand", "submit", "wait"]
OTHERS = ["stop", "retry", "wait", "submit"]
#: What follows the first call (weighted by repetition): most examples stop or retry.
THEN = [
    "wait and retry", "stop from another handle", "wait and race two retries",
    "wait and retry on demand", "stop from another handle", "wait and race two retries",
    "stop from another handle", "nothing",
]  # fmt: skip
#: The interleavings that matter most (drawn as often as all the others together): two
#: retries racing on the ledger write, a stop inside a create or an on-demand run, a retry or a
#: resume inside a wait's poll or a stop.
INTERLEAVINGS = [
    ("retry", ("before", "PutObject"), "retry"),
    ("retry", ("after", "PutObject"), "retry"),
    ("retry", ("before", "CreateModelInvocationJob"), "retry"),
    ("submit", ("before", "CreateModelInvocationJob"), "stop"),
    ("submit", ("after", "CreateModelInvocationJob"), "stop"),
    ("retry", ("after", "CreateModelInvocationJob"), "stop"),
    ("retry on demand", ("before", "InvokeModel"), "stop"),
    ("retry on demand", ("before", "InvokeModel"), "retry"),
    ("wait", ("before", "GetModelInvocationJob"), "retry"),
    ("stop", ("after", "StopModelInvocationJob"), "retry"),
    ("retry", ("before", "PutObject"), "submit"),
]
#: A retry's selection: statuses, retryable only, record ids (indexes into the records).
#: Mostly one that sends something (the emulator's record faults are not retryable).
SELECTIONS = st.tuples(
    st.sampled_from([("errored", "missing"), ("missing",), ("errored",), ("errored", "missing")]),
    st.sampled_from([False, True, False, False]),
    st.none() | st.lists(st.integers(0, 10**6), min_size=1, max_size=12),
)
Selection = tuple[tuple[str, ...], bool, list[int] | None]
NO_SELECTION: Selection = (("missing",), False, None)
#: How an example starts: (mode, first call), weighted by repetition and drawn at once (not
#: as independent draws, whose product hypothesis skews). Almost all submit batch jobs (a plain
#: submit, or a crash, lost answer or stop inside it; or a submit whose failed records are then
#: retried on demand with a stop or a claim expiry inside that run); a few answer on demand
#: from the start, have fewer records than a job's minimum or start with no call. Hypothesis
#: mutates examples it already ran, so an example's start comes in clusters: the weights leave
#: room for a bad cluster. The simplest (first) is a plain batch submit.
SCENARIOS = [
    ("auto", "submit"), ("auto", "lost Create answer"), ("auto", "crash before Create"),
    ("auto", "crash after Create"), ("auto", "stop during an on-demand retry"),
    ("auto", "crash after the ledger write"), ("auto", "stop inside Create"),
    ("auto", "claim expires during an on-demand retry"), ("auto", "lost Create answer"),
    ("auto", "submit"), ("auto", "crash after Create"), ("auto", "lost Create answer"),
    ("on_demand", "stop during the run"), ("few records", "submit"), ("auto", "none"),
]  # fmt: skip


def _event(what: str) -> None:
    """A hypothesis event (for the statistics), outside a test too (a debugging session)."""
    with contextlib.suppress(InvalidArgument):
        event(what)


def _crash(where: str) -> Callable[[], None]:
    def crash() -> None:
        raise Crash(where)

    return crash


class BatchLifecycle(RuleBasedStateMachine):
    """One batch on one emulator, driven by random steps (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = WallClock()
        self.clock.install()
        self.backoff = RecordedBackoff()  # botocore's retries under faults, without the sleep
        self.local = LocalBedrock(clock="manual", quotas={HAIKU: QUOTAS}, seed=7).start()
        self.session = self.local.session()
        self.session.client("s3").create_bucket(Bucket=BUCKET)
        # The invariants' own reads: clients made before the faults are hooked in.
        self.check_bedrock = self.session.client("bedrock")
        self.check_s3_client = self.session.client("s3")
        self.check_s3 = S3Access(self.check_s3_client)
        self.s3_faults = S3Faults(self.session)  # every client made from now on has them
        retries = Config(retries={"mode": "standard", "total_max_attempts": 2})
        # The handle under test (re-created after each crash) always uses these clients; other
        # handles use their own, so hooks and counts tell the two apart.
        self.bedrock = self.session.client("bedrock", config=retries)
        self.runtime = self.session.client("bedrock-runtime", config=retries)
        self.s3 = self.session.client("s3")
        self.other_bedrock = self.session.client("bedrock", config=retries)
        self.other_runtime = self.session.client("bedrock-runtime", config=retries)
        self.other_s3 = self.session.client("s3")
        self.hooks = Hooks(self.bedrock, self.runtime, self.s3)
        self.paid = PaidAnswers(self.runtime)
        self.paid_other = PaidAnswers(self.other_runtime)
        self.records: list[tuple[str, str]] = []  # (record id, prompt)
        self.mode = "auto"
        self.job: BatchJob | None = None
        self.state_uri: str | None = None
        self.jobs_at_stop: set[str] | None = None  # job ARNs when the batch was seen stopped
        self.returned = False  # did the last call of the handle return normally?
        self.extra_paid_allowed = 0  # answers a documented path may pay twice (crash after one)
        self.seen: Counter[str] = Counter()  # what this example did (for the statistics)
        self.steps = 0
        self.started = False  # a job was created or records were answered on demand

    # -- helpers ---------------------------------------------------------------------------

    def _new(self) -> BatchJob:
        return BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=self.session,
            bedrock_client=self.bedrock, runtime_client=self.runtime, s3_client=self.s3,
            sleep=self.local.advance, poll=POLL, on_demand_concurrency=CONCURRENCY,
            mode=self.mode,  # type: ignore[arg-type]
        )  # fmt: skip

    def _fresh_with_records(self) -> BatchJob:
        job = self._new()
        job.add_records(
            {"recordId": rid, "modelInput": claude_body(prompt, 40)} for rid, prompt in self.records
        )
        return job

    def _attach(self, *, other: bool) -> BatchJob:
        assert self.state_uri is not None
        if other:
            return BatchJob.attach(
                self.state_uri, session=self.session, bedrock_client=self.other_bedrock,
                runtime_client=self.other_runtime, s3_client=self.other_s3,
                sleep=self.local.advance, poll=POLL,
            )  # fmt: skip
        return BatchJob.attach(
            self.state_uri, session=self.session, bedrock_client=self.bedrock,
            runtime_client=self.runtime, s3_client=self.s3, sleep=self.local.advance, poll=POLL,
        )  # fmt: skip

    def _ids(self, picks: list[int] | None) -> list[str] | None:
        if picks is None or not self.records:
            return None
        return sorted({self.records[i % len(self.records)][0] for i in picks})

    def _retry(self, job: BatchJob, selection: Selection, mode: str | None = None) -> int:
        statuses, retryable_only, picks = selection
        sent = job.retry(
            statuses=statuses, retryable_only=retryable_only, record_ids=self._ids(picks),
            mode=mode,  # type: ignore[arg-type]
            include_non_retryable=not retryable_only,  # the emulator's record faults are 4xx
        )  # fmt: skip
        if sent:
            self.seen["retried records"] += 1
            ledger = job.ledger
            if ledger is not None and ledger.job_arns:
                self.seen["retried records of a Bedrock job"] += 1
        return sent

    def _do(self, call: str, selection: Selection = (("errored", "missing"), False, None)) -> None:
        """One call of the handle under test. Errors the library documents are allowed; a crash
        discards the handle."""
        job = self.job
        assert job is not None
        self.returned = False
        try:
            if call == "submit":
                job.submit()
                self.state_uri = self.state_uri or job.state_uri
            elif call == "wait":
                job.wait(timeout=6 * 3600, raise_on_failure=False)
            elif call == "retry":
                self._retry(job, selection)
            elif call == "retry on demand":  # whatever their number, through bedrock-runtime
                job.wait(timeout=6 * 3600, raise_on_failure=False)
                self._retry(job, selection, mode="on_demand")
            else:
                self._stop(job)
        except Crash as crash:
            self.seen[f"crashed {crash} (in {call})"] += 1
            self.state_uri = self.state_uri or job.state_uri
            job.close()
            self.job = None  # the process died: its state is gone
            return
        except BatchError as err:
            self.seen[f"{call} raised {type(err).__name__}"] += 1
            self.state_uri = self.state_uri or job.state_uri
            return
        self.seen[f"{call} returned"] += 1
        self.returned = True

    def _stop(self, job: BatchJob) -> None:
        running = [j for j in self._emulator_jobs() if j["status"] in RUNNING]
        job.stop()
        if running:
            self.seen["stopped a running job"] += 1
        self.seen["stopped"] += 1
        jobs = self._emulator_jobs()
        self.jobs_at_stop = {j["jobArn"] for j in jobs}
        for j in jobs:  # a stop that returned left nothing running
            assert j["status"] not in RUNNING, f"{j['jobName']} is {j['status']} after stop()"

    def _other(self, what: str, selection: Selection) -> Callable[[], None]:
        """Another handle acting on the same batch (run from inside a call of the first)."""

        def act() -> None:
            if self.state_uri is None and self.job is not None:
                self.state_uri = self.job.state_uri  # inside the first submit
            if self.state_uri is None:
                return
            self.seen[f"interleaved {what}"] += 1
            try:
                with contextlib.closing(self._attach(other=True)) as other:
                    if what == "stop":
                        self._stop(other)
                    elif what == "retry":
                        self._retry(other, selection)
                    elif what == "wait":
                        other.wait(timeout=3600, raise_on_failure=False)
                    else:
                        other.submit()
            except BatchError as err:  # (no event() here: this may run in a worker thread)
                self.seen[f"other handle: {type(err).__name__}"] += 1

        return act

    def _emulator_jobs(self) -> list[dict[str, Any]]:
        faults = self.local.faults
        saved = faults.throttle_rate, faults.server_error_rate, faults.per_operation
        faults.throttle_rate = faults.server_error_rate = 0.0  # the checks themselves are exact
        faults.per_operation = {}
        try:
            pages = self.check_bedrock.get_paginator("list_model_invocation_jobs")
            return [j for page in pages.paginate() for j in page["invocationJobSummaries"]]
        finally:
            faults.throttle_rate, faults.server_error_rate, faults.per_operation = saved

    def _stored_ledger(self) -> Any:
        if self.state_uri is None:
            return None
        return LedgerStore(self.check_s3, S3Uri.parse(self.state_uri)).load()

    def _arm(self, point: tuple[str, str], skip: int, action: Callable[[], None]) -> Armed:
        phase, operation = point
        ledger_only: Callable[[str], bool] = lambda key: key.endswith(LEDGER)  # noqa: E731
        return self.hooks.arm(
            Armed(
                phase,
                operation,
                action,
                skip,
                ledger_only if operation == "PutObject" else (lambda _: True),
            )
        )

    # -- steps -----------------------------------------------------------------------------

    @initialize(
        scenario=st.sampled_from(SCENARIOS),
        n=st.integers(20, 80),
        record_errors=st.sampled_from([0.1, 0.3, 0.5, 0.1, 0.0]),
        then=st.sampled_from(THEN),
        selections=st.tuples(SELECTIONS, SELECTIONS),
    )
    def add_records_and_submit(
        self, scenario: tuple[str, str], n: int, record_errors: float, then: str = "nothing",
        selections: tuple[Selection, Selection] = (NO_SELECTION, NO_SELECTION),
    ) -> None:  # fmt: skip
        """The records, and most often a first submit (a crash, lost answer or stop inside it;
        after a crash the script is run again at once); most often some records fail (so that
        retries have something to send), and then the batch is most often stopped or retried
        (two handles racing their retries in some)."""
        mode, first = scenario
        if mode == "few records":  # below a job's minimum: answered on demand
            mode, n = "auto", 1 + n % (QUOTAS.min_records_per_job - 1)
        self.mode = mode
        if first.endswith("on-demand retry"):  # enough failed records for a run to stop in
            record_errors = max(record_errors, 0.5)
        self.local.faults.record_error_rate = record_errors
        self.records = [(f"r{i:04d}", f"prompt {i}") for i in range(n)]
        self.job = self._fresh_with_records()
        self.returned = True
        self.started = n < QUOTAS.min_records_per_job or mode == "on_demand"
        self.seen["on demand" if self.started else "batch jobs"] += 1
        self.seen[f"first call: {first}"] += 1
        if first == "crash before Create":
            self._arm(("before", "CreateModelInvocationJob"), 0, _crash("before Create"))
        elif first == "crash after Create":
            self._arm(("after", "CreateModelInvocationJob"), 0, _crash("after Create"))
        elif first == "crash after the ledger write":
            self._arm(("after", "PutObject"), 0, _crash("after the ledger write"))
        elif first == "lost Create answer":
            self.local.faults.after.append(AfterFault("CreateModelInvocationJob", "lost_answer", 2))
        elif first == "stop inside Create":
            self._arm(("before", "CreateModelInvocationJob"), 0, self._other("stop", NO_SELECTION))
        if first == "stop during the run":  # (a batch job's submit makes no InvokeModel call)
            self._stop_during_run("submit", 3)
        elif first == "claim expires during the run":
            self._claim_expiry("submit", 3)
        elif first != "none":
            self._do("submit")
        if first.endswith("on-demand retry") and self.job is not None:
            self._do("wait")
        if self.job is not None and first == "stop during an on-demand retry":
            self._stop_during_run("retry on demand", 2)
        elif self.job is not None and first == "claim expires during an on-demand retry":
            self._claim_expiry("retry on demand", 2)
        self.hooks.clear()
        self.local.faults.after.clear()
        if self.job is None:  # it crashed: run the script again
            self.come_back(rerun=True)
        self.seen[f"then: {then}"] += 1
        if self.job is None or self.state_uri is None:
            return
        if then == "stop from another handle":
            self.stop_from_another_handle()
        elif then.startswith("wait and r"):
            self._do("wait")
            if self.job is None:
                return
            if then == "wait and race two retries":  # the other's inside the first's write
                # Overlapping selections: the first retries every failed record, the other
                # those among some record ids (drawn, or every other record).
                theirs = selections[1][2] or list(range(0, 2 * QUOTAS.max_records_per_job, 2))
                other = self._other("retry", (("errored", "missing"), False, theirs))
                self._arm(("before", "PutObject"), 0, other)
                self._do("retry", (("errored", "missing"), False, None))
                self.hooks.clear()
            else:
                self._do("retry on demand" if then.endswith("on demand") else "retry")

    @rule()
    def submit(self) -> None:
        if not self._revive():
            return
        self._do("submit")

    @rule(call=st.sampled_from(CALLS), point=st.sampled_from(HOOK_POINTS), skip=st.integers(0, 3))
    def crash_inside_a_call(self, call: str, point: tuple[str, str], skip: int) -> None:
        """The process dies inside a call: before the operation was sent, or after it took
        effect and its answer arrived (nothing after it ran)."""
        if not self._revive():
            return
        armed = self._arm(point, skip, _crash(f"{point[0]} {point[1]}"))
        if point[1] == "InvokeModel" and point[0] == "after":
            self.extra_paid_allowed += 1  # that answer was paid for and dies with the process
        self._do(call)
        self.hooks.clear()
        if not armed.fired and point == ("after", "InvokeModel"):
            self.extra_paid_allowed -= 1

    @rule(
        call=st.sampled_from(CALLS),
        operation=st.sampled_from(
            [
                "CreateModelInvocationJob",
                "StopModelInvocationJob",
                "GetModelInvocationJob",
                "ledger",
            ]
        ),
        every_attempt=st.booleans(),
        kind=st.sampled_from(["lost_answer", "server_error"]),
    )
    def lost_answer(self, call: str, operation: str, every_attempt: bool, kind: str) -> None:
        """The operation takes effect, its answer is lost (or is a 500)."""
        if not self._revive():
            return
        if operation == "ledger":
            self._arm(("after", "PutObject"), 0, lose_answer)
        else:
            times = 2 if every_attempt else 1  # the clients make 2 attempts
            self.local.faults.after.append(AfterFault(operation, kind, times))  # type: ignore[arg-type]
        self._do(call)
        self.hooks.clear()
        self.local.faults.after.clear()

    @precondition(lambda self: self.state_uri is not None)
    @rule(
        case=st.one_of(
            st.sampled_from(INTERLEAVINGS),
            st.tuples(
                st.sampled_from(CALLS), st.sampled_from(HOOK_POINTS), st.sampled_from(OTHERS)
            ),
        ),
        skip=st.integers(0, 3),
        selection=SELECTIONS,
        other_selection=SELECTIONS,
    )
    def interleave(
        self, case: tuple[str, tuple[str, str], str], skip: int,
        selection: Selection, other_selection: Selection,
    ) -> None:  # fmt: skip
        """A second handle acts from inside a call of the first (a retry follows a wait, as
        retries of a running batch are refused)."""
        if not self._revive():
            return
        call, point, what = case
        if call.startswith("retry"):
            self._do("wait")
            if self.job is None:
                return
        self._arm(point, skip, self._other(what, other_selection))
        self._do(call, selection)
        self.hooks.clear()

    @rule(call=st.sampled_from(ON_DEMAND_CALLS), k=st.integers(0, 6))
    def stop_during_on_demand(self, call: str, k: int) -> None:
        """Another handle stops the batch inside the k-th InvokeModel call of a run."""
        if not self._revive():
            return
        self._stop_during_run(call, k)

    def _stop_during_run(self, call: str, k: int) -> None:
        at_stop: list[int] = []

        def stop() -> None:
            self._other("stop", NO_SELECTION)()
            at_stop.append(self.paid.calls)

        self._arm(("before", "InvokeModel"), k, stop)
        self._do(call)
        self.hooks.clear()
        if at_stop and self._stored_ledger().stopped:
            self.seen["stopped an on-demand run"] += 1
            after = self.paid.calls - at_stop[0]
            assert after <= CALLS_AFTER, f"{after} InvokeModel calls followed the stop"

    @rule(call=st.sampled_from(ON_DEMAND_CALLS), k=st.integers(0, 6))
    def claim_expires(self, call: str, k: int) -> None:
        """Inside the k-th InvokeModel call of a run, the clock jumps past the claim TTL (the
        process stalled, or the other's clock is ahead) and a second handle resumes the run.

        Fenced claims (issue 18, problem 3): the stalled owner must notice it lost the claim
        and make at most ``CALLS_AFTER`` more calls."""
        if not self._revive():
            return
        self._claim_expiry(call, k)

    def _claim_expiry(self, call: str, k: int) -> None:
        taken: list[int] = []

        def jump_and_resume() -> None:
            self.clock.jump(CLAIM_JUMP)
            before = sum(self.paid_other.by_prompt.values())
            self._other("wait", NO_SELECTION)()
            if sum(self.paid_other.by_prompt.values()) > before:  # the other took a claim over
                taken.append(self.paid.calls)

        self._arm(("after", "InvokeModel"), k, jump_and_resume)
        self._do(call)
        self.hooks.clear()
        if not taken:
            return
        self.seen["claim taken over"] += 1
        # Paid twice, legitimately: the stalled owner's answers received but not saved yet (up
        # to a chunk per slice, plus the calls in flight), which the new owner asks for again,
        # and the calls the old owner makes before it notices (at most CALLS_AFTER).
        after = self.paid.calls - taken[0]
        self.extra_paid_allowed += CHUNK + 2 * CONCURRENCY + min(after, CALLS_AFTER)
        assert after <= CALLS_AFTER, (
            f"fenced claims (issue 18 problem 3): the owner whose claim was taken over made "
            f"{after} more InvokeModel calls"
        )

    def _revive(self) -> bool:
        """After a crash, most steps begin with a new process attached to the batch (so that
        few steps are spent with no process); whether there is a handle now."""
        if self.job is None:
            self.come_back(rerun=False)
        return self.job is not None

    @precondition(lambda self: self.job is None)
    @rule(rerun=st.booleans())
    def come_back(self, rerun: bool) -> None:
        """After a crash, a new process attaches to the batch or re-runs the same script."""
        if self.state_uri is not None and not rerun:
            try:
                self.job = self._attach(other=False)
            except BatchError as err:  # e.g. the ledger cannot be read right now
                self.seen[f"attach: {type(err).__name__}"] += 1
                return
            self.returned = True
            return
        self.job = self._fresh_with_records()
        if self.state_uri is not None:
            self._do("submit")
        else:
            self.returned = True

    @precondition(lambda self: self.job is not None)
    @rule()
    def crash_between_calls(self) -> None:
        assert self.job is not None
        self.job.close()
        self.job = None

    @precondition(lambda self: self.state_uri is not None and self.started)
    @rule()
    def stop_from_another_handle(self) -> None:
        self.returned = False  # another process changes the ledger behind this one's back
        self._other("stop", NO_SELECTION)()

    @precondition(lambda self: self.state_uri is not None)
    @rule()
    def wait_a_while(self) -> None:
        if not self._revive():
            return
        self._do("wait")

    @precondition(lambda self: self.state_uri is not None)
    @rule(selection=SELECTIONS, wait_first=st.booleans())
    def retry(self, selection: Selection, wait_first: bool) -> None:
        if not self._revive():
            return
        if wait_first:  # most retries follow a wait (a retry of a running batch is refused)
            self._do("wait")
            if self.job is None:
                return
        self._do("retry", selection)

    @rule(hours=st.sampled_from([0.25, 1, 6, 30]))
    def advance_clock(self, hours: float) -> None:
        self.local.advance(hours=hours)

    @rule(
        fault=st.one_of(
            st.tuples(st.just("control plane throttling"), st.sampled_from([0.0, 0.3])),
            st.tuples(st.just("runtime faults"), st.sampled_from([0.0, 0.3, 0.6])),
            st.tuples(st.just("record errors"), st.sampled_from([0.0, 0.2])),
            st.tuples(
                st.just("next job fails"),
                st.sampled_from(["fail_late", "expire", "timeout", "fail_validation"]),
            ),
            st.tuples(
                st.just("S3 fault"),
                st.tuples(
                    st.sampled_from(["PutObject", "GetObject", "ListObjectsV2", "HeadObject"]),
                    st.sampled_from(["ledger", "inputs", "outputs", "answers"]),
                    st.sampled_from([("InternalError", 500), ("AccessDenied", 403)]),
                    st.sampled_from([1, 3]),
                ),
            ),
        )
    )
    def inject_fault(self, fault: tuple[str, Any]) -> None:
        """Faults that stay in force (until changed): throttling and 5xx of the control plane
        and of InvokeModel, record errors, the next job failing, S3 calls failing."""
        kind, arg = fault
        faults = self.local.faults
        if kind == "control plane throttling":
            faults.operations = CONTROL_PLANE
            faults.throttle_rate, faults.server_error_rate = arg, arg / 3
        elif kind == "runtime faults":
            if arg:
                faults.per_operation["InvokeModel"] = OperationFaults(arg, arg / 2)
            else:
                faults.per_operation.pop("InvokeModel", None)
        elif kind == "record errors":
            faults.record_error_rate = arg
        elif kind == "next job fails":
            faults.jobs.append(JobFault(arg, at_fraction=0.5))
        else:
            self._s3_failure(*arg)

    def _s3_failure(self, operation: str, what: str, code: tuple[str, int], times: int) -> None:
        if operation == "PutObject" and what in ("outputs", "answers"):
            what = "inputs"  # an answer chunk that cannot be stored is kept in memory only

        def matches(params: dict[str, Any]) -> bool:
            key = str(params.get("Key", params.get("Prefix", "")))
            return {
                "ledger": key.endswith(LEDGER),
                "inputs": "/part-" in key,
                "outputs": key.startswith("out/"),
                "answers": "/answers/" in key or "/claims/" in key,
            }[what]

        self.s3_faults.fail(operation, when=matches, code=code[0], status=code[1], times=times)

    # -- promises, checked after every step ------------------------------------------------

    @invariant()
    def the_promises_hold(self) -> None:
        """One read of the emulator's jobs and of the stored ledger for the checks of a step."""
        self.steps += 1
        jobs = self._emulator_jobs()
        ledger = self._stored_ledger()
        self._ledger_knows_every_job(jobs, ledger)
        self._nothing_runs_after_a_stop(jobs, ledger)
        if self.returned and self.job is not None and self.job.ledger is not None:
            assert ledger == self.job.ledger, "the ledger in S3 is not the one in memory"

    def _ledger_knows_every_job(self, jobs: list[dict[str, Any]], ledger: Any) -> None:
        names = [j["jobName"] for j in jobs]
        assert len(names) == len(set(names)), f"a job was created twice: {names}"
        if jobs:
            self.seen["created a job"] += 1
            self.started = True
        if ledger is None:
            assert jobs == [], "a job exists but no ledger was stored"
            return
        planned = {(j.name, j.token) for _, j in ledger.jobs()}
        for job in jobs:
            assert (job["jobName"], job.get("clientRequestToken")) in planned, job["jobName"]

    def _nothing_runs_after_a_stop(self, jobs: list[dict[str, Any]], ledger: Any) -> None:
        if ledger is None or not ledger.stopped:
            self.jobs_at_stop = None  # not stopped, or a retry re-opened the batch
            return
        if self.jobs_at_stop is None:
            self.jobs_at_stop = {j["jobArn"] for j in jobs}
        if self.returned:
            late = [j for j in jobs if j["jobArn"] not in self.jobs_at_stop]
            for j in late:  # created in the window between 'creating' and Create
                assert j["status"] in STOPPED, (
                    f"{j['jobName']} created after the stop is {j['status']}"
                )

    @invariant()
    def no_answer_received_twice(self) -> None:
        both = self.paid.by_prompt + self.paid_other.by_prompt
        extra = sum(n - 1 for n in both.values() if n > 1)
        assert extra <= self.extra_paid_allowed, (
            f"on-demand answers paid twice: {sorted(p for p, n in both.items() if n > 1)}"
        )

    # -- the end: no faults, a final retry, every record back exactly once -----------------

    def _batch_answers(self) -> Counter[str]:
        """Record ids with an answer in any job's output (each one was paid for)."""
        paid: Counter[str] = Counter()
        s3 = self.check_s3_client
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="out/"):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith(".jsonl.out"):
                    continue
                body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
                for line in body.splitlines():
                    row = decode(line)
                    if "modelOutput" in row:
                        paid[row["recordId"]] += 1
        return paid

    def _finish(self) -> None:
        self.s3_faults.clear()
        self.hooks.clear()
        faults = self.local.faults
        faults.throttle_rate = faults.server_error_rate = faults.record_error_rate = 0.0
        faults.per_operation = {}
        faults.after.clear()
        faults.jobs.clear()
        stats = self.seen
        if self._emulator_jobs():
            _event("example created a Bedrock job")
        if stats["stopped a running job"] or stats["retried records"]:
            _event("example stopped a running job or retried records")
        if stats["stopped a running job"] or stats["retried records of a Bedrock job"]:
            _event("example stopped a running job or retried a job's records")
        _event(f"steps: {self.steps}")
        for what in sorted(stats):
            _event(what if what.startswith("first call") else f"did: {what}")
        if self.job is not None:
            self.job.close()
        # The script run once more: it resumes the batch (and uploads what a crash left out,
        # which an attached handle, holding no records, cannot).
        job = self.job = self._fresh_with_records()
        job.submit()
        self.state_uri = job.state_uri
        for _ in range(6):
            job.wait(raise_on_failure=False)
            if not job.retry(include_non_retryable=True):
                break
        job.wait(raise_on_failure=False)
        results = list(job.results())
        ids = sorted(r.record_id for r in results)
        assert ids == sorted(rid for rid, _ in self.records), "a record was lost or doubled"
        not_ok = [(r.record_id, r.status) for r in results if r.status != "succeeded"]
        assert not not_ok, f"missing after a final retry with no faults: {not_ok[:5]}"
        ledger = job.ledger
        assert ledger is not None
        for j in self._emulator_jobs():
            assert j["jobArn"] in ledger.job_arns, f"the ledger does not know {j['jobName']}"
        by_id = {prompt: rid for rid, prompt in self.records}
        paid = self._batch_answers()
        for prompt, n in (self.paid.by_prompt + self.paid_other.by_prompt).items():
            paid[by_id[prompt]] += n
        extra = sum(n - 1 for n in paid.values() if n > 1)
        assert extra <= self.extra_paid_allowed, (
            f"paid twice: {sorted(rid for rid, n in paid.items() if n > 1)}"
        )
        job.close()

    def teardown(self) -> None:
        try:
            if self.records:
                self._finish()
        finally:  # (a failed check leaves the handle open)
            with contextlib.ExitStack() as undo:  # each runs even if one before it raises
                undo.callback(self.backoff.undo)
                undo.callback(self.clock.uninstall)
                undo.callback(self.local.stop)
                if self.job is not None:
                    undo.callback(self.job.close)


PROFILE = os.environ.get("BEDROCK_BATCH_MODEL_PROFILE", "ci")
BatchLifecycle.TestCase.settings = settings(
    max_examples=int(
        os.environ.get("BEDROCK_BATCH_MODEL_EXAMPLES", "400" if PROFILE == "long" else "50")
    ),
    stateful_step_count=20 if PROFILE == "long" else 8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestBatchLifecycle = BatchLifecycle.TestCase


def test_a_claim_taken_over_stops_its_old_owner() -> None:
    """The claim rule on a fixed sequence: 60 records on demand; inside the third InvokeModel
    call of the first submit the clock jumps past the claim TTL and another handle resumes."""
    machine = BatchLifecycle()
    try:
        machine.add_records_and_submit(("on_demand", "none"), n=60, record_errors=0.0)
        machine.claim_expires(call="submit", k=2)
        assert machine.seen["claim taken over"] == 1, "the second handle took no claim over"
    finally:
        machine.teardown()

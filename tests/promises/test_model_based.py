"""A model-based test of the batch lifecycle: random sequences of adding records, submitting,
crashing (the object dropped, the batch re-attached or re-run), stopping from another handle,
retrying, moving the clock and injecting faults (throttling, 5xx, S3 write failures, record
errors, job failures) on Local Bedrock. After every step:

- no Bedrock job exists that the ledger did not plan, and none was created twice;
- nothing is created after a stop (until a retry re-opens the batch);
- no record is paid for on demand more often than on-demand attempts ran it;
- after every call that returned, the ledger in S3 equals the in-memory one.

At the end every input record comes back exactly once.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from botocore.config import Config
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bedrock_batch import BatchError, BatchJob, PollConfig, Quotas
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._ledger._ledgerstore import LedgerStore
from bedrock_batch.local import JobFault, LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, claude_body
from ..support import RuntimeCalls, S3Faults

QUOTAS = Quotas(min_records_per_job=20, max_records_per_job=40, max_concurrent_jobs=2)
POLL = PollConfig(initial=600, max_interval=3600, jitter=0, timeout=4 * 24 * 3600)
CONTROL_PLANE = frozenset(
    {"CreateModelInvocationJob", "GetModelInvocationJob", "ListModelInvocationJobs"}
)


class BatchLifecycle(RuleBasedStateMachine):
    """One batch on one emulator, driven by random steps (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.local = LocalBedrock(clock="manual", quotas={HAIKU: QUOTAS}, seed=7).start()
        self.session = self.local.session()
        self.session.client("s3").create_bucket(Bucket=BUCKET)
        self.s3_faults = S3Faults(self.session)
        self.calls = RuntimeCalls(self.session)
        retries = Config(retries={"mode": "standard", "total_max_attempts": 2})
        self.bedrock = self.session.client("bedrock", config=retries)
        self.runtime = self.session.client("bedrock-runtime", config=retries)
        self.check_bedrock = self.session.client("bedrock")  # for the invariants' own reads
        self.check_s3 = S3Access(self.session.client("s3"))
        self.records: list[tuple[str, str]] = []  # (record id, prompt)
        self.job: BatchJob | None = None
        self.state_uri: str | None = None
        self.jobs_at_stop: int | None = None
        self.returned = False  # did the last call on the job return normally?

    # -- helpers ---------------------------------------------------------------------------

    def _new(self) -> BatchJob:
        return BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=self.session,
            bedrock_client=self.bedrock, runtime_client=self.runtime, sleep=self.local.advance,
            poll=POLL, on_demand_concurrency=2,
        )  # fmt: skip

    def _fresh_with_records(self) -> BatchJob:
        job = self._new()
        job.add_records(
            {"recordId": rid, "modelInput": claude_body(prompt, 40)} for rid, prompt in self.records
        )
        return job

    def _call(self, action: Any) -> None:
        """Run an action on the job; errors the library documents are allowed, others fail."""
        self.returned = False
        try:
            action()
        except BatchError:
            return
        self.returned = True

    def _emulator_jobs(self) -> list[dict[str, Any]]:
        faults = self.local.faults
        rates = faults.throttle_rate, faults.server_error_rate
        faults.throttle_rate = faults.server_error_rate = 0.0  # the checks themselves are exact
        try:
            pages = self.check_bedrock.get_paginator("list_model_invocation_jobs")
            return [j for page in pages.paginate() for j in page["invocationJobSummaries"]]
        finally:
            faults.throttle_rate, faults.server_error_rate = rates

    def _stored_ledger(self) -> Any:
        if self.state_uri is None:
            return None
        store = LedgerStore(self.check_s3, S3Uri.parse(self.state_uri))
        return store.load()

    # -- steps -----------------------------------------------------------------------------

    @precondition(lambda self: self.state_uri is None)
    @rule(n=st.integers(1, 45))
    def add_records(self, n: int) -> None:
        start = len(self.records)
        new = [(f"r{i:04d}", f"prompt {i}") for i in range(start, start + n)]
        if self.job is None:
            self.job = self._new()
        self.job.add_records(
            {"recordId": rid, "modelInput": claude_body(prompt, 40)} for rid, prompt in new
        )
        self.records += new
        self.returned = True

    @precondition(lambda self: bool(self.records) and self.job is not None)
    @rule()
    def submit(self) -> None:
        assert self.job is not None
        self._call(self.job.submit)
        self.state_uri = self.state_uri or self.job.state_uri

    @precondition(lambda self: self.job is not None)
    @rule(rerun=st.booleans())
    def crash_and_come_back(self, rerun: bool) -> None:
        """The process dies; a new one re-runs the same script or attaches to the batch."""
        assert self.job is not None
        self.job.close()
        if self.state_uri is not None and not rerun:
            self.job = BatchJob.attach(
                self.state_uri, session=self.session, bedrock_client=self.bedrock,
                runtime_client=self.runtime, sleep=self.local.advance, poll=POLL,
            )  # fmt: skip
            self.returned = True
        else:
            self.job = self._fresh_with_records()
            if self.state_uri is not None:
                self._call(self.job.submit)
            else:
                self.returned = True

    @precondition(lambda self: self.state_uri is not None)
    @rule()
    def stop_from_another_handle(self) -> None:
        assert self.state_uri is not None
        self.returned = False  # another process changes the ledger behind this one's back
        try:
            other = BatchJob.attach(
                self.state_uri, session=self.session, bedrock_client=self.bedrock
            )
            other.stop()
        except BatchError:
            return
        ledger = self._stored_ledger()
        if ledger is not None and ledger.stopped:
            self.jobs_at_stop = len(self._emulator_jobs())

    @precondition(lambda self: self.state_uri is not None and self.job is not None)
    @rule()
    def wait_a_while(self) -> None:
        assert self.job is not None
        self._call(lambda: self.job.wait(timeout=6 * 3600, raise_on_failure=False))  # type: ignore[union-attr]

    @precondition(lambda self: self.state_uri is not None and self.job is not None)
    @rule()
    def retry(self) -> None:
        assert self.job is not None
        before = self._stored_ledger()
        self._call(self.job.retry)
        after = self._stored_ledger()
        if after is not None and len(after.attempts) > len(before.attempts):
            self.jobs_at_stop = None  # a retry re-opens a stopped batch

    @rule(hours=st.sampled_from([0.25, 1, 6, 30]))
    def advance_clock(self, hours: float) -> None:
        self.local.advance(hours=hours)

    @rule(rate=st.sampled_from([0.0, 0.3]))
    def control_plane_throttling(self, rate: float) -> None:
        self.local.faults.operations = CONTROL_PLANE
        self.local.faults.throttle_rate = rate
        self.local.faults.server_error_rate = rate / 3

    @rule(
        what=st.sampled_from(["ledger", "inputs"]),
        code=st.sampled_from([("InternalError", 500), ("AccessDenied", 403)]),
    )
    def s3_write_failure(self, what: str, code: tuple[str, int]) -> None:
        def matches(params: dict[str, Any]) -> bool:
            key = str(params.get("Key", ""))
            return key.endswith("bedrock-batch.json") if what == "ledger" else "/part-" in key

        operation = "PutObject"
        self.s3_faults.fail(operation, when=matches, code=code[0], status=code[1])

    @rule(rate=st.sampled_from([0.0, 0.2]))
    def record_errors(self, rate: float) -> None:
        self.local.faults.record_error_rate = rate

    @rule(kind=st.sampled_from(["fail_late", "expire", "timeout", "fail_validation"]))
    def next_job_fails(self, kind: str) -> None:
        self.local.faults.jobs.append(JobFault(kind, at_fraction=0.5))  # type: ignore[arg-type]

    # -- promises, checked after every step ------------------------------------------------

    @invariant()
    def no_job_beyond_the_plan(self) -> None:
        jobs = self._emulator_jobs()
        names = [j["jobName"] for j in jobs]
        assert len(names) == len(set(names)), f"a job was created twice: {names}"
        ledger = self._stored_ledger()
        if ledger is None:
            assert jobs == []
            return
        planned = {(j.name, j.token) for _, j in ledger.jobs()}
        for job in jobs:
            assert (job["jobName"], job.get("clientRequestToken")) in planned, job["jobName"]

    @invariant()
    def nothing_created_after_a_stop(self) -> None:
        if self.jobs_at_stop is not None:
            assert len(self._emulator_jobs()) == self.jobs_at_stop

    @invariant()
    def no_record_paid_twice_on_demand(self) -> None:
        ledger = self._stored_ledger()
        if ledger is None or self.job is None:
            assert self.calls.total == 0 or ledger is None
            return
        allowed: Counter[str] = Counter()
        prompts = dict(self.records)
        reader = self.job._parts().reader
        for attempt in ledger.attempts:
            if attempt.on_demand is None or reader is None:
                continue
            ids = (
                [rid for rid, _ in self.records]
                if attempt.number == 0
                else reader.targets_of(ledger, attempt)
            )
            for rid in ids:
                allowed[prompts[rid]] += 1
        for prompt, n in self.calls.by_prompt.items():
            assert n <= allowed[prompt], f"{prompt!r} paid {n} times, allowed {allowed[prompt]}"

    @invariant()
    def stored_ledger_equals_the_one_in_memory(self) -> None:
        if self.returned and self.job is not None and self.job.ledger is not None:
            assert self._stored_ledger() == self.job.ledger

    def teardown(self) -> None:
        try:
            if self.records:
                self.s3_faults.clear()
                self.local.faults.throttle_rate = self.local.faults.server_error_rate = 0.0
                job = self.job or self._fresh_with_records()
                if job.ledger is None:
                    job.submit()
                job.wait(raise_on_failure=False)
                results = list(job.results())
                ids = sorted(r.record_id for r in results)
                assert ids == sorted(rid for rid, _ in self.records), "a record was lost or doubled"
                job.close()
        finally:
            self.local.stop()


BatchLifecycle.TestCase.settings = settings(
    # Bounded in CI; BEDROCK_BATCH_MODEL_EXAMPLES=500 for a long soak.
    max_examples=int(os.environ.get("BEDROCK_BATCH_MODEL_EXAMPLES", "30")),
    stateful_step_count=14,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestBatchLifecycle = BatchLifecycle.TestCase

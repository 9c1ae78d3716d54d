"""Issue 18's problem 2: two ``retry()`` calls on one batch whose conditional ledger writes
interleave, with overlapping selections, become two attempts with distinct part names, input
folders and targets keys; no record is sent twice, and ``retry()`` returns what it sent."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from bedrock_batch import BatchJob, PollConfig, Quotas
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU, job_on, track

FAST = PollConfig(initial=30, max_interval=600, jitter=0)
SMALL = {HAIKU: Quotas(min_records_per_job=50, max_records_per_job=150, max_concurrent_jobs=2)}


class RunFirst:
    """Once armed, the next conditional write of the batch's ledger (``IfMatch``) runs
    ``other`` before it goes out: ``other`` wins the write, the armed call loses it."""

    def __init__(self, session: Any) -> None:
        self.other: Any = None
        self.ran = 0
        session.events.register_first("provide-client-params.s3.PutObject", self._put)

    def _put(self, params: dict[str, Any], **_: Any) -> None:
        if self.other is None or "IfMatch" not in params:
            return
        if not str(params.get("Key", "")).endswith("/bedrock-batch.json"):
            return
        other, self.other = self.other, None  # one shot: the other's own writes go through
        other()
        self.ran += 1


def jobs_in(local: LocalBedrock) -> list[dict[str, Any]]:
    return list(local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"])


def outputs_of(s3: Any, arn: str) -> list[str]:
    """The recordIds of one Bedrock job's output lines."""
    job_id = arn.rsplit("/", 1)[-1]
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"out/{job_id}/").get("Contents", [])
    ids = []
    for obj in found:
        if obj["Key"].endswith(".jsonl.out"):
            body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
            ids += [json.loads(line)["recordId"] for line in body.splitlines() if line.strip()]
    return ids


def stopped_batch(local: LocalBedrock, session: Any) -> tuple[BatchJob, list[str]]:
    """400 records, two jobs created and stopped, one never created: every record unrun."""
    job = job_on(local, session=session)
    for i in range(400):
        job.add_prompt(f"question {i}", max_tokens=60, key=i)
    job.submit()
    job.stop()
    job.wait(raise_on_failure=False)
    ids = sorted(r.record_id for r in job.results() if r.status == "missing")
    assert len(ids) == 400
    return job, ids


@pytest.mark.emulator(quotas=SMALL)
@pytest.mark.parametrize("mode", ["batch", "on_demand"])
def test_two_interleaved_retries_with_overlapping_selections(
    local: LocalBedrock, session: Any, mode: str
) -> None:
    hook = RunFirst(session)  # before any client of the handles below is made
    job, ids = stopped_batch(local, session)
    first = track(BatchJob.attach(job.state_uri or "", session=session, sleep=local.advance, poll=FAST))  # fmt: skip
    second = track(BatchJob.attach(job.state_uri or "", session=session, sleep=local.advance, poll=FAST))  # fmt: skip
    sent: dict[str, int] = {}

    def first_retry() -> None:
        sent["first"] = first.retry(record_ids=ids[:250], mode=mode)  # type: ignore[arg-type]

    hook.other = first_retry  # runs inside the second retry's ledger write
    sent["second"] = second.retry(record_ids=ids[150:], mode=mode)  # type: ignore[arg-type]
    assert hook.ran == 1
    assert sent == {"first": 250, "second": 150}  # the overlap is sent once, by the winner

    ledger = BatchJob.attach(job.state_uri or "", session=session).ledger
    assert ledger is not None and [a.number for a in ledger.attempts] == [0, 1, 2]
    entries = [e for a in ledger.attempts for e in (*a.jobs, a.on_demand) if e is not None]
    parts = [e.part for e in entries]
    folders = [e.input_uri for e in entries]
    assert len(set(parts)) == len(parts), parts
    assert len(set(folders)) == len(folders), folders
    targets = [a.targets for a in ledger.attempts[1:]]
    assert len(set(targets)) == 2, targets
    reader = first._parts().reader
    by_attempt = [reader.targets_of(ledger, a) for a in ledger.attempts[1:]]
    assert sorted(by_attempt[0]) == ids[:250] and sorted(by_attempt[1]) == ids[250:]

    final = second.wait(timeout=10 * 24 * 3600)  # ends
    assert final.status == "Completed"
    results = list(second.results())
    assert sorted(r.record_id for r in results) == ids
    assert all(r.status == "succeeded" and r.attempt > 0 for r in results)
    ledger = BatchJob.attach(job.state_uri or "", session=session).ledger
    assert ledger is not None
    s3 = session.client("s3")
    answered: Counter[str] = Counter()
    for attempt in ledger.attempts[1:]:  # every record answered exactly once by the retries
        for entry in attempt.jobs:
            assert entry.job_arn is not None
            answered.update(outputs_of(s3, entry.job_arn))
    if mode == "on_demand":
        calls = Counter(
            json.loads(line)["recordId"]
            for a in ledger.attempts[1:]
            if a.on_demand is not None
            for obj in s3.list_objects_v2(
                Bucket=BUCKET,
                Prefix=a.on_demand.answers_prefix().key,
            ).get("Contents", [])
            for line in s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().splitlines()
            if line.strip()
        )
        answered.update(calls)
    assert sorted(answered) == ids and set(answered.values()) == {1}, answered.most_common(3)


@pytest.mark.emulator(quotas=SMALL)
def test_two_interleaved_retries_of_the_same_records_merge(
    local: LocalBedrock, session: Any
) -> None:
    hook = RunFirst(session)
    job, ids = stopped_batch(local, session)
    first = track(BatchJob.attach(job.state_uri or "", session=session, sleep=local.advance, poll=FAST))  # fmt: skip
    second = track(BatchJob.attach(job.state_uri or "", session=session, sleep=local.advance, poll=FAST))  # fmt: skip
    sent: dict[str, int] = {}

    def first_retry() -> None:
        sent["first"] = first.retry()

    hook.other = first_retry
    sent["second"] = second.retry()
    assert hook.ran == 1 and sent == {"first": 400, "second": 0}
    ledger = BatchJob.attach(job.state_uri or "", session=session).ledger
    assert ledger is not None and [a.number for a in ledger.attempts] == [0, 1]
    assert second.wait().status == "Completed"
    assert sorted(r.record_id for r in second.results() if r.status == "succeeded") == ids
    assert len(jobs_in(local)) == 2 + 3

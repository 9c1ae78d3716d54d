"""Event-driven waiting: Bedrock's job state-change events through EventBridge and SQS."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch import PollConfig, Quotas
from bedrock_batch.events import EventQueue, JobEvent, create_event_queue, delete_event_queue
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU, job_on

SAMPLE = json.loads(
    (Path(__file__).parents[3] / "shared/samples/aws-docs_monitoring-eventbridge__batch-job-state-change_event.jsonl").read_text()
) if (Path(__file__).parents[3] / "shared/samples").exists() else None  # fmt: skip


def sample_event(name: str, arn: str, status: str) -> dict[str, Any]:
    """The docs' sample event (its exact shape), for another job and status."""
    detail = {
        "version": "0.0", "accountId": "123456789012", "batchJobName": name, "batchJobArn": arn,
        "batchModelId": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0",
        "status": status, "failureMessage": "", "creationTime": "Aug 28, 2024, 10:47:53 PM",
    }  # fmt: skip
    if SAMPLE is not None:
        assert set(detail) == set(SAMPLE["detail"])
    return {"Source": "aws.bedrock", "DetailType": "Batch Inference Job State Change", "Detail": json.dumps(detail), "Resources": [arn]}  # fmt: skip


def test_the_queue_gets_the_batch_events_and_leaves_the_others(
    local: LocalBedrock, session: Any
) -> None:
    queue = create_event_queue(
        session, "batches", job_name_prefix="bedrock-batch-", wait_seconds=0, hide_seconds=1
    )
    again = create_event_queue(session, "batches", job_name_prefix="bedrock-batch-", wait_seconds=0)
    assert again.queue_url == queue.queue_url  # idempotent
    events = session.client("events")
    mine, theirs = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/aaaaaaaaaaaa", "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/bbbbbbbbbbbb"  # fmt: skip
    events.put_events(Entries=[sample_event("bedrock-batch-x", mine, "InProgress"), sample_event("bedrock-batch-y", theirs, "Completed"), sample_event("unrelated", theirs, "Failed")])  # fmt: skip
    got = list(queue.receive({mine}))
    assert got == [JobEvent(mine, "InProgress", "bedrock-batch-x", "")]
    assert list(queue.receive()) == []  # read past: hidden for hide_seconds, not deleted
    time.sleep(1.2)
    assert [e.job_arn for e in queue.receive()] == [theirs]  # left for its own waiter, not lost
    assert (
        JobEvent.from_message("not json") is None
        and JobEvent.from_message('{"detail-type": "x"}') is None
    )
    delete_event_queue(session, queue)
    assert session.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_missed_event_never_hangs_a_wait(local: LocalBedrock, session: Any) -> None:
    """No event arrives at all: the safety poll still finishes the wait."""
    made = create_event_queue(session, "silent")
    queue = EventQueue(made.queue_url, session.client("sqs"), wait_seconds=0, safety_interval=3600)
    local.backend.faults.log.clear()
    job = job_on(local, poll=PollConfig(initial=600, max_interval=600, jitter=0))
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=20)
    job.submit()
    session.client("sqs").purge_queue(QueueUrl=queue.queue_url)  # whatever was emitted: lost
    polls_before = job.calls["GetModelInvocationJob"] + job.calls["ListModelInvocationJobs"]
    final = job.wait(events=queue)
    assert final.status == "Completed" and final.is_terminal
    polls = job.calls["GetModelInvocationJob"] + job.calls["ListModelInvocationJobs"] - polls_before
    assert 1 <= polls <= 3  # only the safety polls, one an hour of waiting


def test_a_ten_job_batch_waited_on_by_events_polls_only_for_safety() -> None:
    """Local Bedrock emits the state-change events to EventBridge; a rule routes them to the
    queue; the wait learns every transition from them. In the steady state it makes no
    Get/List calls: only the first full step and one safety poll per ``safety_interval``."""
    ten = Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=20)
    with LocalBedrock(clock="manual", quotas={HAIKU: ten}) as local:
        session = local.session()
        queue = create_event_queue(
            session, "ten-jobs", job_name_prefix="bedrock-batch-", wait_seconds=0,
            safety_interval=6 * 3600,
        )  # fmt: skip
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            local.advance(seconds)

        job = job_on(
            local, quotas=ten, sleep=sleep, poll=PollConfig(initial=10, max_interval=10, jitter=0)
        )
        for i in range(1000):
            job.add_prompt(f"q{i}", max_tokens=20)
        job.submit()
        assert len(job.job_arns) == 10
        before = job.calls["GetModelInvocationJob"] + job.calls["ListModelInvocationJobs"]
        final = job.wait(events=queue)
        polls = job.calls["GetModelInvocationJob"] + job.calls["ListModelInvocationJobs"] - before
        assert final.status == "Completed" and final.is_terminal
        assert len(sleeps) > 10  # many ten-second steps went by, each answered from the queue
        assert sum(sleeps) < queue.safety_interval  # the end was learned from an event
        assert polls == 1, (polls, len(sleeps))  # the first full step only
        assert job.summary().succeeded == 1000
        delete_event_queue(session, queue)


@pytest.mark.emulator(clock=None, time_scale=100)  # a job takes about 2.5 s
def test_two_waiters_share_one_queue_behind_ten_stale_messages(
    local: LocalBedrock, session: Any
) -> None:
    """One queue for the account: ten messages of an old job sit at its head, and two batches
    wait on it at once (real threads, real time). Each learns its end from its own events,
    far before the safety poll; no other batch's message is deleted."""
    made = create_event_queue(session, "account-queue")
    stale = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/stale0000000"
    events = session.client("events")
    for status in ["Submitted", "Validating", "Scheduled", "InProgress", "Completed"] * 2:
        events.put_events(Entries=[sample_event("bedrock-batch-old", stale, status)])
    jobs = [job_on(local, sleep=time.sleep, poll=PollConfig(initial=0.2, max_interval=0.5, jitter=0)) for _ in range(2)]  # fmt: skip
    for n, job in enumerate(jobs):
        for i in range(100):
            job.add_prompt(f"batch {n} question {i}", max_tokens=20)
        assert not job.submit().is_terminal  # the premise: each waiter has a job to wait for
    safety = 30.0
    outcome: dict[int, tuple[str, float, int]] = {}

    def waiter(n: int) -> None:
        job = jobs[n]
        queue = EventQueue(made.queue_url, local.session().client("sqs"), wait_seconds=1, safety_interval=safety, hide_seconds=2)  # fmt: skip
        before = job.calls["GetModelInvocationJob"] + job.calls["ListModelInvocationJobs"]
        start = time.monotonic()
        final = job.wait(events=queue)
        polls = job.calls["GetModelInvocationJob"] + job.calls["ListModelInvocationJobs"] - before
        outcome[n] = (final.status, time.monotonic() - start, polls)

    threads = [threading.Thread(target=waiter, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * safety)
    for n in range(2):
        status, _, polls = outcome[n]
        assert status == "Completed"
        assert polls == 1, outcome  # the first full step only: learned from its events
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=made.queue_url, AttributeNames=["All"]
    )["Attributes"]
    left = int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
    assert left >= 10  # the old job's messages are all still there for whoever needs them

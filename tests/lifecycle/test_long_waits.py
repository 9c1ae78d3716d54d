"""Long waits: 10,000 polls in one phase on a fake clock, for the pacer (adaptive and plain
pacing, the backoff) and for the blocking, asyncio and event-driven waits.

A job routinely stays InProgress for most of its 24-hour timeout; the pauses between polls
double within a phase up to ``max_interval``, and computing ``initial * 2.0 ** polls`` before
capping it overflowed after about 1,040 polls (17 hours at the 60 s cap). The jobs here stay
InProgress through Local Bedrock's ``stall`` fault, on its manual clock (each sleep moves it),
until the test stops them from outside after 10,000 polls; nothing really sleeps.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import tenacity

from bedrock_batch import BatchJob, JobStoppedError, PollConfig
from bedrock_batch._lifecycle._polling import Pacer, backoff
from bedrock_batch.aio import AsyncBatchJob
from bedrock_batch.events import EventQueue, create_event_queue
from bedrock_batch.local import JobFault, LocalBedrock

from ..conftest import BUCKET, create_job, job_on, put_records, track

#: Polls in one phase: ten times the ~1,040 after which the old pacer overflowed.
POLLS = 10_000
#: Polls in one phase for the whole waits (blocking, asyncio, events), each a real call to
#: Local Bedrock (~3-7 ms): in the suite, past the old overflow (~1,040) with margin, so it stays
#: fast; ``BEDROCK_BATCH_LONG_WAIT_POLLS=10000`` runs the issue's ten thousand (a minute or more
#: per wait; run before a release). The pacer itself is driven through POLLS above.
WAIT_POLLS = int(os.environ.get("BEDROCK_BATCH_LONG_WAIT_POLLS", "1500"))
#: The library's pacing, without the overall deadline (a stalled job is waited on for ever).
CONFIG = PollConfig(timeout=None)


@attrs.frozen
class Status:
    """What the pacer reads of a poll's answer."""

    status: str
    total_records: int | None = None
    processed_records: int | None = None


@pytest.fixture
def anyio_backend() -> str:
    """anyio's pytest plugin runs the asyncio test on asyncio (the API is asyncio's)."""
    return "asyncio"


# -- the pacer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [Status("InProgress", 100, 40), Status("Scheduled"), None],
    ids=["in-progress-without-progress", "scheduled", "failed-polls"],
)
def test_adaptive_pacer_stays_at_its_cap_for_ten_thousand_polls(status: Status | None) -> None:
    pacer = Pacer(CONFIG)
    if status is None:  # failed polls keep the phase the last answer started
        pacer.next(Status("Validating"))
    pauses = [pacer.next(status) for _ in range(POLLS)]
    assert all(CONFIG.initial <= p <= CONFIG.max_interval for p in pauses)
    assert pauses[-POLLS // 2 :] == [CONFIG.max_interval] * (POLLS // 2)
    assert pacer.next(Status("Completed")) <= CONFIG.initial + CONFIG.jitter  # a new phase


def test_plain_pacer_stays_at_its_cap_for_ten_thousand_polls() -> None:
    config = attrs.evolve(CONFIG, adaptive=False, jitter=0.0)
    pacer = Pacer(config)
    pauses = [pacer.next(Status("InProgress", 100, 40)) for _ in range(POLLS)]
    assert pauses[:3] == [config.initial, 2 * config.initial, 4 * config.initial]
    assert pauses[-POLLS // 2 :] == [config.max_interval] * (POLLS // 2)


def test_backoff_stays_at_its_cap_for_ten_thousand_attempts() -> None:
    slept: list[float] = []
    answers: Iterator[bool] = iter([True] * POLLS + [False])
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(bool),
        wait=backoff(0.5, 60.0, 0.5),
        stop=tenacity.stop_after_attempt(POLLS + 1),
        sleep=slept.append,
    )
    assert retrying(lambda: next(answers)) is False
    assert len(slept) == POLLS
    assert all(0.5 <= s <= 60.0 for s in slept) and slept[-POLLS // 2 :] == [60.0] * (POLLS // 2)


# -- the waits -------------------------------------------------------------------------------


def stalled(local: LocalBedrock) -> str:
    """A job made outside the library (120 records) that stays InProgress: Local Bedrock's
    stall fault. Waiting on it by ARN costs one GetModelInvocationJob a poll."""
    session = local.session()
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    put_records(s3, 120)
    local.backend.faults.jobs.append(JobFault("stall", at_fraction=0.5))
    return create_job(session.client("bedrock"))


def stalled_batch(local: LocalBedrock, **kwargs: Any) -> BatchJob:
    """A submitted one-job batch of the library whose job stays InProgress."""
    local.backend.faults.jobs.append(JobFault("stall", at_fraction=0.5))
    job = job_on(local, poll=CONFIG, **kwargs)
    for i in range(120):
        job.add_prompt(f"question {i}", max_tokens=20)
    job.submit()
    assert len(job.job_arns) == 1
    return job


class StopAfter:
    """A wait callback that counts the polls that saw InProgress and, after ``WAIT_POLLS`` of them,
    stops the job from outside (as a console user would): the wait must then end Stopped."""

    def __init__(self, local: LocalBedrock, arn: str) -> None:
        self.bedrock = local.session().client("bedrock")
        self.arn = arn
        self.in_progress = 0
        self.statuses: set[str] = set()

    def __call__(self, status: Any) -> None:
        self.statuses.add(status.status)
        if status.status != "InProgress":
            return
        self.in_progress += 1
        if self.in_progress == WAIT_POLLS:
            self.bedrock.stop_model_invocation_job(jobIdentifier=self.arn)


def check_long_wait(stop: StopAfter, slept: list[float]) -> None:
    assert stop.in_progress == WAIT_POLLS and "Stopped" in stop.statuses
    # the pauses reached the cap and stayed there: ~1,500 minutes of emulated waiting
    assert max(slept) == CONFIG.max_interval
    assert sum(slept) > 0.9 * WAIT_POLLS * CONFIG.max_interval


@pytest.mark.slow
def test_blocking_wait_polls_ten_thousand_times_in_one_phase() -> None:
    with LocalBedrock(clock="manual") as local:
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            local.advance(seconds)

        arn = stalled(local)
        job = track(BatchJob.attach(arn, session=local.session(), sleep=sleep, poll=CONFIG))
        stop = StopAfter(local, arn)
        with pytest.raises(JobStoppedError):
            job.wait(callback=stop)
        check_long_wait(stop, slept)


@pytest.mark.slow
@pytest.mark.anyio
async def test_asyncio_wait_polls_ten_thousand_times_in_one_phase() -> None:
    with LocalBedrock(clock="manual") as local:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            local.advance(seconds)
            await asyncio.sleep(0)

        arn = stalled(local)
        ajob = await AsyncBatchJob.attach(arn, session=local.session(), sleep=sleep, poll=CONFIG)
        track(ajob.job)
        stop = StopAfter(local, arn)
        with pytest.raises(JobStoppedError):
            await ajob.wait(callback=stop)
        check_long_wait(stop, slept)


@pytest.mark.slow
def test_event_driven_wait_polls_ten_thousand_times_in_one_phase() -> None:
    with LocalBedrock(clock="manual") as local:
        session = local.session()
        made = create_event_queue(session, "long-wait", wait_seconds=0)
        # a safety poll every 100 minutes: most steps only read the (empty) queue
        queue = EventQueue(made.queue_url, session.client("sqs"), wait_seconds=0, safety_interval=6000)  # fmt: skip
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            local.advance(seconds)

        job = stalled_batch(local, sleep=sleep)
        stop = StopAfter(local, job.job_arns[0])
        with pytest.raises(JobStoppedError):
            job.wait(callback=stop, events=queue)
        check_long_wait(stop, slept)
        assert queue.received >= 1  # the stop's state changes came as events

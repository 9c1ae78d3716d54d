"""The asyncio API against Local Bedrock: the blocking job's lifecycle, awaited, with waits on
asyncio sleeps that hold no thread, and cancellation that leaves the batch whole."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bedrock_batch import (
    BatchJob,
    JobFailedError,
    JobStoppedError,
    PollConfig,
    PollTimeoutError,
    Quotas,
    StateError,
)
from bedrock_batch.aio import AsyncBatchJob
from bedrock_batch.local import Faults, JobFault, LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, job_on, track

SMALL = Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=2)
POLL = PollConfig(initial=30, max_interval=600, jitter=0)


@pytest.fixture
def anyio_backend() -> str:
    """anyio's pytest plugin runs these tests on asyncio (the API is asyncio's)."""
    return "asyncio"


def advancing(
    local: LocalBedrock, log: list[float] | None = None
) -> Callable[[float], Awaitable[None]]:
    """An async sleep that moves the emulated clock instead (and yields to the loop)."""

    async def sleep(seconds: float) -> None:
        if log is not None:
            log.append(seconds)
        local.advance(seconds)
        await asyncio.sleep(0)

    return sleep


def async_job(local: LocalBedrock, n: int, **kwargs: Any) -> AsyncBatchJob:
    executor = kwargs.pop("executor", None)
    sleep = kwargs.pop("sleep", None) or advancing(local)
    kwargs.setdefault("poll", POLL)
    job = job_on(local, **kwargs)
    for i in range(n):
        job.add_prompt(f"question {i}", max_tokens=80, key={"row": i})
    return AsyncBatchJob.wrap(job, executor=executor, sleep=sleep)


@pytest.mark.anyio
async def test_lifecycle_awaited_gives_the_blocking_results() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}) as local:
        ajob = async_job(local, 300)
        plan = await ajob.plan()
        assert [p.records for p in plan.parts] == [100, 100, 100]
        status = await ajob.submit()
        assert len(status.jobs) == 2 and status.pending == 1  # the quota: two at a time
        seen: list[str] = []

        async def on_status(s: Any) -> None:  # a coroutine callback is awaited
            seen.append(s.status)

        final = await ajob.wait(callback=on_status)
        assert final.status == "Completed" and len(final.jobs) == 3 and seen[-1] == "Completed"
        assert (await ajob.describe()).is_terminal
        streamed = [r async for r in ajob.results(chunk_size=7)]
        blocking = list(ajob.job.results())
        assert streamed == blocking
        assert len({r.record_id for r in streamed}) == 300
        assert {r.key["row"] for r in streamed} == set(range(300))
        summary = await ajob.summary()
        assert summary.succeeded == 300 and summary.consistent
        await ajob.aclose()


@pytest.mark.anyio
async def test_wait_polls_at_the_pace_of_the_blocking_wait() -> None:
    """The same PollConfig gives the same pauses as BatchJob.wait, on the same batch."""
    config = PollConfig(initial=20, max_interval=300, jitter=0)
    blocking: list[float] = []
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}) as local:
        job = job_on(local, poll=config, sleep=lambda s: (blocking.append(s), local.advance(s)))
        for i in range(250):
            job.add_prompt(f"question {i}", max_tokens=80, key={"row": i})
        job.submit()
        blocking_final = job.wait()
    awaited: list[float] = []
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}) as local:
        ajob = async_job(local, 250, poll=config, sleep=advancing(local, awaited))
        await ajob.submit()
        final = await ajob.wait()
        await ajob.aclose()
    assert awaited == blocking and len(awaited) >= 5
    assert max(awaited) == 300 and awaited[:4] == [20, 40, 80, 160]
    assert final.status == blocking_final.status == "Completed"


@pytest.mark.anyio
async def test_timeout_is_a_deadline_and_the_job_keeps_running() -> None:
    with LocalBedrock(clock="manual", faults=Faults(jobs=[JobFault("stall")])) as local:
        pauses: list[float] = []
        ajob = async_job(local, 120, sleep=advancing(local, pauses))
        await ajob.submit()
        with pytest.raises(PollTimeoutError, match="attach") as info:
            await ajob.wait(timeout=1000)
        assert info.value.status == "InProgress" and info.value.waited == 1000
        assert sum(pauses) == 1000 and pauses[-1] == 1000 - sum(pauses[:-1])  # cut to the deadline
        assert (await ajob.describe()).status == "InProgress"
        await ajob.aclose()


@pytest.mark.anyio
async def test_failures_raise_the_blocking_errors() -> None:
    faults = Faults(jobs=[JobFault("fail_validation", message="no access")])
    with LocalBedrock(clock="manual", faults=faults) as local:
        ajob = async_job(local, 120)
        with pytest.raises(StateError, match="not been submitted"):
            await ajob.wait()
        await ajob.submit()
        with pytest.raises(JobFailedError, match="no access"):
            await ajob.wait()
        status = await ajob.wait(raise_on_failure=False)
        assert status.status == "Failed" and status.failures
        assert {r.status async for r in ajob.results()} == {"missing"}
        await ajob.aclose()


@pytest.mark.anyio
async def test_stop_then_retry_then_everything_succeeds() -> None:
    with LocalBedrock(
        clock="manual", faults=Faults(jobs=[JobFault("stall", at_fraction=0.5)])
    ) as local:
        ajob = async_job(local, 200)
        await ajob.submit()
        local.advance(hours=1)
        assert await ajob.stop() == ajob.job_arns
        with pytest.raises(JobStoppedError):
            await ajob.wait()
        assert await ajob.retry() == 100
        assert (await ajob.wait()).status == "Completed"
        results = await ajob.results().to_list()
        assert len(results) == 200 and {r.status for r in results} == {"succeeded"}
        assert {r.attempt for r in results} == {0, 1}
        await ajob.aclose()


@pytest.mark.anyio
async def test_cancelled_wait_leaves_the_jobs_running_and_the_ledger_whole() -> None:
    """Cancel while a poll is inside CreateModelInvocationJob (its thread cannot be stopped):
    the cancellation is prompt, the create finishes, and a new handle finishes the batch with
    no job created twice."""
    quotas = Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=1)
    with LocalBedrock(clock="manual", quotas={HAIKU: quotas}) as local:
        ajob = async_job(local, 300)
        await ajob.submit()  # one job created, two waiting for the slot
        entered, release = threading.Event(), threading.Event()

        def hold(**_: Any) -> None:
            entered.set()
            assert release.wait(30)

        session = ajob.job._clients.bedrock.meta.events
        session.register("before-call.bedrock.CreateModelInvocationJob", hold)
        task = asyncio.create_task(ajob.wait())
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, entered.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not release.is_set()  # cancelled while the create was still held in its thread
        release.set()
        session.unregister("before-call.bedrock.CreateModelInvocationJob", hold)
        handle = ajob.state_uri
        assert handle is not None
        await ajob.aclose()  # returns once the create in flight has finished

        other = await AsyncBatchJob.attach(
            handle, session=local.session(), sleep=advancing(local), poll=POLL
        )
        final = await other.wait()
        assert final.status == "Completed" and len(final.jobs) == 3
        listed = local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"]
        assert len(listed) == 3  # no job created twice
        assert other.ledger is not None
        assert [j.phase for _, j in other.ledger.jobs()] == ["created"] * 3
        results = await other.results().to_list()
        assert sorted(r.key["row"] for r in results) == list(range(300))
        await other.aclose()


@pytest.mark.anyio
async def test_results_stream_at_most_a_chunk_ahead() -> None:
    with LocalBedrock(clock="manual") as local:
        ajob = async_job(local, 150)
        await ajob.submit()
        await ajob.wait()
        results = ajob.results(chunk_size=10)
        read = []
        async for r in results:
            read.append(r)
            # the reader thread has produced this chunk and at most the next one
            assert sum(results.counts.values()) <= 10 * (len(read) // 10 + 2)
            if len(read) == 25:
                break
        assert sum(results.counts.values()) <= 40
        again = [r.record_id async for r in results]  # a fresh pass
        assert len(again) == len(set(again)) == 150
        assert results.counts == {"succeeded": 150, "errored": 0, "missing": 0}
        assert await results.history(again[0]) == [r for r in read if r.record_id == again[0]]
        await ajob.aclose()


@pytest.mark.anyio
async def test_waits_hold_no_thread_between_polls() -> None:
    """Two batches waited at once through ONE worker thread, each pause ending only once the
    other batch has polled as often: a wait that kept its thread while pausing would deadlock."""
    turns = {"a": 0, "b": 0}
    finished: set[str] = set()
    with ThreadPoolExecutor(max_workers=1) as pool, LocalBedrock(clock="manual") as local:

        def sleeper(me: str, other: str) -> Callable[[float], Awaitable[None]]:
            async def sleep(seconds: float) -> None:
                turns[me] += 1
                local.advance(seconds)
                while other not in finished and turns[other] < turns[me]:
                    await asyncio.sleep(0.005)

            return sleep

        jobs = {
            name: async_job(local, 120 + 10 * i, executor=pool, sleep=sleeper(name, other))
            for i, (name, other) in enumerate([("a", "b"), ("b", "a")])
        }

        async def wait(name: str) -> Any:
            try:
                return await jobs[name].wait()
            finally:
                finished.add(name)

        for ajob in jobs.values():
            await ajob.submit()
        finals = await asyncio.wait_for(asyncio.gather(wait("a"), wait("b")), timeout=60)
        assert [f.status for f in finals] == ["Completed", "Completed"]
        assert min(turns.values()) >= 2  # they really took turns
        counts = [len(await j.results().to_list()) for j in jobs.values()]
        assert counts == [120, 130]
        for ajob in jobs.values():
            await ajob.aclose()


@pytest.mark.anyio
async def test_constructor_and_attach_by_arn() -> None:
    with LocalBedrock(clock="manual") as local:
        session = local.session()
        session.client("s3").create_bucket(Bucket=BUCKET)
        async with AsyncBatchJob(
            HAIKU,
            ROLE,
            f"s3://{BUCKET}/in/",
            f"s3://{BUCKET}/out/",
            session=session,
            poll=POLL,
            sleep=advancing(local),
        ) as ajob:
            track(ajob.job)
            ids = [ajob.add_prompt(f"q{i}", max_tokens=50) for i in range(110)]
            ajob.add({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                      "messages": [{"role": "user", "content": "hi"}]}, record_id="custom-1")  # fmt: skip
            assert len(ajob) == 111 and "111 records" in repr(ajob)
            await ajob.submit()
            assert ajob.job_arn is not None
        again = await AsyncBatchJob.attach(
            ajob.job_arn, session=session, sleep=advancing(local), poll=POLL
        )
        track(again.job)
        assert isinstance(again.job, BatchJob) and again.job_arns == ajob.job_arns
        await again.wait()
        table = await again.results().to_arrow()
        assert sorted(table.column("record_id").to_pylist()) == sorted([*ids, "custom-1"])
        await again.aclose()

"""``Results.partitions()`` and ``bedrock_batch.dask.read_results`` of batches with records
answered without being sent (``dedupe=True`` twins, ``reuse=`` answers): every record exactly
once across the partitions, with the rows and Arrow columns of the single-process reader."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from bedrock_batch import BatchJob, PollConfig, Quotas, Result, Results
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, track
from .test_reuse import CACHE, Sent

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")
pytest.importorskip("dask.dataframe")

from bedrock_batch.dask import read_results  # noqa: E402

QUOTAS = Quotas(min_records_per_job=5, max_records_per_job=1000, max_concurrent_jobs=4)
pytestmark = pytest.mark.emulator(quotas={HAIKU: QUOTAS})


def batch(local: LocalBedrock, session: Any, bodies: list[int], *, inputs: str = "in", **kwargs: Any) -> BatchJob:  # fmt: skip
    """Records asking ``question {body}``, several input files (3 records each), some ids of
    the caller's own."""
    job = track(
        BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/{inputs}/", f"s3://{BUCKET}/out/", session=session,
            sleep=local.advance, poll=PollConfig(initial=30, max_interval=600, jitter=0),
            quotas=QUOTAS, max_records_per_file=3, **kwargs,
        )
    )  # fmt: skip
    for n, b in enumerate(bodies):
        rid = f"doc-{n}" if n % 5 == 4 else None
        job.add_prompt(f"question {b}", max_tokens=30, key={"n": n, "body": b}, record_id=rid)
    return job


def row(r: Result) -> tuple[Any, ...]:
    return (r.record_id, r.key, r.status, r.model_output, r.error, r.job_arn, r.source, r.attempt, r.usage, r.reused_from)  # fmt: skip


def assert_like_single_process(results: Results, total: int) -> None:
    parts = [pickle.loads(pickle.dumps(p)) for p in results.partitions()]  # as a cluster ships them
    parallel: list[Result] = []
    for part in parts:
        got = list(part.results())
        assert len(got) == len(part)  # a partition knows its row count before reading
        parallel += got
    single = list(results)
    ids = [r.record_id for r in parallel]
    assert len(ids) == len(set(ids)) == len(single) == total  # every record exactly once
    assert sorted(map(row, parallel), key=repr) == sorted(map(row, single), key=repr)
    table = pa.concat_tables([p.to_arrow() for p in parts]).sort_by("record_id")
    assert table.equals(results.to_arrow().sort_by("record_id"))  # columns and types too
    frame = read_results(results).compute(scheduler="sync")
    assert sorted(frame["record_id"]) == sorted(ids)
    single_frame = results.to_arrow().to_pandas(types_mapper=pd.ArrowDtype)
    assert dict(frame.dtypes) == dict(single_frame.dtypes)


BODIES = [n % 7 for n in range(30)]  # 30 records, 7 distinct bodies


def test_deduplicated_records_come_back_once_from_the_partitions(local: LocalBedrock, session: Any) -> None:  # fmt: skip
    job = batch(local, session, BODIES, dedupe=True)
    job.submit()
    job.wait()
    results = job.results()
    assert len(results.partitions()) == 3  # 7 records sent, 3 a file: the twins go with them
    assert_like_single_process(results, 30)


@pytest.mark.emulator(quotas={HAIKU: QUOTAS}, faults=Faults(record_error_ids={"R0000000001"}))
def test_twins_of_a_retried_record_follow_the_retry(local: LocalBedrock, session: Any) -> None:
    job = batch(local, session, BODIES, dedupe=True)
    job.submit()
    job.wait(raise_on_failure=False)
    assert_like_single_process(job.results(), 30)  # the error fanned out, in the partitions too
    assert job.retry(include_non_retryable=True) == 1
    job.wait()
    results = job.results()
    assert all(r.status == "succeeded" for r in results)
    assert_like_single_process(results, 30)
    assert {r.attempt for r in results if r.key["body"] == 1} == {1}


def test_reused_and_deduplicated_records_come_back_once(local: LocalBedrock, session: Any) -> None:
    first = batch(local, session, list(range(12)), reuse=CACHE)
    first.submit()
    first.wait()
    second = batch(local, session, [n % 16 for n in range(8, 40)], inputs="in2", reuse=CACHE, dedupe=True)  # fmt: skip
    plan = second.plan()
    assert (plan.records, plan.reused, plan.deduplicated) == (4, 24, 4)  # 12-15 new, each twice
    second.submit()
    second.wait()
    results = second.results()
    assert sum(1 for r in results if r.reused_from) == 24  # 0-11, each asked twice
    assert_like_single_process(results, 32)
    with BatchJob.attach(str(second.state_uri), session=session) as attached:
        assert_like_single_process(attached.results(), 32)


def test_a_batch_answered_entirely_from_the_cache(local: LocalBedrock, session: Any) -> None:
    first = batch(local, session, list(range(10)), reuse=CACHE)
    first.submit()
    first.wait()
    sent = Sent(session)
    jobs = sent.jobs()
    again = batch(local, session, [9 - n for n in range(10)], inputs="in2", reuse=CACHE)
    again.submit()
    again.wait()
    assert sent.jobs() == jobs
    assert_like_single_process(again.results(), 10)
    history = again.results().history("R0000000003")  # a reused record: its copy, once
    assert len(history) == 1 and history[0].reused_from is not None

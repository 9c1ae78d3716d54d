"""The lifecycle part on its own: jobs created within the concurrency quota, and an announced
create whose answer was lost, against real boto3 clients on Local Bedrock with S3 from moto."""

from __future__ import annotations

from typing import Any

from bedrock_batch import BatchJob
from bedrock_batch._batch._quotas import Quotas
from bedrock_batch._batch._sharding import Shard
from bedrock_batch._batch._spec import JobSpec
from bedrock_batch._common._codec import encode_line
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._ledger._ledger import Attempt, JobEntry, Ledger
from bedrock_batch._ledger._ledgerstore import LedgerStore
from bedrock_batch._lifecycle._lifecycle import Lifecycle
from bedrock_batch._lifecycle._ondemand import OnDemandRunner
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, claude_body, job_factory, track

SPEC = JobSpec(HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/")


def _ledger(n_jobs: int, quotas: Quotas) -> Ledger:
    jobs = tuple(
        JobEntry(
            f"p{i:03d}",
            f"life-p{i:03d}",
            f"tok{i}",
            f"s3://{BUCKET}/in/life/runs/p{i:03d}/",
            100,
            1,
            (Shard(0, i * 100, (i + 1) * 100, 1),),
            "uploaded",
        )
        for i in range(n_jobs)
    )
    return Ledger("life", "id", SPEC, "batch", quotas, "override", 100 * n_jobs, 1, (Attempt(0, 100 * n_jobs, None, jobs),))  # fmt: skip


def _put_inputs(session: Any, n_jobs: int) -> None:
    s3 = session.client("s3")
    for i in range(n_jobs):
        lines = b"".join(encode_line({"recordId": f"R{i}-{k}", "modelInput": claude_body(f"q{k}", 20)}) for k in range(100))  # fmt: skip
        s3.put_object(Bucket=BUCKET, Key=f"in/life/runs/p{i:03d}/part-00000.jsonl", Body=lines)


def _lifecycle(session: Any, ledger: Ledger) -> Lifecycle:
    from collections import Counter

    s3 = S3Access(session.client("s3"))
    store = LedgerStore(s3, S3Uri.parse(f"s3://{BUCKET}/in/life/bedrock-batch.json"))
    store.create(ledger)
    runner = OnDemandRunner(
        lambda: session.client("bedrock-runtime"), s3, model_id=HAIKU, converse=False
    )
    return Lifecycle(session.client("bedrock"), store, runner, calls=Counter())


def test_jobs_are_created_within_the_concurrency_quota(local: LocalBedrock, session: Any) -> None:
    _put_inputs(session, 3)
    life = _lifecycle(session, _ledger(3, Quotas(max_concurrent_jobs=2)))
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 2 and len(life.last) == 2
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 2  # no slot yet
    local.advance(hours=2)
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 3
    assert [j.phase for _, j in life.ledger.refresh().jobs()] == ["created"] * 3


def test_an_announced_create_whose_answer_was_lost_is_found_not_repeated(
    local: LocalBedrock, session: Any
) -> None:
    _put_inputs(session, 1)
    ledger = _ledger(1, Quotas())
    life = _lifecycle(session, ledger)
    job = ledger.find_job("p000")
    life.ledger.transition(lambda lg: lg.with_job("p000", phase="creating"))
    request = ledger.spec.request(job.name, job.input_uri, job.token)
    arn = session.client("bedrock").create_model_invocation_job(**request)["jobArn"]
    # ... and the process died before recording the ARN; Bedrock's idempotency window may be over.
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 0 and life.ledger.ledger is not None
    assert life.ledger.ledger.find_job("p000").job_arn == arn


def _two_jobs_one_at_a_time(local: LocalBedrock, session: Any, **kwargs: Any) -> BatchJob:
    """A submitted batch of two jobs created one at a time: its first job exists, a step of
    the wait creates the second."""
    job = job_factory(local, session)(
        quotas=Quotas(min_records_per_job=100, max_records_per_job=100, max_concurrent_jobs=1),
        **kwargs,
    )
    job.add_records(
        {"recordId": f"r{i:03d}", "modelInput": claude_body(f"question {i}")} for i in range(200)
    )
    job.submit()
    assert job.state_uri is not None and job.calls["CreateModelInvocationJob"] == 1
    return job


def test_a_wait_reads_the_ledger_once_a_step(local: LocalBedrock, session: Any) -> None:
    """Each step of a wait reads the batch's ledger once (the upload's read); the creates and
    the poll of that step act on it, each create still announced by a conditional write."""
    reads: list[str] = []  # the keys the job's S3 client reads
    session.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **_: reads.append(params["Key"])
    )
    job = _two_jobs_one_at_a_time(local, session)
    ledger_key = S3Uri.parse(job.state_uri or "").key
    steps: list[float] = []
    sleep = job.sleep
    job.sleep = lambda seconds: (steps.append(seconds), sleep(seconds))[1]
    reads.clear()
    assert job.wait().status == "Completed"
    listed = local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"]
    assert len(listed) == 2
    ledger_reads = reads.count(ledger_key)
    # one read a step (a step after each sleep, and the first), none of the other parts' own
    assert 2 <= ledger_reads <= len(steps) + 1, (ledger_reads, len(steps))


def test_a_stop_stored_after_the_steps_read_prevents_its_create(
    local: LocalBedrock, session: Any
) -> None:
    """Another handle stops the batch just after a step read the ledger and before that step
    creates the next job: the create's conditional write fails, the ledger is read again, and
    nothing is created."""
    s3 = session.client("s3")
    job = _two_jobs_one_at_a_time(local, session, s3_client=s3)
    local.advance(hours=2)  # the first job ends: the wait's first step would create the second
    ledger_key = S3Uri.parse(job.state_uri or "").key
    read = {"ledger": False, "stopped": False}

    def reading(params: dict[str, Any], **_: Any) -> None:
        read["ledger"] = params["Key"] == ledger_key

    def after_read(**_: Any) -> None:
        if read["ledger"] and not read["stopped"]:
            read["stopped"] = True
            other = track(BatchJob.attach(job.state_uri or "", session=session))
            other.stop()

    s3.meta.events.register("before-parameter-build.s3.GetObject", reading)
    s3.meta.events.register("after-call.s3.GetObject", after_read)
    final = job.wait(raise_on_failure=False)
    assert read["stopped"]
    assert final.status == "Stopped"
    assert job.calls["CreateModelInvocationJob"] == 1
    listed = local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"]
    assert len(listed) == 1
    assert job.ledger is not None and job.ledger.find_job("p001").phase == "cancelled"

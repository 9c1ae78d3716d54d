"""The promises off the happy path (issue 8's problems 1-8): every record comes back exactly once,
no work is paid for twice, and a stop is a stop — after stops, crashes, lost writes, races,
failed jobs and cosmetic differences."""

from __future__ import annotations

import json
import threading
from typing import Any

import botocore.exceptions
import pytest
from botocore.config import Config

from bedrock_batch import (
    BatchJob,
    JobFailedError,
    LedgerError,
    PollConfig,
    Quotas,
    ServiceError,
    StateError,
)
from bedrock_batch.local import Faults, JobFault, LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, track
from ..support import RuntimeCalls, S3Faults, SerialS3

FAST = PollConfig(initial=30, max_interval=600, jitter=0)


def new(local: LocalBedrock, session: Any, n: int = 0, **kwargs: Any) -> BatchJob:
    model = kwargs.pop("model_id", HAIKU)
    input_uri = kwargs.pop("input_uri", f"s3://{BUCKET}/in/")
    output_uri = kwargs.pop("output_uri", f"s3://{BUCKET}/out/")
    kwargs.setdefault("sleep", local.advance)
    kwargs.setdefault("poll", FAST)
    job = track(BatchJob(model, ROLE, input_uri, output_uri, session=session, **kwargs))
    for i in range(n):
        job.add_prompt(f"question {i}", max_tokens=60, key=i)
    return job


def jobs_in(local: LocalBedrock) -> list[dict[str, Any]]:
    return list(local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"])


def exactly_once(job: BatchJob, n: int) -> list[Any]:
    results = list(job.results())
    assert sorted(r.key for r in results) == list(range(n))
    assert len({r.record_id for r in results}) == n
    return results


# -- 1. records lost after stop() --------------------------------------------------------------


@pytest.mark.emulator(
    quotas={HAIKU: Quotas(min_records_per_job=50, max_records_per_job=150, max_concurrent_jobs=2)}
)
def test_stop_with_jobs_waiting_then_retry_brings_every_record_back(
    local: LocalBedrock, session: Any
) -> None:
    job = new(local, session, 600)
    status = job.submit()
    assert len(status.jobs) == 2 and status.pending == 2
    job.stop()
    assert job.wait(raise_on_failure=False).status == "Stopped"
    assert len(jobs_in(local)) == 2  # the two waiting jobs were never created
    assert job.retry() == 600
    assert job.wait().status == "Completed"
    results = exactly_once(job, 600)
    assert all(r.status == "succeeded" for r in results)
    assert job.retry() == 0
    assert len(jobs_in(local)) == 2 + 4


@pytest.mark.emulator(faults=Faults(jobs=[JobFault("fail_late")]))
@pytest.mark.parametrize("mode", ["auto", "on_demand"])
def test_retry_refuses_clearly_when_the_inputs_are_gone(
    local: LocalBedrock, session: Any, mode: str
) -> None:
    job = new(local, session, 120)
    job.submit()
    with pytest.raises(JobFailedError):
        job.wait()
    s3 = session.client("s3")
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="in/")["Contents"]:
        if "/runs/p000/part-" in obj["Key"]:
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])  # a lifecycle rule removed them
    other = BatchJob.attach(job.job_arn or "", session=session, sleep=local.advance, poll=FAST)
    with pytest.raises(StateError, match="is gone"):
        other.retry(mode=mode)  # type: ignore[arg-type]
    ledger = BatchJob.attach(job.job_arn or "", session=session).ledger
    assert ledger is not None and len(ledger.attempts) == 1  # nothing recorded, nothing paid
    assert len(jobs_in(local)) == 1


# -- 2. a resumed small retry runs exactly its own records ---------------------------------------


@pytest.mark.emulator(faults=Faults(record_error_ids={"R0000000003", "R0000000007"}))
def test_interrupted_small_retry_resumes_with_the_errored_records(
    local: LocalBedrock, session: Any
) -> None:
    calls = RuntimeCalls(session)
    faults = S3Faults(session)
    job = new(local, session, 120)
    job.submit()
    job.wait()
    faults.fail("PutObject", when=lambda p: "/runs/a01od/part-" in p["Key"], code="AccessDenied", status=403)  # fmt: skip
    with pytest.raises(ServiceError, match="AccessDenied"):
        job.retry(include_non_retryable=True)  # their 400s are not retryable: sent on request
    faults.clear()
    assert calls.total == 0
    resumed = BatchJob.attach(job.state_uri or "", session=session, sleep=local.advance, poll=FAST)
    resumed.wait()
    assert dict(calls.by_prompt) == {"question 3": 1, "question 7": 1}
    assert all(r.status == "succeeded" for r in exactly_once(resumed, 120))


# -- 3. nothing is created after a stop from another process -------------------------------------


@pytest.mark.emulator(
    quotas={HAIKU: Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=2)}
)
def test_a_stop_from_another_process_is_honoured_by_a_waiting_process(
    local: LocalBedrock, session: Any
) -> None:
    waiting = new(local, session, 600)
    assert waiting.submit().pending == 4
    other = BatchJob.attach(waiting.job_arn or "", session=session)
    seen: list[int] = []

    def stop_once(status: Any) -> None:
        if not seen:
            seen.append(len(jobs_in(local)))
            other.stop()

    final = waiting.wait(callback=stop_once, raise_on_failure=False)
    assert len(jobs_in(local)) == seen[0] == 2
    assert final.is_terminal and final.pending == 0 and final.status == "Stopped"


# -- 5. the ledger in S3 never falls behind ------------------------------------------------------


def test_a_lost_ledger_write_after_create_is_written_again(
    local: LocalBedrock, session: Any
) -> None:
    faults = S3Faults(session)
    armed: list[bool] = []
    session.events.register(
        "after-call.bedrock.CreateModelInvocationJob", lambda **_: armed.append(True)
    )
    faults.fail("PutObject", when=lambda p: bool(armed) and p["Key"].endswith("bedrock-batch.json"))
    job = new(local, session, 120)
    with pytest.raises(ServiceError, match="InternalError"):
        job.submit()
    assert job.job_arn is not None  # the ARN is held in memory, not lost
    key = f"in/{job.ledger.batch_id}/bedrock-batch.json"  # type: ignore[union-attr]
    stored = json.loads(session.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert [j.get("job_arn") for a in stored["attempts"] for j in a["jobs"]] == [
        None
    ]  # S3 is behind ...
    job.submit()  # ... until the next call writes it again
    attached = BatchJob.attach(job.job_arn, session=session, sleep=local.advance, poll=FAST)
    assert attached.ledger == job.ledger
    attached.wait()
    assert all(r.status == "succeeded" for r in exactly_once(attached, 120))
    assert len(jobs_in(local)) == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"{not json", "not valid JSON"), (b'{"format": "bedrock-batch/99"}', "written by a newer"),
     (b'{"format": "ledger/1"}', "unknown format"),
     (b'{"format": "bedrock-batch/3", "batch_id": 7}', "malformed")],
)  # fmt: skip
def test_a_corrupt_or_unknown_ledger_is_a_clear_error(
    local: LocalBedrock, session: Any, content: bytes, reason: str
) -> None:
    job = new(local, session, 120)
    job.submit()
    uri = job.state_uri or ""
    session.client("s3").put_object(Bucket=BUCKET, Key=uri.split("/", 3)[3], Body=content)
    for handle in (uri, job.job_arn or ""):
        with pytest.raises(LedgerError, match=reason) as info:
            BatchJob.attach(handle, session=session)
        assert info.value.uri == uri


# -- 6. on-demand work is idempotent -------------------------------------------------------------

ON_DEMAND = Quotas(min_records_per_job=1000)


def test_two_processes_racing_on_a_small_batch_pay_each_record_once(
    local: LocalBedrock, session: Any
) -> None:
    calls = RuntimeCalls(session)
    SerialS3(session)
    a, b = (new(local, session, 130, quotas=ON_DEMAND) for _ in range(2))
    threads = [threading.Thread(target=j.submit) for j in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for j in (a, b):
        j.wait()
        assert all(r.status == "succeeded" for r in exactly_once(j, 130))
    assert calls.total == 130 and calls.paid_twice == []
    assert jobs_in(local) == []


def test_an_on_demand_run_killed_half_way_keeps_what_it_paid_for(
    local: LocalBedrock, session: Any
) -> None:
    count = [0]

    def kill_on_the_25th(**_: Any) -> None:
        count[0] += 1
        if count[0] == 25:
            raise KeyboardInterrupt

    session.events.register_first("before-call.bedrock-runtime.InvokeModel", kill_on_the_25th)
    calls = RuntimeCalls(session)  # after the kill: a killed call was never made
    job = new(local, session, 90, quotas=ON_DEMAND)
    with pytest.raises(KeyboardInterrupt):
        job.submit()
    answered_before = calls.total
    assert 0 < answered_before < 90
    again = new(local, session, 90, quotas=ON_DEMAND)
    again.submit()
    assert calls.paid_twice == [] and calls.total == 90
    assert all(r.status == "succeeded" for r in exactly_once(again, 90))


def test_a_read_timeout_on_call_40_of_50_keeps_the_39_answers(
    local: LocalBedrock, session: Any
) -> None:
    calls = RuntimeCalls(session)
    count = [0]
    timed_out: list[str] = []

    def time_out_the_40th(request: Any, **_: Any) -> None:
        count[0] += 1
        if count[0] == 40:
            timed_out.append("x")
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=request.url)

    runtime = session.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1}))
    runtime.meta.events.register_first("before-send.bedrock-runtime.InvokeModel", time_out_the_40th)
    job = new(local, session, 50, quotas=ON_DEMAND, runtime_client=runtime, on_demand_concurrency=1)
    with pytest.raises(ServiceError) as info:
        job.submit()
    assert info.value.code == "ConnectionError"
    saved = sum(r.status == "succeeded" for r in job.results(partial=True))
    assert saved == calls.total - 1 >= 39  # every answer that came back was kept
    job.submit()  # resumes: asks only for what has no saved answer
    assert calls.total == 51 and len(calls.paid_twice) == 1  # only the call that timed out
    assert all(r.status == "succeeded" for r in exactly_once(job, 50))


# -- 7. a failed job retried successfully makes a finished batch --------------------------------


@pytest.mark.emulator(faults=Faults(jobs=[JobFault("fail_late")]))
def test_after_a_failed_job_is_retried_wait_returns_completed(
    local: LocalBedrock, session: Any
) -> None:
    job = new(local, session, 150)
    job.submit()
    with pytest.raises(JobFailedError):
        job.wait()
    assert job.retry() == 150
    final = job.wait()
    assert final.status == "Completed" and final.is_terminal
    assert job.describe().status == "Completed"
    assert all(r.status == "succeeded" and r.attempt == 1 for r in exactly_once(job, 150))


@pytest.mark.emulator(faults=Faults(jobs=[JobFault("stall", at_fraction=0.5)]))
def test_after_a_stopped_job_is_recovered_wait_returns_completed(
    local: LocalBedrock, session: Any
) -> None:
    job = new(local, session, 200)
    job.submit()
    local.advance(hours=1)
    job.stop()
    assert job.wait(raise_on_failure=False).status == "Stopped"
    assert job.retry() == 100  # only what the stopped job left unanswered
    assert job.wait().status == "Completed"
    assert all(r.status == "succeeded" for r in exactly_once(job, 200))


def test_a_partial_retry_still_reports_the_failure(local: LocalBedrock, session: Any) -> None:
    local.faults.jobs.append(JobFault("fail_late"))
    job = new(local, session, 150)
    job.submit()
    with pytest.raises(JobFailedError):
        job.wait()
    assert job.retry(record_ids=["R0000000001"]) == 1
    with pytest.raises(JobFailedError):  # 149 records' latest attempt is still the failed job
        job.wait()


# -- 8. cosmetic differences never create a second paid job --------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        {"output_uri": f"s3://{BUCKET}/out"},
        {"input_uri": f"s3://{BUCKET}/in"},
        {"model_id": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"},
        {"mode": "batch"},
    ],
    ids=["output without /", "input without /", "model as ARN", "mode batch"],
)
def test_cosmetic_differences_are_the_same_batch(
    local: LocalBedrock, session: Any, variant: dict[str, Any]
) -> None:
    first = new(local, session, 120)
    first.submit()
    again = new(local, session, 120, **variant)
    assert again.plan().content_id == first.plan().content_id
    assert again.submit().job_arns == first.job_arns
    assert len(jobs_in(local)) == 1


def test_a_real_difference_is_a_new_batch_never_a_conflict(
    local: LocalBedrock, session: Any
) -> None:
    first = new(local, session, 120)
    first.submit()
    other = new(local, session, 120, timeout_hours=48)
    assert other.submit().job_arns != first.job_arns
    assert len(jobs_in(local)) == 2

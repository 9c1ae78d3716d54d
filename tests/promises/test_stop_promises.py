"""Issue 18's problems 1, 6 and 7: a create whose answer was lost is looked for before anything is
cancelled, a stop interrupts an on-demand run within a bounded number of calls, and a batch stopped
with records never run says ``Stopped``."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import attrs
import pytest
from botocore.config import Config

from bedrock_batch import BatchJob, JobStoppedError, PollConfig, Quotas, StateError
from bedrock_batch._lifecycle import _ondemand
from bedrock_batch.local import AfterFault, Faults, LocalBedrock, OperationFaults

from ..conftest import BUCKET, HAIKU, ROLE, track
from ..support import RuntimeCalls

FAST = PollConfig(initial=30, max_interval=600, jitter=0)
#: The create takes effect and its answer is lost (the test's control-plane client makes one
#: attempt: botocore's retries, which would find the job again by its token, back off for seconds).
LOSE_THE_ANSWER = Faults(after=[AfterFault("CreateModelInvocationJob")])
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})
SMALL = {HAIKU: Quotas(min_records_per_job=50, max_records_per_job=150, max_concurrent_jobs=2)}


def new(local: LocalBedrock, session: Any, n: int, **kwargs: Any) -> BatchJob:
    kwargs.setdefault("sleep", local.advance)
    kwargs.setdefault("bedrock_client", session.client("bedrock", config=ONE_ATTEMPT))
    kwargs.setdefault("poll", FAST)
    job = track(
        BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=session, **kwargs
        )
    )
    for i in range(n):
        job.add_prompt(f"question {i}", max_tokens=60, key=i)
    return job


def bedrock_jobs(local: LocalBedrock) -> list[dict[str, Any]]:
    return list(local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"])


def processed_by_bedrock(local: LocalBedrock) -> int:
    client = local.client("bedrock")
    return sum(
        client.get_model_invocation_job(jobIdentifier=j["jobArn"])["processedRecordCount"]
        for j in bedrock_jobs(local)
    )


# -- problem 1: look before you cancel -----------------------------------------------------------


@pytest.mark.emulator(faults=LOSE_THE_ANSWER, quotas=SMALL)
def test_a_lost_create_then_stop_finds_the_job_and_stops_it(
    local: LocalBedrock, session: Any
) -> None:
    job = new(local, session, 120)
    job.submit()  # the answer of the create was lost: the entry stays "creating"
    assert job.ledger is not None and job.ledger.find_job("p000").phase == "creating"
    [made] = bedrock_jobs(local)  # ... but the job was made
    local.advance(215)  # it is InProgress, some records processed
    job.stop()
    assert job.job_arns == [made["jobArn"]]  # found by its name, recorded
    described = local.client("bedrock").get_model_invocation_job(jobIdentifier=made["jobArn"])
    assert described["status"] in ("Stopping", "Stopped")  # and stopped at once
    final = job.wait(raise_on_failure=False)
    assert final.status == "Stopped"
    processed = processed_by_bedrock(local)
    assert 0 < processed < 120
    counts = job.results().counts
    assert counts["succeeded"] == processed  # the stopped job's outputs are read
    assert job.retry() == 120 - processed  # only the records never run go again
    job.wait()
    assert len(bedrock_jobs(local)) == 2 and processed_by_bedrock(local) == 120  # none paid twice
    assert job.results().counts == {"succeeded": 120, "errored": 0, "missing": 0}


@pytest.mark.emulator(faults=LOSE_THE_ANSWER, quotas=SMALL)
def test_a_lost_create_that_completed_before_the_stop_is_not_paid_again(
    local: LocalBedrock, session: Any
) -> None:
    job = new(local, session, 120)
    job.submit()
    local.advance(3600)  # the job nobody has the ARN of ran to the end
    other = BatchJob.attach(job.state_uri or "", session=local.session(), sleep=local.advance)
    other.stop()
    final = job.wait(raise_on_failure=False)
    assert final.status == "Completed" and final.job_arns == [bedrock_jobs(local)[0]["jobArn"]]
    assert job.results().counts == {"succeeded": 120, "errored": 0, "missing": 0}
    assert job.retry() == 0 and len(bedrock_jobs(local)) == 1


@pytest.mark.emulator(faults=LOSE_THE_ANSWER, quotas=SMALL)
def test_a_lost_create_is_resolved_on_resume_without_a_second_job(
    local: LocalBedrock, session: Any
) -> None:
    job = new(local, session, 120)
    job.submit()
    [made] = bedrock_jobs(local)
    attached = BatchJob.attach(job.state_uri or "", session=local.session(), sleep=local.advance)
    assert attached.describe().job_arns == [made["jobArn"]]  # a status resolves it
    assert attached.ledger is not None and attached.ledger.find_job("p000").phase == "created"
    assert job.wait().status == "Completed"
    assert len(bedrock_jobs(local)) == 1
    assert job.results().counts == {"succeeded": 120, "errored": 0, "missing": 0}


@pytest.mark.emulator(
    faults=Faults(
        per_operation={"CreateModelInvocationJob": OperationFaults(server_error_rate=1.0)}
    ),
    quotas=SMALL,
)
def test_a_create_never_seen_under_a_stop_is_cancelled_after_the_token_window(
    local: LocalBedrock, session: Any
) -> None:
    """Under a stop Create is never sent again: an entry whose job cannot be found stays
    unresolved (not pending: the batch has ended) until the token's window has passed."""
    window = 3.0
    job = new(local, session, 120, poll=attrs.evolve(FAST, create_token_window=window))
    job.submit()  # a 5xx: the job may exist, the entry stays "creating"
    assert job.ledger is not None and job.ledger.find_job("p000").phase == "creating"
    creates = job.calls["CreateModelInvocationJob"]
    assert job.stop() == []
    assert job.ledger.find_job("p000").phase == "creating"  # not cancelled on a miss
    final = job.wait(raise_on_failure=False)
    assert final.is_terminal and final.status == "Stopped" and final.total_records == 120
    job.describe()
    assert job.ledger.find_job("p000").phase == "creating"  # still looked for
    assert job.calls["CreateModelInvocationJob"] == creates  # never sent again under a stop
    with pytest.raises(StateError, match="has not been found yet"):
        job.retry()  # its job may still turn up: its records are not sent again meanwhile
    since = job.ledger.find_job("p000").creating_at
    assert since is not None
    time.sleep(max(0.0, dt.datetime.fromisoformat(since).timestamp() + window + 0.1 - time.time()))
    job.describe()
    assert job.ledger.find_job("p000").phase == "cancelled"  # the window has passed
    assert bedrock_jobs(local) == [] and job.calls["CreateModelInvocationJob"] == creates
    local.faults.per_operation.clear()
    assert job.retry() == 120  # now the records go, once
    assert job.wait().status == "Completed" and len(bedrock_jobs(local)) == 1


# -- problem 7: stop means stop ------------------------------------------------------------------


def test_a_stop_from_another_handle_interrupts_an_on_demand_run(
    local: LocalBedrock, session: Any
) -> None:
    runner = new(local, session, 300, mode="on_demand", on_demand_concurrency=4)
    calls = RuntimeCalls(session)
    other: list[BatchJob] = []
    at_stop: list[int] = []
    lock = threading.Lock()

    def stop_mid_slice(_: str) -> None:
        with lock:
            if not other:  # the ledger exists once the first record is asked for
                other.append(BatchJob.attach(runner.state_uri or "", session=local.session()))
            if calls.total >= 60 and not at_stop:  # in the second slice of 50
                other[0].stop()
                at_stop.append(calls.total)

    calls.hooks.append(stop_mid_slice)
    runner.submit()
    assert at_stop, "the stop was never made"
    after = calls.total - at_stop[0]
    assert after <= _ondemand.STOP_CHECK_CALLS + 4, f"{after} InvokeModel calls after the stop"
    final = runner.wait(raise_on_failure=False)
    assert final.status == "Stopped" and final.total_records == 300


# -- problem 6: honest statuses ------------------------------------------------------------------


@pytest.mark.emulator(quotas=SMALL)
def test_a_batch_stopped_after_two_of_four_jobs_is_stopped(
    local: LocalBedrock, session: Any
) -> None:
    job = new(local, session, 600)
    assert job.submit().pending == 2
    local.advance(3600)  # the first two jobs complete; nobody creates the next two
    job.stop()
    final = job.wait(raise_on_failure=False)
    assert final.status == "Stopped"
    assert final.total_records == 600 and final.processed_records == 300
    with pytest.raises(JobStoppedError):
        job.wait()
    assert job.results().counts == {"succeeded": 300, "errored": 0, "missing": 300}


def test_an_on_demand_batch_stopped_mid_run_is_stopped(local: LocalBedrock, session: Any) -> None:
    job = new(local, session, 300, mode="on_demand", on_demand_concurrency=1)
    calls = RuntimeCalls(session)
    other: list[BatchJob] = []

    def stop_at_50(_: str) -> None:
        if calls.total == 1:
            other.append(BatchJob.attach(job.state_uri or "", session=local.session()))
        if calls.total == 50:
            other[0].stop()

    calls.hooks.append(stop_at_50)
    job.submit()
    final = job.wait(raise_on_failure=False)
    assert final.status == "Stopped", final
    assert final.total_records == 300
    assert final.processed_records is not None and 50 <= final.processed_records < 300
    with pytest.raises(JobStoppedError):
        job.wait()

"""Faults *after* an operation took effect: the call does its work, then its answer is lost (a
read timeout in process, a dropped connection when served) or is a 500. A create whose answer
was lost made its job: the same client request token names that job again, a new one makes a
second job."""

from __future__ import annotations

import argparse
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from bedrock_batch.local import AfterFault, Faults, LocalBedrock, OperationFaults
from bedrock_batch.local._serve_cli import add_arguments, build, parse_after_fault

from ..conftest import BUCKET, create_job, put_records, serving

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})
CREATE = "CreateModelInvocationJob"


def jobs_of(bedrock: Any) -> list[dict[str, Any]]:
    return list(bedrock.list_model_invocation_jobs()["invocationJobSummaries"])


@pytest.mark.emulator(faults=Faults(after=[AfterFault(CREATE)]))
def test_a_lost_create_answer_made_the_job_and_its_token_names_it(
    local: LocalBedrock, session: Any
) -> None:
    bedrock = session.client("bedrock", config=ONE_ATTEMPT)
    put_records(session.client("s3"), 10)
    with pytest.raises(ReadTimeoutError):
        create_job(bedrock, clientRequestToken="tok-1")
    [made] = jobs_of(bedrock)  # the answer was lost, not the job
    assert made["jobName"] == "job-1" and made["clientRequestToken"] == "tok-1"
    assert local.fault_log[-1].kind == "lost_answer_after"
    assert create_job(bedrock, clientRequestToken="tok-1") == made["jobArn"]  # the same job
    assert len(jobs_of(bedrock)) == 1
    second = create_job(bedrock, clientRequestToken="tok-2")  # a new token: a second job
    assert second != made["jobArn"] and len(jobs_of(bedrock)) == 2


@pytest.mark.emulator(faults=Faults(after=[AfterFault(CREATE, "server_error", times=2)]))
def test_a_500_after_the_create_made_the_job_too(session: Any) -> None:
    bedrock = session.client("bedrock", config=ONE_ATTEMPT)
    put_records(session.client("s3"), 10)
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            create_job(bedrock, clientRequestToken="tok-1")
        assert info.value.response["Error"]["Code"] == "InternalServerException"
    assert len(jobs_of(bedrock)) == 1  # the second call, same token, found the first job
    arn = create_job(bedrock, clientRequestToken="tok-1")  # the faults are used up
    assert [j["jobArn"] for j in jobs_of(bedrock)] == [arn]


@pytest.mark.emulator(faults=Faults(after=[AfterFault(CREATE, times=2)]))
def test_botocore_retries_a_lost_answer_with_the_same_token(session: Any) -> None:
    bedrock = session.client("bedrock")  # standard retries: the same serialized request again
    put_records(session.client("s3"), 10)
    arn = create_job(bedrock)  # token filled in by botocore, once for all its attempts
    assert [j["jobArn"] for j in jobs_of(bedrock)] == [arn]


@pytest.mark.emulator(
    faults=Faults(per_operation={"StopModelInvocationJob": OperationFaults(lost_answer_rate=1.0)})
)
def test_a_lost_stop_answer_stopped_the_job(local: LocalBedrock, session: Any) -> None:
    bedrock = session.client("bedrock", config=ONE_ATTEMPT)
    put_records(session.client("s3"), 10)
    arn = create_job(bedrock)
    with pytest.raises(ReadTimeoutError):
        bedrock.stop_model_invocation_job(jobIdentifier=arn)
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] in ("Stopping", "Stopped")
    assert [f.kind for f in local.fault_log] == ["lost_answer_after"]


def test_rates_are_drawn_per_call_and_seeded() -> None:
    def drawn(seed: int) -> list[str | None]:
        faults = Faults(per_operation={"GetModelInvocationJob": OperationFaults(lost_answer_rate=0.5)})  # fmt: skip
        with LocalBedrock(clock="manual", faults=faults, seed=seed) as lb:
            return [lb.backend.after_fault("GetModelInvocationJob") for _ in range(40)]

    first = drawn(1)
    assert first == drawn(1) and {"lost_answer", None} == set(first)
    with LocalBedrock(clock="manual") as lb:  # no knob: nothing after any operation
        assert {lb.backend.after_fault(op) for op in (CREATE, "InvokeModel")} == {None}


def test_a_served_emulator_drops_the_connection_after_the_create() -> None:
    faults = Faults(after=[AfterFault(CREATE)])
    with serving(BUCKET, faults=faults, clock="manual") as server:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        s3 = session.client("s3", endpoint_url=server.endpoint_url)
        bedrock = session.client("bedrock", endpoint_url=server.endpoint_url, config=ONE_ATTEMPT)
        put_records(s3, 10)
        with pytest.raises(ConnectionClosedError):
            create_job(bedrock, clientRequestToken="tok-1")
        [made] = jobs_of(bedrock)
        assert create_job(bedrock, clientRequestToken="tok-1") == made["jobArn"]
        assert create_job(bedrock, clientRequestToken="tok-2") != made["jobArn"]
        assert len(jobs_of(bedrock)) == 2


def test_serve_flags_for_faults_after_the_operation() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--lost-answer", f"{CREATE}=0.25",
            "--server-error-after", "StopModelInvocationJob=0.5",
            "--after-fault", f"lost_answer:{CREATE},times=8",
            "--after-fault", "server_error:InvokeModel",
        ]
    )  # fmt: skip
    faults = build(args).faults
    assert faults.per_operation == {
        CREATE: OperationFaults(lost_answer_rate=0.25),
        "StopModelInvocationJob": OperationFaults(server_error_after_rate=0.5),
    }
    assert faults.after == [
        AfterFault(CREATE, "lost_answer", 8),
        AfterFault("InvokeModel", "server_error", 1),
    ]
    text = parser.format_help()
    assert "--after-fault lost_answer:CreateModelInvocationJob,times=8" in text


@pytest.mark.parametrize(
    "bad", ["lost", "lost_answer:", "server_error:X,times=0", "lost_answer:X,n=2"]
)
def test_bad_after_fault_flags_are_refused(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_after_fault(bad)

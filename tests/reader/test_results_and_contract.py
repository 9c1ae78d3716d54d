"""Output anomalies are reported, never dropped; the exact CreateModelInvocationJob request."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bedrock_batch import BatchJob, ServiceError
from bedrock_batch.local import LocalBedrock, RecordContext, synthetic

from ..conftest import BUCKET, HAIKU, ROLE, job_on, track

Make = Callable[..., BatchJob]


def finished(make_job: Make, n: int = 100) -> tuple[BatchJob, str]:
    job = make_job()
    for i in range(n):
        job.add_prompt(f"q{i}", max_tokens=50, key=i)
    job.submit()
    job.wait()
    key = f"out/{(job.job_arn or '').rsplit('/', 1)[1]}/part-00000.jsonl.out"
    return job, key


def rewrite(s3: Any, key: str, edit: Callable[[list[bytes]], list[bytes]]) -> None:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    lines = [line for line in body.split(b"\n") if line]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\n".join(edit(lines)))


def collect(job: BatchJob) -> tuple[dict[str, int], list[Any], list[Any]]:
    results = job.results()
    got = list(results)
    return dict(results.counts), got, results.anomalies


def test_truncated_last_line_is_reported_and_its_record_missing(make_job: Make, s3: Any) -> None:
    job, key = finished(make_job)
    truncated_id: list[str] = []

    def cut(lines: list[bytes]) -> list[bytes]:
        truncated_id.append(json.loads(lines[-1])["recordId"])
        return [*lines[:-1], lines[-1][: len(lines[-1]) // 2]]

    rewrite(s3, key, cut)
    counts, got, anomalies = collect(job)
    assert counts == {"succeeded": 99, "errored": 0, "missing": 1}
    assert len(got) == 100 and len({r.record_id for r in got}) == 100
    assert [a.kind for a in anomalies] == ["unparseable_line"]
    assert anomalies[0].line == 100
    missing = next(r for r in got if r.status == "missing")
    assert missing.model_input is not None
    summary = job.summary()
    assert not summary.consistent and summary.missing == 1


def test_duplicate_and_unknown_ids_are_reported_not_joined(make_job: Make, s3: Any) -> None:
    job, key = finished(make_job)

    def tamper(lines: list[bytes]) -> list[bytes]:
        stranger = json.loads(lines[0])
        stranger["recordId"] = "NOT-AN-INPUT"
        return [*lines, lines[3], json.dumps(stranger).encode()]

    rewrite(s3, key, tamper)
    counts, got, anomalies = collect(job)
    assert counts["succeeded"] == 100 and len(got) == 100
    assert sorted(a.kind for a in anomalies) == ["duplicate_id", "unknown_id"]
    assert {a.record_id for a in anomalies if a.kind == "unknown_id"} == {"NOT-AN-INPUT"}


def test_missing_out_file_makes_its_records_missing(make_job: Make, s3: Any) -> None:
    job, key = finished(make_job)
    s3.delete_object(Bucket=BUCKET, Key=key)
    counts, got, anomalies = collect(job)
    assert counts == {"succeeded": 0, "errored": 0, "missing": 100}
    assert [a.kind for a in anomalies] == ["missing_output_file"]
    assert {r.key for r in got} == set(range(100))


def test_u2028_and_nel_inside_text_do_not_split_records() -> None:
    def responder(ctx: RecordContext) -> dict[str, Any]:
        out = synthetic(ctx)
        out["content"][0]["text"] = "一行目\u2028二行目\u0085三行目\r四"
        return out

    with LocalBedrock(clock="manual", responder=responder) as local:
        job = job_on(local)
        for i in range(100):
            job.add_prompt(f"q{i}")
        results = list(job.run())
        assert len(results) == 100
        assert {r.text for r in results} == {"一行目\u2028二行目\u0085三行目\r四"}


def test_results_stream_with_small_chunks_keeps_multibyte_text(make_job: Make) -> None:
    job, _ = finished(make_job)
    results = job.results()
    results._chunk = 7  # split inside multi-byte characters on purpose
    assert sum(1 for r in results if r.status == "succeeded") == 100


def _describe_response(arn: str) -> dict[str, Any]:
    return {
        "jobArn": arn,
        "jobName": "n",
        "modelId": HAIKU,
        "roleArn": ROLE,
        "status": "Submitted",
        "submitTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/x/input/"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
    }


@pytest.fixture
def stubbed(local: LocalBedrock, session: Any) -> tuple[Any, Stubber]:
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("bedrock")
    return client, Stubber(client)


def test_stubber_pins_exact_create_parameters(session: Any, stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    job = track(
        BatchJob(
            HAIKU,
            ROLE,
            f"s3://{BUCKET}/in/",
            f"s3://{BUCKET}/out/",
            s3_client=session.client("s3"),
            bedrock_client=client,
            use_service_quotas=False,
            job_name="japan-questions",
            timeout_hours=72,
            tags={"team": "ml"},
            vpc_config={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
            kms_key_id="alias/batch",
            bucket_owner="123456789012",
            invocation_type="Converse",
        )
    )
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=10)
    plan = job.plan()
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef"
    stub.add_response(
        "create_model_invocation_job",
        {"jobArn": arn},
        {
            "jobName": "japan-questions",
            "roleArn": ROLE,
            "clientRequestToken": plan.client_request_token,
            "modelId": HAIKU,
            "inputDataConfig": {
                "s3InputDataConfig": {
                    "s3Uri": plan.job_input_uri,
                    "s3InputFormat": "JSONL",
                    "s3BucketOwner": "123456789012",
                }
            },
            "outputDataConfig": {
                "s3OutputDataConfig": {
                    "s3Uri": f"s3://{BUCKET}/out/",
                    "s3BucketOwner": "123456789012",
                    "s3EncryptionKeyId": "alias/batch",
                }
            },
            "modelInvocationType": "Converse",
            "timeoutDurationInHours": 72,
            "tags": [{"key": "team", "value": "ml"}],
            "vpcConfig": {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
        },
    )
    stub.add_response("get_model_invocation_job", _describe_response(arn), {"jobIdentifier": arn})
    with stub:
        assert job.submit().job_arn == arn
        stub.assert_no_pending_responses()
    assert plan.client_request_token.startswith("bb") and plan.job_input_uri.endswith(
        f"{plan.content_id}/runs/p000/"
    )


def stubbed_job(session: Any, client: Any, prefix: str = "in") -> BatchJob:
    """100 records, S3 from the emulator, Bedrock from a stubbed client."""
    job = track(
        BatchJob(
            HAIKU,
            ROLE,
            f"s3://{BUCKET}/{prefix}/",
            f"s3://{BUCKET}/out/",
            s3_client=session.client("s3"),
            bedrock_client=client,
            use_service_quotas=False,
            sleep=lambda s: None,
        )
    )
    for i in range(100):
        job.add_prompt(f"q{i}")
    return job


def test_throttled_create_waits_for_the_next_poll_with_the_same_token(
    session: Any, stubbed: tuple[Any, Stubber]
) -> None:
    """One retry layer: botocore retries single calls; a create throttled after that leaves the
    job waiting in the ledger, and the next poll creates it with the same token."""
    client, stub = stubbed
    job = stubbed_job(session, client)
    token = job.plan().client_request_token
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef"
    stub.add_client_error(
        "create_model_invocation_job", "ThrottlingException", "slow down", 429, expected_params=None
    )
    with stub:
        status = job.submit()
        stub.assert_no_pending_responses()
    assert status.pending == 1 and status.jobs == () and not status.is_terminal
    assert job.ledger is not None and job.ledger.find_job("p000").phase == "uploaded"
    stub.add_response("create_model_invocation_job", {"jobArn": arn})
    stub.add_response(
        "get_model_invocation_job", {**_describe_response(arn), "status": "Completed"}
    )
    with stub:
        assert job.wait().status == "Completed"
    stub.assert_no_pending_responses()
    assert job.ledger.find_job("p000").token == token and job.job_arn == arn

    other = stubbed_job(session, client, prefix="in2")
    stub.add_client_error(
        "create_model_invocation_job", "AccessDeniedException", "no PassRole", 403
    )
    with stub, pytest.raises(ServiceError) as info:
        other.submit()
    assert (
        info.value.code == "AccessDeniedException"
        and info.value.operation == "CreateModelInvocationJob"
    )
    assert info.value.__cause__ is not None and "no PassRole" in str(info.value)


def test_every_create_attempt_sends_one_token(session: Any, stubbed: tuple[Any, Stubber]) -> None:
    """After a 5xx the job may exist: before creating again, the job is looked up by name; every
    create carries the same token."""
    client, stub = stubbed
    sent: list[str] = []
    client.meta.events.register(
        "provide-client-params.bedrock.CreateModelInvocationJob",
        lambda params, **_: sent.append(params.get("clientRequestToken")),
    )
    job = stubbed_job(session, client)
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef"
    stub.add_client_error("create_model_invocation_job", "InternalServerException", "oops", 500)
    for _ in range(2):
        stub.add_response("list_model_invocation_jobs", {"invocationJobSummaries": []})
        stub.add_client_error("create_model_invocation_job", "InternalServerException", "oops", 500)
    stub.add_response("list_model_invocation_jobs", {"invocationJobSummaries": []})
    stub.add_response("create_model_invocation_job", {"jobArn": arn})
    stub.add_response(
        "get_model_invocation_job", {**_describe_response(arn), "status": "Completed"}
    )
    with stub:
        job.submit()
        assert job.ledger is not None and job.ledger.find_job("p000").phase == "creating"
        job.wait()
    stub.assert_no_pending_responses()
    assert len(sent) == 4 and len(set(sent)) == 1 and sent[0] == job.plan().client_request_token


def test_counts_are_never_the_figures_of_a_pass_stopped_early(local: LocalBedrock) -> None:
    job = job_on(local)
    for i in range(120):
        job.add_prompt(f"q{i}", max_tokens=20)
    results = job.run()
    first = next(iter(results))  # an iteration stopped after one record
    assert first.status == "succeeded"
    assert results.counts == {"succeeded": 120, "errored": 0, "missing": 0}
    inner: dict[str, int] = {}
    for n, _ in enumerate(results):  # asked in the middle of a pass: a full pass of its own
        if n == 5:
            inner = results.counts
    assert inner == results.counts == {"succeeded": 120, "errored": 0, "missing": 0}
    assert results.usage.input_tokens > 0 and results.anomalies == []

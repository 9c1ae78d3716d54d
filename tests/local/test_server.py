"""Server mode: one loopback endpoint for S3, Bedrock, bedrock-runtime and Service Quotas."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, claude_body, endpoint_env, jsonl

CREDS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}


pytestmark = pytest.mark.emulator(clock="manual")  # for the `server` fixture


def client(server: Any, name: str) -> Any:
    return boto3.session.Session().client(name, endpoint_url=server.endpoint_url, **CREDS)  # type: ignore[call-overload]


def test_binds_loopback_only(server: Any) -> None:
    assert server.host == "127.0.0.1"
    assert server.endpoint_url.startswith("http://127.0.0.1:")


def test_whole_job_over_http(server: Any) -> None:
    s3, bedrock, runtime, sq = (
        client(server, n) for n in ("s3", "bedrock", "bedrock-runtime", "service-quotas")
    )
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET,
        Key="in/a.jsonl",
        Body=jsonl([{"recordId": f"r{i}", "modelInput": claude_body(f"q{i}")} for i in range(100)]),
    )
    arn = bedrock.create_model_invocation_job(
        jobName="over-http",
        roleArn=ROLE,
        modelId=HAIKU,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
    )["jobArn"]
    assert (
        bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] == "Submitted"
    )  # ARN, URL-encoded
    server.local.advance(hours=1)
    d = bedrock.get_model_invocation_job(jobIdentifier=arn.rsplit("/", 1)[1])
    assert d["status"] == "Completed" and d["successRecordCount"] == 100
    out = s3.get_object(Bucket=BUCKET, Key=f"out/{d['jobArn'].rsplit('/', 1)[1]}/a.jsonl.out")[
        "Body"
    ].read()
    assert out.count(b"\n") == 100
    pages = list(bedrock.get_paginator("list_model_invocation_jobs").paginate())
    assert pages[0]["invocationJobSummaries"][0]["jobArn"] == arn
    bedrock.tag_resource(resourceARN=arn, tags=[{"key": "k", "value": "v"}])
    assert bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "k", "value": "v"}]
    bedrock.untag_resource(resourceARN=arn, tagKeys=["k"])
    assert bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == []
    profile_arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{HAIKU}"
    body = json.loads(
        runtime.invoke_model(modelId=profile_arn, body=json.dumps(claude_body("hi")))["body"].read()
    )
    assert body["content"][0]["text"]
    conv = runtime.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert conv["output"]["message"]["content"][0]["text"]
    names = {
        q["QuotaName"]
        for q in sq.list_service_quotas(ServiceCode="bedrock", MaxResults=100)["Quotas"]
    }
    assert "Minimum number of records per batch inference job for Claude 3 Haiku" in names


def test_errors_keep_their_codes_over_http(server: Any) -> None:
    bedrock = client(server, "bedrock")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        bedrock.get_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def _aws_cli() -> list[str]:
    exe = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    return [exe] if exe else [sys.executable, "-m", "awscli"]


def test_aws_cli_drives_the_server(server: Any) -> None:
    env = endpoint_env(server.endpoint_url)

    def aws(*args: str) -> Any:
        proc = subprocess.run(
            [*_aws_cli(), *args, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    aws("s3api", "create-bucket", "--bucket", BUCKET)
    client(server, "s3").put_object(
        Bucket=BUCKET,
        Key="in/a.jsonl",
        Body=jsonl([{"recordId": f"r{i}", "modelInput": claude_body("q")} for i in range(100)]),
    )
    created = aws(
        "bedrock",
        "create-model-invocation-job",
        "--job-name",
        "from-cli",
        "--role-arn",
        ROLE,
        "--model-id",
        HAIKU,
        "--input-data-config",
        json.dumps({"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}}),
        "--output-data-config",
        json.dumps({"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}}),
    )
    arn = created["jobArn"]
    server.local.advance(hours=1)
    got = aws("bedrock", "get-model-invocation-job", "--job-identifier", arn)
    assert got["status"] == "Completed"
    listed = aws("bedrock", "list-model-invocation-jobs", "--status-equals", "Completed")
    assert [j["jobArn"] for j in listed["invocationJobSummaries"]] == [arn]
    proc = subprocess.run(
        [*_aws_cli(), "bedrock", "stop-model-invocation-job", "--job-identifier", arn],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0 and "ConflictException" in proc.stderr


def test_api_calls_never_wait_on_record_processing() -> None:
    """A record is being answered (the responder is blocked): every API call still answers."""
    import threading

    from bedrock_batch.local import Quotas, RecordContext, synthetic

    inside, release = threading.Event(), threading.Event()

    def slow(ctx: RecordContext) -> dict[str, Any]:
        inside.set()
        release.wait(60)
        return synthetic(ctx)

    local = LocalBedrock(
        time_scale=100_000, responder=slow, default_quotas=Quotas(min_records_per_job=1)
    )
    with local.serve(port=0) as srv:
        s3, bedrock, sq = (client(srv, n) for n in ("s3", "bedrock", "service-quotas"))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(
            Bucket=BUCKET, Key="in/a.jsonl", Body=jsonl([{"modelInput": claude_body("q")}] * 5)
        )
        params = {
            "roleArn": ROLE,
            "modelId": HAIKU,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
        }
        arn = bedrock.create_model_invocation_job(jobName="busy", **params)["jobArn"]
        try:
            assert inside.wait(60)  # the worker is answering a record now
            answered: list[str] = []

            def calls() -> None:
                answered.append(bedrock.get_model_invocation_job(jobIdentifier=arn)["status"])
                bedrock.list_model_invocation_jobs()
                bedrock.create_model_invocation_job(jobName="another", **params)
                sq.list_service_quotas(ServiceCode="bedrock", MaxResults=5)
                s3.list_objects_v2(Bucket=BUCKET)
                answered.append("done")

            caller = threading.Thread(target=calls)
            caller.start()
            caller.join(30)  # a safety net: with the old lock these calls waited for the record
            assert answered == ["InProgress", "done"]
        finally:
            release.set()


def test_stopping_a_busy_server_logs_no_errors(caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import time

    with caplog.at_level(logging.WARNING, logger="bedrock_batch.local"):
        srv = LocalBedrock(time_scale=20_000).serve(port=0)
        srv.start()
        s3, bedrock = client(srv, "s3"), client(srv, "bedrock")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(
            Bucket=BUCKET, Key="in/a.jsonl", Body=jsonl([{"modelInput": claude_body("q")}] * 3000)
        )
        arns = [
            bedrock.create_model_invocation_job(
                jobName=f"busy-{i}",
                roleArn=ROLE,
                modelId=HAIKU,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
            )["jobArn"]
            for i in range(3)
        ]
        deadline = time.monotonic() + 30
        while bedrock.get_model_invocation_job(jobIdentifier=arns[0])["processedRecordCount"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        srv.stop()  # the lifecycle thread first, then HTTP
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_server_does_not_see_the_s3_of_a_server_before_it() -> None:
    # moto's backends are per process: the last server to stop drops their data, as an
    # in-process emulator does on leaving (a bucket and objects once leaked into the next test)
    from ..conftest import serving

    with serving(BUCKET, clock="manual") as first:
        client(first, "s3").put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=b"{}\n")
        with serving(clock="manual") as second:  # running together, they share S3
            assert client(second, "s3").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    with serving(clock="manual") as third:
        assert BUCKET not in {b["Name"] for b in client(third, "s3").list_buckets()["Buckets"]}

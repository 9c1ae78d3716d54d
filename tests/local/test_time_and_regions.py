"""Honest clocks, regions, the idempotency window, runtime headers and usage accounting."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bedrock_batch._families._outputs import output_usage
from bedrock_batch.local import LocalBedrock, Quotas

from ..conftest import BUCKET, HAIKU, ROLE, claude_body, create_job, jsonl, put_records, read_out

CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def over_http(server: Any, name: str, region: str = "us-east-1") -> Any:
    return boto3.session.Session().client(
        name, endpoint_url=server.endpoint_url, region_name=region, **CREDS
    )


def test_timestamps_are_wall_clock_times_at_the_default_time_scale(server: Any) -> None:
    started = time.monotonic()
    s3, bedrock = over_http(server, "s3"), over_http(server, "bedrock")
    s3.create_bucket(Bucket=BUCKET)
    put_records(s3, 100)
    arn = create_job(bedrock, jobName="first")
    deadline = time.monotonic() + 60  # a safety net, not a timing assertion
    while (d := bedrock.get_model_invocation_job(jobIdentifier=arn))["status"] != "Completed":
        assert time.monotonic() < deadline, d["status"]
        time.sleep(0.05)
    assert d["submitTime"] <= d["lastModifiedTime"] <= d["endTime"] <= now()
    assert d["jobExpirationTime"] == d["submitTime"] + dt.timedelta(hours=24)
    job_id = arn.rsplit("/", 1)[1]
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"out/{job_id}/")["Contents"]:
        # S3's LastModified has one-second resolution
        assert d["submitTime"].replace(microsecond=0) <= obj["LastModified"] <= d["endTime"]
    # the old scaled clock reported times 1000x further ahead the longer the server ran
    time.sleep(max(0.0, 3.0 - (time.monotonic() - started)))
    before = now()
    arn = create_job(bedrock, jobName="second")
    submitted = bedrock.get_model_invocation_job(jobIdentifier=arn)["submitTime"]
    after = now()
    assert before - dt.timedelta(seconds=1) <= submitted <= after
    time.sleep(0.01)
    listed = bedrock.list_model_invocation_jobs(submitTimeBefore=now(), nameContains="second")
    assert [j["jobArn"] for j in listed["invocationJobSummaries"]] == [arn]
    assert bedrock.list_model_invocation_jobs(submitTimeAfter=now())["invocationJobSummaries"] == []


def test_two_regions_two_job_lists_over_http(server: Any) -> None:
    east, west = (
        over_http(server, "bedrock"),
        over_http(server, "bedrock", "eu-west-1"),
    )
    arn_east = create_job(east, jobName="in-east")
    arn_west = create_job(west, jobName="in-west")
    assert arn_east.startswith("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/")
    assert arn_west.startswith("arn:aws:bedrock:eu-west-1:123456789012:model-invocation-job/")
    east_names = {j["jobName"] for j in east.list_model_invocation_jobs()["invocationJobSummaries"]}
    west_names = {j["jobName"] for j in west.list_model_invocation_jobs()["invocationJobSummaries"]}
    assert "in-east" in east_names and "in-west" not in east_names
    assert west_names == {"in-west"}
    for client, arn in ((west, arn_east), (east, arn_west)):
        with pytest.raises(ClientError) as err:
            client.get_model_invocation_job(jobIdentifier=arn)
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        west.get_model_invocation_job(jobIdentifier=arn_east.rsplit("/", 1)[1])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_regions_in_process_models_and_quotas() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: Quotas(max_concurrent_jobs=1)}) as local:
        east = local.client("bedrock")
        west = local.client("bedrock", region_name="eu-west-1")
        create_job(east, jobName="a")
        create_job(west, jobName="b")  # the concurrency quota is per region
        with pytest.raises(ClientError) as err:
            create_job(
                west, jobName="c", modelId=f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
            )
        assert "does not match the request region" in str(err.value)
        with pytest.raises(ClientError) as err:
            create_job(east, jobName="d", modelId="eu.anthropic.claude-haiku-4-5-20251001-v1:0")
        assert "model identifier is invalid" in str(err.value)
        arn = create_job(west, jobName="e", modelId="eu.anthropic.claude-haiku-4-5-20251001-v1:0")
        assert ":eu-west-1:" in arn
        quota = local.client("service-quotas", region_name="eu-west-1").list_service_quotas(
            ServiceCode="bedrock"
        )
        assert quota["Quotas"][0]["QuotaArn"].startswith("arn:aws:servicequotas:eu-west-1:")
        eu_runtime = local.client("bedrock-runtime", region_name="eu-west-1")
        with pytest.raises(ClientError):
            eu_runtime.invoke_model(
                modelId="us.anthropic.claude-3-haiku-20240307-v1:0",
                body=json.dumps(claude_body("x")),
            )


def test_idempotency_window() -> None:
    with LocalBedrock(clock="manual", idempotency_window_hours=1) as local:
        bedrock = local.client("bedrock")
        first = create_job(bedrock, clientRequestToken="constant-token")
        assert create_job(bedrock, clientRequestToken="constant-token") == first
        with pytest.raises(ClientError) as err:
            create_job(bedrock, clientRequestToken="constant-token", jobName="other")
        assert err.value.response["Error"]["Code"] == "ConflictException"
        local.advance(minutes=61)
        second = create_job(bedrock, clientRequestToken="constant-token", jobName="other")
        assert second != first
        assert create_job(bedrock, clientRequestToken="constant-token", jobName="other") == second
        local.advance(hours=2)
        assert create_job(bedrock, clientRequestToken="constant-token", jobName="other") != second


def test_runtime_latency_and_token_headers(local: LocalBedrock) -> None:
    runtime = local.client("bedrock-runtime")
    resp = runtime.invoke_model(modelId=HAIKU, body=json.dumps(claude_body("hello", 50)))
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    body = json.loads(resp["body"].read())
    assert int(headers["x-amzn-bedrock-invocation-latency"]) > 0
    assert int(headers["x-amzn-bedrock-input-token-count"]) == body["usage"]["input_tokens"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == body["usage"]["output_tokens"]
    conv = runtime.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert conv["metrics"]["latencyMs"] > 0


FAMILY_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    (HAIKU, "InvokeModel", claude_body("tell me about tea", 300)),
    ("amazon.titan-text-express-v1", "InvokeModel", {"inputText": "tell me about tea"}),
    ("amazon.titan-embed-text-v2:0", "InvokeModel", {"inputText": "tea"}),
    ("amazon.titan-embed-image-v1", "InvokeModel", {"inputText": "a tea cup"}),
    (
        "meta.llama3-1-8b-instruct-v1:0",
        "InvokeModel",
        {"prompt": "tell me about tea", "max_gen_len": 300},
    ),
    (
        "mistral.mistral-large-2407-v1:0",
        "InvokeModel",
        {"messages": [{"role": "user", "content": "tea?"}]},
    ),
    (
        "amazon.nova-lite-v1:0",
        "InvokeModel",
        {"messages": [{"role": "user", "content": [{"text": "tea?"}]}]},
    ),
    (HAIKU, "Converse", {"messages": [{"role": "user", "content": [{"text": "tea?"}]}]}),
]


def test_manifest_token_counts_agree_with_the_client_reading_every_line() -> None:
    with LocalBedrock(clock="manual", default_quotas=Quotas(min_records_per_job=1)) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        bedrock = local.client("bedrock")
        jobs = []
        for n, (model, kind, body) in enumerate(FAMILY_BODIES):
            records = [
                {"recordId": f"r{i}", "modelInput": {**body, **_vary(body, i)}} for i in range(30)
            ]
            s3.put_object(Bucket=BUCKET, Key=f"in/{n}/x.jsonl", Body=jsonl(records))
            arn = create_job(
                bedrock,
                jobName=f"usage-{n}",
                modelId=model,
                modelInvocationType=kind,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/{n}/"}},
            )
            jobs.append((model, arn))
        local.run_until_idle()
        for model, arn in jobs:
            job_id = arn.rsplit("/", 1)[1]
            lines = read_out(s3, f"out/{job_id}/x.jsonl.out")
            manifest = json.loads(
                s3.get_object(Bucket=BUCKET, Key=f"out/{job_id}/manifest.json.out")["Body"].read()
            )
            if model.startswith("mistral"):  # its body carries no counts: the emulator counts
                assert manifest["inputTokenCount"] > 0 < manifest["outputTokenCount"], model
                continue
            usages = [output_usage(line["modelOutput"]) for line in lines]
            assert sum(u.input_tokens for u in usages) == manifest["inputTokenCount"], model
            assert sum(u.output_tokens for u in usages) == manifest["outputTokenCount"], model
            assert manifest["inputTokenCount"] > 0, model


def _vary(body: dict[str, Any], i: int) -> dict[str, Any]:
    """Make records differ, so their token counts do."""
    if "inputText" in body:
        return {"inputText": body["inputText"] + " " + "more " * i}
    if "prompt" in body:
        return {"prompt": body["prompt"] + " " + "more " * i}
    return {}


def test_the_emulator_counts_what_it_answered() -> None:
    """One output token per record, many input tokens: a swap inside the emulator shows."""
    with LocalBedrock(clock="manual", default_quotas=Quotas(min_records_per_job=1)) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(
            Bucket=BUCKET,
            Key="in/a.jsonl",
            Body=jsonl(
                [
                    {"recordId": f"r{i}", "modelInput": claude_body("long question " * 20, 1)}
                    for i in range(10)
                ]
            ),
        )
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        local.run_until_idle()
        manifest = json.loads(
            s3.get_object(Bucket=BUCKET, Key=f"out/{arn.rsplit('/', 1)[1]}/manifest.json.out")[
                "Body"
            ].read()
        )
    assert manifest["outputTokenCount"] == 10
    assert manifest["inputTokenCount"] > 10 * 50


def test_the_job_reports_the_role_and_model_given(bedrock: Any) -> None:
    arn = create_job(bedrock, roleArn=ROLE)
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["roleArn"] == ROLE

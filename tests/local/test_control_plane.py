"""Local Bedrock's control plane through real boto3 clients."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from bedrock_batch.local import Faults, LocalBedrock, Quotas

from ..conftest import BUCKET, HAIKU, ROLE, create_job, put_records


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_create_returns_documented_arn_and_get_accepts_arn_or_id(bedrock: Any) -> None:
    arn = create_job(bedrock)
    assert arn.startswith("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/")
    job_id = arn.rsplit("/", 1)[1]
    assert len(job_id) == 12 and job_id.isalnum() and job_id == job_id.lower()
    by_arn = bedrock.get_model_invocation_job(jobIdentifier=arn)
    by_id = bedrock.get_model_invocation_job(jobIdentifier=job_id)
    assert by_arn["jobArn"] == by_id["jobArn"] == arn
    assert by_arn["status"] == "Submitted"
    assert isinstance(by_arn["submitTime"], dt.datetime)
    assert by_arn["totalRecordCount"] == 0
    assert by_arn["jobExpirationTime"] - by_arn["submitTime"] == dt.timedelta(hours=24)


def test_arn_is_url_encoded_on_the_wire(local: LocalBedrock, bedrock: Any) -> None:
    arn = create_job(bedrock)
    seen: list[str] = []
    bedrock.meta.events.register(
        "before-send.bedrock.GetModelInvocationJob", lambda request, **_: seen.append(request.url)
    )
    bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert quote(arn, safe="") in seen[0]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("jobName", "bad name!", "regular expression pattern"),
        ("jobName", "a" * 64, "length less than or equal to 63"),
        ("roleArn", "arn:aws:iam::123456789012:user/x", "regular expression pattern"),
        ("timeoutDurationInHours", 500, "less than or equal to 168"),
        ("modelInvocationType", "Batch", "enum value set"),
        ("clientRequestToken", "bad token!", "regular expression pattern"),
        ("tags", [{"key": "k" * 129, "value": "v"}], "length less than or equal to 128"),
    ],
)
def test_service_side_checks_botocore_skips(
    bedrock: Any, field: str, value: Any, fragment: str
) -> None:
    with pytest.raises(ClientError) as err:
        create_job(bedrock, **{field: value})
    assert code(err) == "ValidationException"
    assert fragment in str(err.value)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_botocore_checks_minimums_itself(bedrock: Any) -> None:
    with pytest.raises(ParamValidationError):
        create_job(bedrock, timeoutDurationInHours=10)


def test_bad_input_uri_refused(bedrock: Any) -> None:
    with pytest.raises(ClientError) as err:
        create_job(bedrock, inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://Bad_Bucket/x"}})
    assert code(err) == "ValidationException"


def test_idempotent_create_same_token_same_job(bedrock: Any) -> None:
    a = create_job(bedrock, clientRequestToken="tok-1")
    b = create_job(bedrock, clientRequestToken="tok-1")
    assert a == b
    assert len(bedrock.list_model_invocation_jobs()["invocationJobSummaries"]) == 1
    with pytest.raises(ClientError) as err:
        create_job(bedrock, clientRequestToken="tok-1", jobName="other-name")
    assert code(err) == "ConflictException"


def test_unsupported_model_and_profile_only_model(bedrock: Any) -> None:
    with pytest.raises(ClientError) as err:
        create_job(bedrock, modelId="cohere.command-r-v1:0")
    assert "not supported" in str(err.value)
    with pytest.raises(ClientError) as err:
        create_job(bedrock, modelId="anthropic.claude-haiku-4-5-20251001-v1:0")
    assert code(err) == "ValidationException"
    assert "inference profile" in str(err.value)
    arn = create_job(
        bedrock, modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0", jobName="profile"
    )
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["modelId"].startswith("us.")


def test_model_arn_accepted(bedrock: Any) -> None:
    arn = create_job(bedrock, modelId=f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}")
    assert arn


def test_pass_role_to_other_account_denied(bedrock: Any) -> None:
    with pytest.raises(ClientError) as err:
        create_job(bedrock, roleArn="arn:aws:iam::999999999999:role/Other")
    assert code(err) == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_concurrency_quota() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: Quotas(max_concurrent_jobs=2)}) as local:
        bedrock = local.client("bedrock")
        create_job(bedrock, jobName="a")
        create_job(bedrock, jobName="b")
        with pytest.raises(ClientError) as err:
            create_job(bedrock, jobName="c")
        assert code(err) == "ServiceQuotaExceededException"
        # another model is not affected
        create_job(bedrock, jobName="d", modelId="amazon.nova-lite-v1:0")


def test_not_found_and_bad_identifier(bedrock: Any) -> None:
    with pytest.raises(ClientError) as err:
        bedrock.get_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert code(err) == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        bedrock.get_model_invocation_job(jobIdentifier="not-a-job-id")
    assert code(err) == "ValidationException"


def test_list_filters_sorting_and_paginator(local: LocalBedrock, bedrock: Any) -> None:
    arns = []
    for i in range(7):
        arns.append(create_job(bedrock, jobName=f"batch-{'even' if i % 2 == 0 else 'odd'}-{i}"))
        local.advance(1)
    pages = list(
        bedrock.get_paginator("list_model_invocation_jobs").paginate(
            PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["invocationJobSummaries"]) for p in pages] == [3, 3, 1]
    listed = [s["jobArn"] for p in pages for s in p["invocationJobSummaries"]]
    assert listed == arns[::-1]  # newest first by default
    asc = bedrock.list_model_invocation_jobs(sortBy="CreationTime", sortOrder="Ascending")
    assert [s["jobArn"] for s in asc["invocationJobSummaries"]] == arns
    odd = bedrock.list_model_invocation_jobs(nameContains="odd")["invocationJobSummaries"]
    assert {s["jobName"] for s in odd} == {"batch-odd-1", "batch-odd-3", "batch-odd-5"}
    third = bedrock.get_model_invocation_job(jobIdentifier=arns[3])["submitTime"]
    after = bedrock.list_model_invocation_jobs(submitTimeAfter=third)["invocationJobSummaries"]
    assert {s["jobArn"] for s in after} == set(arns[4:])
    before = bedrock.list_model_invocation_jobs(submitTimeBefore=third)["invocationJobSummaries"]
    assert {s["jobArn"] for s in before} == set(arns[:3])
    assert (
        bedrock.list_model_invocation_jobs(statusEquals="Completed")["invocationJobSummaries"] == []
    )
    with pytest.raises(ClientError):
        bedrock.list_model_invocation_jobs(maxResults=5000)


def test_stop_then_conflict_once_terminal(local: LocalBedrock, s3: Any, bedrock: Any) -> None:
    put_records(s3, 100)
    arn = create_job(bedrock)
    bedrock.stop_model_invocation_job(jobIdentifier=arn)
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] == "Stopping"
    local.advance(minutes=5)
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] == "Stopped"
    with pytest.raises(ClientError) as err:
        bedrock.stop_model_invocation_job(jobIdentifier=arn.rsplit("/", 1)[1])
    assert code(err) == "ConflictException"


def test_tags(bedrock: Any) -> None:
    arn = create_job(bedrock, tags=[{"key": "team", "value": "ml"}])
    bedrock.tag_resource(resourceARN=arn, tags=[{"key": "env", "value": "test"}])
    tags = {t["key"]: t["value"] for t in bedrock.list_tags_for_resource(resourceARN=arn)["tags"]}
    assert tags == {"team": "ml", "env": "test"}
    bedrock.untag_resource(resourceARN=arn, tagKeys=["team"])
    assert bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == [
        {"key": "env", "value": "test"}
    ]
    with pytest.raises(ClientError) as err:
        bedrock.list_tags_for_resource(resourceARN=arn[:-12] + "zzzzzzzzzzzz")
    assert code(err) == "ResourceNotFoundException"


def test_injected_throttling_and_500_are_seeded_and_logged() -> None:
    def run(seed: int) -> list[str]:
        faults = Faults(throttle_rate=0.3, server_error_rate=0.1)
        with LocalBedrock(clock="manual", seed=seed, faults=faults) as local:
            from botocore.config import Config

            bedrock = local.client(
                "bedrock", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
            )
            outcomes = []
            for _ in range(40):
                try:
                    bedrock.list_model_invocation_jobs()
                    outcomes.append("ok")
                except ClientError as err:
                    outcomes.append(err.response["Error"]["Code"])
            assert [e.kind for e in local.fault_log].count("throttle") == outcomes.count(
                "ThrottlingException"
            )
            return outcomes

    first = run(7)
    assert first == run(7)
    assert "ThrottlingException" in first and "InternalServerException" in first and "ok" in first


def test_botocore_retries_absorb_injected_throttling(no_backoff: list[float]) -> None:
    with LocalBedrock(clock="manual", faults=Faults(throttle_rate=0.2)) as local:
        bedrock = local.client("bedrock")
        for _ in range(20):
            bedrock.list_model_invocation_jobs()
        assert local.fault_log  # faults happened, and standard retries hid them
        assert len(no_backoff) == len(local.fault_log)  # botocore retried each one


def test_counters_absent_when_disabled() -> None:
    with LocalBedrock(clock="manual", record_counters=False) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        assert "totalRecordCount" not in bedrock.get_model_invocation_job(jobIdentifier=arn)


def test_describe_echoes_request(bedrock: Any) -> None:
    arn = create_job(
        bedrock,
        timeoutDurationInHours=48,
        modelInvocationType="Converse",
        vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
        outputDataConfig={
            "s3OutputDataConfig": {
                "s3Uri": f"s3://{BUCKET}/out/",
                "s3EncryptionKeyId": "alias/my-key",
            }
        },
    )
    d = bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert d["timeoutDurationInHours"] == 48
    assert d["modelInvocationType"] == "Converse"
    assert d["vpcConfig"]["subnetIds"] == ["subnet-1"]
    assert d["roleArn"] == ROLE
    assert d["outputDataConfig"]["s3OutputDataConfig"]["s3EncryptionKeyId"] == "alias/my-key"
    assert d["jobExpirationTime"] - d["submitTime"] == dt.timedelta(hours=48)

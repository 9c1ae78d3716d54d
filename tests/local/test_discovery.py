"""Model discovery on Local Bedrock (``bedrock-facts.md`` §12.6): ListFoundationModels,
GetFoundationModel, ListInferenceProfiles and GetInferenceProfile for the catalogue's models,
answered to real boto3 clients (in process and served) in botocore's shapes."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from bedrock_batch._catalog import CATALOG
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, ROLE, serving

HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA_EMBED = "amazon.nova-2-multimodal-embeddings-v1:0"


@cache
def _service_model() -> Any:
    """botocore's model of the bedrock service, loaded once (a load is ~60 ms of JSON)."""
    return botocore.session.get_session().get_service_model("bedrock")


def _valid(operation: str, response: dict[str, Any]) -> None:
    """The parsed response fits botocore's output shape (required members, types, lengths)."""
    model = _service_model()
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, model.operation_model(operation).output_shape)
    assert not report.has_errors(), report.generate_report()


def _check_discovery(bedrock: Any, region: str) -> None:
    listed = bedrock.list_foundation_models()
    _valid("ListFoundationModels", listed)
    ids = [m["modelId"] for m in listed["modelSummaries"]]
    offered = [k for k, i in CATALOG.items() if not i.regions or region in i.regions]
    assert sorted(ids) == sorted(offered)
    for summary in listed["modelSummaries"]:
        info = CATALOG[summary["modelId"]]
        assert summary["modelName"] == info.display_name
        assert summary["modelArn"] == f"arn:aws:bedrock:{region}::foundation-model/{info.model_id}"
        assert summary["outputModalities"] == (["EMBEDDING"] if info.is_embedding else ["TEXT"])
        assert ("INFERENCE_PROFILE" in summary["inferenceTypesSupported"]) == info.requires_profile
        details = bedrock.get_foundation_model(modelIdentifier=summary["modelArn"])
        _valid("GetFoundationModel", details)
        assert details["modelDetails"] == summary
        assert (
            bedrock.get_foundation_model(modelIdentifier=info.model_id)["modelDetails"] == summary
        )
    # the filters
    anthropic = bedrock.list_foundation_models(byProvider="Anthropic")["modelSummaries"]
    assert {m["modelId"] for m in anthropic} == {k for k in offered if k.startswith("anthropic.")}
    embeddings = bedrock.list_foundation_models(byOutputModality="EMBEDDING")["modelSummaries"]
    assert {m["modelId"] for m in embeddings} == {k for k in offered if CATALOG[k].is_embedding}
    on_demand = bedrock.list_foundation_models(byInferenceType="ON_DEMAND")["modelSummaries"]
    assert {m["modelId"] for m in on_demand} == {k for k in offered if not CATALOG[k].requires_profile}  # fmt: skip
    assert bedrock.list_foundation_models(byCustomizationType="FINE_TUNING")["modelSummaries"] == []
    with pytest.raises(ClientError) as err:
        bedrock.get_foundation_model(modelIdentifier="anthropic.claude-none-v1:0")
    assert err.value.response["Error"]["Code"] == "ValidationException"

    # inference profiles: paginated, every one usable by a batch job, none for a model without
    pages = list(bedrock.get_paginator("list_inference_profiles").paginate(PaginationConfig={"PageSize": 7}))  # fmt: skip
    assert len(pages) > 1
    profiles = [p for page in pages for p in page["inferenceProfileSummaries"]]
    for page in pages:
        _valid("ListInferenceProfiles", page)
    profile_ids = [p["inferenceProfileId"] for p in profiles]
    assert len(profile_ids) == len(set(profile_ids))
    seen: set[str] = set()
    for profile in profiles:
        prefix, _, model_id = profile["inferenceProfileId"].partition(".")
        if prefix == "us-gov":  # pragma: no cover - not from these regions
            continue
        info = CATALOG[model_id]
        assert info.profiles is None or f"{prefix}." in info.profiles
        assert all(
            m["modelArn"].endswith(f"::foundation-model/{model_id}") for m in profile["models"]
        )
        assert profile["models"][0]["modelArn"].split(":")[3] == region
        if model_id in seen:  # one GetInferenceProfile a model keeps the test quick
            continue
        seen.add(model_id)
        got = bedrock.get_inference_profile(
            inferenceProfileIdentifier=profile["inferenceProfileArn"]
        )
        _valid("GetInferenceProfile", got)
        assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == profile
    assert not any(p.endswith(NOVA_EMBED) for p in profile_ids)
    assert (
        bedrock.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    )
    with pytest.raises(ClientError) as err:
        bedrock.get_inference_profile(inferenceProfileIdentifier=f"us.{NOVA_EMBED}")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_discovery_in_process_in_us_east_1() -> None:
    with LocalBedrock(clock="manual") as local:
        bedrock = local.client("bedrock")
        _check_discovery(bedrock, "us-east-1")
        profiles = {
            p["inferenceProfileId"]
            for p in bedrock.list_inference_profiles(maxResults=1000)["inferenceProfileSummaries"]
        }
        # the catalogue's profiles column: Haiku 4.5 has us., eu., jp., global. (us. and global.
        # usable here); Nova 2 multimodal embeddings has none
        assert {f"us.{HAIKU_45}", f"global.{HAIKU_45}"} <= profiles
        assert f"eu.{HAIKU_45}" not in profiles
        # a discovered profile runs a batch job as it is
        local.client("s3").create_bucket(Bucket=BUCKET)
        arn = bedrock.create_model_invocation_job(
            jobName="from-discovery", roleArn=ROLE, modelId=f"us.{HAIKU_45}",
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
        )["jobArn"]  # fmt: skip
        assert arn


def test_discovery_served_from_another_region() -> None:
    with serving() as server:
        bedrock = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
        ).client("bedrock", endpoint_url=server.endpoint_url)
        _check_discovery(bedrock, "eu-west-1")
        ids = {m["modelId"] for m in bedrock.list_foundation_models()["modelSummaries"]}
        assert NOVA_EMBED not in ids  # us-east-1 only
        profiles = {
            p["inferenceProfileId"]
            for p in bedrock.list_inference_profiles()["inferenceProfileSummaries"]
        }
        assert f"eu.{HAIKU_45}" in profiles and f"us.{HAIKU_45}" not in profiles

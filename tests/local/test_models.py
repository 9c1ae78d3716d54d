"""Synthetic models through bedrock-runtime, and Service Quotas."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrock_batch import Quotas
from bedrock_batch._records._records import build_embedding, build_prompt
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU, claude_body

GENERATION = [
    (HAIKU, "anthropic", "content"),
    ("amazon.titan-text-express-v1", "titan-text", "results"),
    ("meta.llama3-1-8b-instruct-v1:0", "llama", "generation"),
    ("mistral.mistral-large-2407-v1:0", "mistral", "choices"),
    ("amazon.nova-lite-v1:0", "nova", "output"),
]


@pytest.fixture
def runtime(local: LocalBedrock) -> Any:
    return local.client("bedrock-runtime")


def invoke(runtime: Any, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = runtime.invoke_model(modelId=model_id, body=json.dumps(body))
    return dict(json.loads(resp["body"].read()))


@pytest.mark.parametrize(("model_id", "family", "top_key"), GENERATION)
def test_each_family_answers_in_its_schema_deterministically(
    runtime: Any, model_id: str, family: Any, top_key: str
) -> None:
    body = build_prompt(family, "Tell me about tea ceremonies", system="Be brief", max_tokens=100)
    a = invoke(runtime, model_id, body)
    b = invoke(runtime, model_id, body)
    assert a == b and top_key in a
    from bedrock_batch._families._outputs import output_text, output_usage

    assert output_text(a)
    usage = output_usage(a)
    if family == "mistral":  # Mistral's documented body carries no token counts
        assert usage.total_tokens == 0
    else:
        assert usage.input_tokens > 0 and 0 < usage.output_tokens <= 100


def test_max_tokens_respected_with_stop_reason(runtime: Any) -> None:
    out = invoke(runtime, HAIKU, claude_body("hello there", max_tokens=3))
    assert out["usage"]["output_tokens"] <= 3 and out["stop_reason"] == "max_tokens"


@pytest.mark.parametrize(("dims", "normalize"), [(256, True), (512, False), (1024, True)])
def test_titan_embeddings_v2_dimensions_and_normalize(
    runtime: Any, dims: int, normalize: bool
) -> None:
    out = invoke(
        runtime,
        "amazon.titan-embed-text-v2:0",
        build_embedding("titan-embed-text", "hello", dimensions=dims, normalize=normalize),
    )
    assert len(out["embedding"]) == dims == len(out["embeddingsByType"]["float"])
    norm = math.sqrt(sum(v * v for v in out["embedding"]))
    assert (abs(norm - 1) < 1e-4) is normalize
    assert out["inputTextTokenCount"] > 0


def test_titan_multimodal_embeddings(runtime: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    out = invoke(
        runtime,
        "amazon.titan-embed-image-v1",
        build_embedding("titan-embed-image", "a cat", image=png, dimensions=384),
    )
    assert len(out["embedding"]) == 384


def test_converse_runtime(runtime: Any) -> None:
    resp = runtime.converse(
        modelId="amazon.nova-micro-v1:0",
        messages=[{"role": "user", "content": [{"text": "hi"}]}],
        inferenceConfig={"maxTokens": 50},
    )
    assert resp["output"]["message"]["content"][0]["text"]
    assert (
        resp["usage"]["totalTokens"] == resp["usage"]["inputTokens"] + resp["usage"]["outputTokens"]
    )
    assert resp["stopReason"] in ("end_turn", "max_tokens")


@pytest.mark.parametrize(
    ("model_id", "body", "fragment"),
    [
        (
            HAIKU,
            {**claude_body("x"), "modelId": "m"},
            "Extra inputs are not permitted",
        ),
        (
            HAIKU,
            claude_body("x", max_tokens=99999),
            "maximum allowed",
        ),
        (
            HAIKU,
            {**claude_body("x"), "temperature": 3},
            "temperature",
        ),
        ("amazon.titan-text-express-v1", {"inputText": "x", "foo": 1}, "extraneous key [foo]"),
        ("meta.llama3-1-8b-instruct-v1:0", {"max_gen_len": 10}, "required key [prompt]"),
        ("meta.llama3-1-8b-instruct-v1:0", {"prompt": "x", "max_gen_len": 5000}, "max_gen_len"),
        (
            "amazon.nova-lite-v1:0",
            {
                "messages": [{"role": "user", "content": [{"text": "x"}]}],
                "inferenceConfig": {"maxTokens": 20000},
            },
            "maxTokens",
        ),
        ("amazon.titan-embed-text-v2:0", {"inputText": "x", "dimensions": 100}, "dimensions"),
        ("mistral.mistral-small-2402-v1:0", {"max_tokens": 5}, "messages"),
    ],
)
def test_invalid_bodies_refused_like_the_model(
    runtime: Any, model_id: str, body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ClientError) as err:
        invoke(runtime, model_id, body)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in str(err.value)


def test_claude_45_sampling_rule_and_profile_required(runtime: Any) -> None:
    body = {**claude_body("x"), "temperature": 0.5, "top_p": 0.9}
    with pytest.raises(ClientError, match="inference profile"):
        invoke(runtime, "anthropic.claude-haiku-4-5-20251001-v1:0", body)
    with pytest.raises(ClientError, match="cannot both be specified"):
        invoke(runtime, "us.anthropic.claude-haiku-4-5-20251001-v1:0", body)


def test_service_quotas_names_values_and_overrides() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: Quotas.legacy_2024()}) as local:
        sq = local.client("service-quotas")
        quotas = [
            q
            for page in sq.get_paginator("list_service_quotas").paginate(ServiceCode="bedrock")
            for q in page["Quotas"]
        ]
        by_name = {q["QuotaName"]: q for q in quotas}
        mini = by_name["Minimum number of records per batch inference job for Claude 3 Haiku"]
        assert mini["QuotaCode"] == "L-AE7F26D4" and mini["Value"] == 1000.0
        assert by_name["Batch inference input file size (in GB) for Claude 3 Haiku"]["Value"] == 0.2
        assert by_name["Batch inference job size (in GB) for Claude 3 Haiku"]["Value"] == 1.0
        assert (
            by_name[
                "Sum of in-progress and submitted batch inference jobs using a base model for Claude 3 Haiku"
            ]["Value"]
            == 3.0
        )
        assert (
            by_name["Minimum number of records per batch inference job for Nova Lite V1"]["Value"]
            == 100.0
        )
        defaults = sq.list_aws_default_service_quotas(ServiceCode="bedrock", MaxResults=100)[
            "Quotas"
        ]
        assert {q["QuotaName"]: q["Value"] for q in defaults}[
            "Minimum number of records per batch inference job for Claude 3 Haiku"
        ] == 100.0
        got = sq.get_service_quota(ServiceCode="bedrock", QuotaCode="L-AE7F26D4")["Quota"]
        assert got["Value"] == 1000.0
        with pytest.raises(ClientError) as err:
            sq.get_service_quota(ServiceCode="bedrock", QuotaCode="L-00000000")
        assert err.value.response["Error"]["Code"] == "NoSuchResourceException"

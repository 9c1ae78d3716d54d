"""Hypothesis fuzzing: no request makes Local Bedrock answer 5xx unless a fault was injected."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch.local import LocalBedrock
from bedrock_batch.local._wire._http import Request, Response
from bedrock_batch.local._wire._service_model import matches_pattern as pattern_fullmatch

from ..conftest import BUCKET, HAIKU, ROLE

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=80)
)
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=5),
    max_leaves=20,
)
names = st.text(max_size=80) | st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9\-+.]{0,70}", fullmatch=True)
s3_uris = st.text(max_size=40).map(lambda t: "s3://" + t) | st.from_regex(
    r"s3://[a-z0-9][a-z0-9.-]{1,20}[a-z0-9](/[a-zA-Z0-9_.-]{1,10}){0,3}/?", fullmatch=True
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy | json_values


create_bodies = st.fixed_dictionaries(
    {},
    optional={
        "jobName": maybe(names),
        "roleArn": maybe(st.sampled_from([ROLE, "arn:aws:iam::1:role/x", "x"])),
        "modelId": maybe(
            st.sampled_from(
                [HAIKU, "us." + HAIKU, "nope", "arn:aws:bedrock:us-east-1::foundation-model/x.y"]
            )
        ),
        "clientRequestToken": maybe(st.text(max_size=300)),
        "inputDataConfig": maybe(
            st.fixed_dictionaries(
                {
                    "s3InputDataConfig": st.fixed_dictionaries(
                        {"s3Uri": s3_uris}, optional={"s3BucketOwner": json_values}
                    )
                }
            )
        ),
        "outputDataConfig": maybe(
            st.fixed_dictionaries({"s3OutputDataConfig": st.fixed_dictionaries({"s3Uri": s3_uris})})
        ),
        "timeoutDurationInHours": maybe(st.integers(-10, 500)),
        "modelInvocationType": maybe(st.sampled_from(["InvokeModel", "Converse", "Other"])),
        "tags": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"key": st.text(max_size=140), "value": st.text(max_size=10)}
                ),
                max_size=3,
            )
        ),
        "vpcConfig": maybe(
            st.fixed_dictionaries({"subnetIds": st.lists(st.text(max_size=5), max_size=20)})
        ),
    },
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[LocalBedrock]:
    with LocalBedrock(clock="manual") as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        yield local


def call(
    local: LocalBedrock,
    service: str,
    method: str,
    path: str,
    body: Any = None,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    raw = (
        body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    )
    url = f"http://x{path}" + (f"?{query}" if query else "")
    return local.router.handle(service, Request.from_url(method, url, headers or {}, raw))


def ok_or_4xx(resp: Response) -> None:
    assert resp.status < 500, resp.body
    payload = json.loads(resp.body)
    if resp.status >= 400:
        assert resp.headers["x-amzn-ErrorType"].endswith(":")
        assert isinstance(payload["message"], str)


@given(body=create_bodies)
def test_create_never_500(emulator: LocalBedrock, body: dict[str, Any]) -> None:
    ok_or_4xx(
        call(
            emulator,
            "bedrock",
            "POST",
            "/model-invocation-job",
            {k: v for k, v in body.items() if v is not None},
        )
    )


@given(raw=st.binary(max_size=60))
def test_garbage_bodies_never_500(emulator: LocalBedrock, raw: bytes) -> None:
    ok_or_4xx(call(emulator, "bedrock", "POST", "/model-invocation-job", raw))
    ok_or_4xx(call(emulator, "bedrock-runtime", "POST", f"/model/{HAIKU}/invoke", raw))
    ok_or_4xx(
        call(
            emulator,
            "service-quotas",
            "POST",
            "/",
            raw,
            headers={"X-Amz-Target": "ServiceQuotasV20190624.ListServiceQuotas"},
        )
    )


@given(identifier=st.text(max_size=120), stop=st.booleans())
def test_get_and_stop_never_500(emulator: LocalBedrock, identifier: str, stop: bool) -> None:
    path = f"/model-invocation-job/{quote(identifier, safe='')}" + ("/stop" if stop else "")
    ok_or_4xx(call(emulator, "bedrock", "POST" if stop else "GET", path))


@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "statusEquals",
                "nameContains",
                "maxResults",
                "nextToken",
                "sortBy",
                "sortOrder",
                "submitTimeAfter",
                "submitTimeBefore",
            ]
        ),
        st.text(max_size=30),
        max_size=5,
    )
)
def test_list_never_500(emulator: LocalBedrock, params: dict[str, str]) -> None:
    ok_or_4xx(call(emulator, "bedrock", "GET", "/model-invocation-jobs", query=urlencode(params)))


@given(
    model=st.sampled_from(
        [
            HAIKU,
            "amazon.nova-lite-v1:0",
            "amazon.titan-embed-text-v2:0",
            "meta.llama3-1-8b-instruct-v1:0",
            "mistral.mistral-small-2402-v1:0",
            "amazon.titan-text-express-v1",
            "amazon.titan-embed-image-v1",
            "x",
        ]
    ),
    body=json_values,
    converse=st.booleans(),
)
def test_runtime_never_500(emulator: LocalBedrock, model: str, body: Any, converse: bool) -> None:
    ok_or_4xx(
        call(
            emulator,
            "bedrock-runtime",
            "POST",
            f"/model/{quote(model, safe='')}/{'converse' if converse else 'invoke'}",
            body,
        )
    )


@given(
    op=st.sampled_from(
        ["ListServiceQuotas", "GetServiceQuota", "ListAWSDefaultServiceQuotas", "Nope"]
    ),
    body=json_values,
)
def test_service_quotas_never_500(emulator: LocalBedrock, op: str, body: Any) -> None:
    ok_or_4xx(
        call(
            emulator,
            "service-quotas",
            "POST",
            "/",
            body,
            headers={"X-Amz-Target": f"ServiceQuotasV20190624.{op}"},
        )
    )


@given(tags=json_values, keys=json_values)
def test_tagging_never_500(emulator: LocalBedrock, tags: Any, keys: Any) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef"
    ok_or_4xx(call(emulator, "bedrock", "POST", "/tagResource", {"resourceARN": arn, "tags": tags}))
    ok_or_4xx(
        call(emulator, "bedrock", "POST", "/untagResource", {"resourceARN": arn, "tagKeys": keys})
    )


JOB_NAME = r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}"


@given(st.text(alphabet="ab-+.!_ ", max_size=63))
def test_safe_job_name_pattern_is_equivalent_to_the_service_model(name: str) -> None:
    reference = (
        re.fullmatch(r"[a-zA-Z0-9]+[a-zA-Z0-9\+\-\.]*", name) is not None
    )  # no backtracking trap
    assert pattern_fullmatch(JOB_NAME, name) is reference


def test_adversarial_job_name_is_fast() -> None:
    assert not pattern_fullmatch(JOB_NAME, "a-" * 31 + "!")


# --- the service-model walker against references ----------------------------------------------


@given(body=create_bodies)
def test_the_walker_flags_everything_botocore_flags(body: dict[str, Any]) -> None:
    """botocore's own validator is a reference for what it checks (required, types, minimums,
    unions); the walker must refuse all of it, and adds maximums, patterns and enums."""
    from botocore.validate import ParamValidator

    from bedrock_batch.local._wire._service_model import check_request, operation

    params = {k: v for k, v in body.items() if v is not None}
    shape = operation("bedrock", "CreateModelInvocationJob").input_shape
    if ParamValidator().validate(params, shape).has_errors():
        assert check_request("bedrock", "CreateModelInvocationJob", params) is not None


S3_URI = (
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
)
ROLE_ARN = r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"


@given(
    value=st.text(max_size=60)
    | st.from_regex(S3_URI, fullmatch=True)
    | st.from_regex(ROLE_ARN, fullmatch=True)
)
def test_patterns_match_like_a_full_regex_match(value: str) -> None:
    for pattern in (S3_URI, ROLE_ARN):
        assert pattern_fullmatch(pattern, value) is (re.fullmatch(pattern, value) is not None)

"""Unsupported JSON Schema keywords in a native structured output's schema (facts §12.3: the
service answers an unsupported feature with an immediate 400, and which keywords those are is
UNVERIFIED): ``NATIVE_SCHEMA_UNSUPPORTED`` is a configurable guess, and a schema using one of
its keywords is refused by ``add_prompt`` with a specific error before anything is uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bedrock_batch import ValidationError
from bedrock_batch._families import _features
from bedrock_batch._families._features import NATIVE_SCHEMA_UNSUPPORTED, unsupported_keyword
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU, job_on

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
NOVA2 = "us.amazon.nova-2-lite-v1:0"

CONDITIONAL: dict[str, Any] = {
    "type": "object",
    "properties": {"kind": {"type": "string"}, "size": {"type": "integer"}},
    "if": {"properties": {"kind": {"const": "big"}}},
    "then": {"required": ["size"]},
}
# "if", "not" and "contains" as property names are names, not keywords
NAMES: dict[str, Any] = {
    "type": "object",
    "properties": {"if": {"type": "string"}, "not": {"enum": ["not"]}, "contains": {}},
    "required": ["if", "not"],
}


@pytest.fixture
def keywords() -> Iterator[set[str]]:
    saved = set(NATIVE_SCHEMA_UNSUPPORTED)
    yield NATIVE_SCHEMA_UNSUPPORTED
    NATIVE_SCHEMA_UNSUPPORTED.clear()
    NATIVE_SCHEMA_UNSUPPORTED.update(saved)


@pytest.mark.parametrize("model_id", [SONNET45, GPT_OSS, NOVA2])
def test_a_listed_keyword_is_refused_before_upload(local: LocalBedrock, model_id: str) -> None:
    job = job_on(local, model_id)
    with pytest.raises(ValidationError, match="NATIVE_SCHEMA_UNSUPPORTED") as err:
        job.add_prompt("Describe.", max_tokens=100, output_schema=CONDITIONAL)
    assert err.value.problems[0].field == "output_schema.if"
    assert len(job) == 0
    s3 = local.session().client("s3")
    assert s3.list_objects_v2(Bucket="bkt").get("KeyCount", 0) == 0


def test_the_list_is_configurable(local: LocalBedrock, keywords: set[str]) -> None:
    keywords.discard("if")
    keywords.discard("then")
    job = job_on(local, SONNET45)
    job.add_prompt("Describe.", max_tokens=100, output_schema=CONDITIONAL)
    keywords.add("minLength")
    with pytest.raises(ValidationError, match="'minLength'") as err:
        job.add_prompt(
            "Describe.",
            max_tokens=100,
            output_schema={
                "type": "object",
                "properties": {"a": {"type": "string", "minLength": 1}},
            },
        )
    assert err.value.problems[0].field == "output_schema.properties.a.minLength"


def test_a_dropped_keyword_is_not_refused(local: LocalBedrock, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(_features, "NATIVE_SCHEMA_DROP", {"if", "then"})
    job = job_on(local, SONNET45)
    job.add_prompt("Describe.", max_tokens=100, output_schema=CONDITIONAL)


def test_property_names_and_literals_are_not_keywords() -> None:
    assert unsupported_keyword(NAMES) is None
    assert unsupported_keyword({"enum": [{"if": 1}], "default": {"not": 2}}) is None
    nested = {"type": "object", "properties": {"a": {"anyOf": [{"not": {"type": "null"}}]}}}
    assert unsupported_keyword(nested) == ("not", "$.properties.a.anyOf.0.not")


def test_the_forced_tool_route_of_a_model_without_native_outputs_is_not_checked(local: LocalBedrock) -> None:  # fmt: skip
    job = job_on(local, HAIKU)  # Claude 3 Haiku: a plain forced tool, no grammar
    job.add_prompt("Describe.", max_tokens=100, output_schema=CONDITIONAL)
    assert len(job) == 1

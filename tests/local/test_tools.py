"""Tool use and structured output on Local Bedrock: batch jobs, bedrock-runtime, and the
schema-driven tool inputs (checked with jsonschema)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch._catalog import CATALOG
from bedrock_batch.local import LocalBedrock, Quotas, RecordContext, synthetic
from bedrock_batch.local._families._anthropic import encoded_answer
from bedrock_batch.local._families._schema_instances import instance_for

from ..conftest import BUCKET, HAIKU, claude_body, create_job, jsonl, read_out

EXTRACTION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 3, "maxLength": 40},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": 5,
            "uniqueItems": True,
        },
        "author": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
            },
            "required": ["name", "email"],
            "additionalProperties": False,
        },
        "published": {"type": ["string", "null"], "format": "date"},
        "entities": {"type": "array", "items": {"$ref": "#/$defs/entity"}},
    },
    "required": ["title", "sentiment", "score", "tags", "author"],
    "additionalProperties": False,
    "$defs": {
        "entity": {
            "type": "object",
            "properties": {"kind": {"enum": ["person", "place"]}, "name": {"type": "string"}},
            "required": ["kind", "name"],
        }
    },
}
CHECKER = jsonschema.FormatChecker()


def validate(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=CHECKER).validate(instance)


def forced(text: str, name: str = "extract") -> dict[str, Any]:
    return {
        **claude_body(text),
        "tools": [{"name": name, "description": "Extract", "input_schema": EXTRACTION}],
        "tool_choice": {"type": "tool", "name": name},
    }


def test_forced_tool_claude_batch_answers_100_schema_valid_tool_calls(
    local: LocalBedrock, s3: Any, bedrock: Any
) -> None:
    s3.put_object(
        Bucket=BUCKET,
        Key="in/tools.jsonl",
        Body=jsonl(
            [{"recordId": f"r{i:03d}", "modelInput": forced(f"review {i}")} for i in range(100)]
        ),
    )
    arn = create_job(bedrock)
    local.run_until_idle()
    d = bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert (d["status"], d["successRecordCount"]) == ("Completed", 100)
    lines = read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/tools.jsonl.out")
    blocks = [line["modelOutput"]["content"] for line in lines]
    assert all(len(b) == 1 and b[0]["type"] == "tool_use" for b in blocks)
    assert {line["modelOutput"]["stop_reason"] for line in lines} == {"tool_use"}
    for block in blocks:
        assert block[0]["name"] == "extract" and block[0]["id"].startswith("toolu_bdrk_")
        validate(block[0]["input"], EXTRACTION)
    assert len({json.dumps(b[0]["input"], sort_keys=True) for b in blocks}) > 50  # varied
    assert len({b[0]["id"] for b in blocks}) == 100


def invoke(runtime: Any, model: str, body: dict[str, Any]) -> dict[str, Any]:
    return dict(
        json.loads(runtime.invoke_model(modelId=model, body=json.dumps(body))["body"].read())
    )


def test_runtime_tool_calls_are_deterministic_and_schema_valid(local: LocalBedrock) -> None:
    runtime = local.client("bedrock-runtime")
    first = invoke(runtime, HAIKU, forced("same input"))
    assert first == invoke(runtime, HAIKU, forced("same input"))
    validate(first["content"][0]["input"], EXTRACTION)
    auto = {**forced("x"), "tool_choice": {"type": "auto"}}
    assert invoke(runtime, HAIKU, auto)["stop_reason"] == "tool_use"
    none = {**forced("x"), "tool_choice": {"type": "none"}}
    assert invoke(runtime, HAIKU, none)["content"][0]["type"] == "text"
    tool_use = first["content"][0]
    after = {
        **auto,
        "messages": [
            *auto["messages"],
            {"role": "assistant", "content": [tool_use]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": tool_use["id"], "content": "ok"}
                ],
            },
        ],
    }
    answer = invoke(runtime, HAIKU, after)  # auto after the results: the loop ends in text
    assert answer["stop_reason"] == "end_turn" and answer["content"][0]["type"] == "text"


def tool_config(choice: dict[str, Any]) -> dict[str, Any]:
    spec = {"name": "extract", "description": "Extract", "inputSchema": {"json": EXTRACTION}}
    return {"tools": [{"toolSpec": spec}], "toolChoice": choice}


@pytest.mark.parametrize("model", [HAIKU, "amazon.nova-lite-v1:0"])
def test_runtime_converse_tool_config_answers_a_tool_use_block(
    local: LocalBedrock, model: str
) -> None:
    runtime = local.client("bedrock-runtime")
    resp = runtime.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": "extract"}]}],
        toolConfig=tool_config({"tool": {"name": "extract"}}),
    )
    assert resp["stopReason"] == "tool_use"
    block = resp["output"]["message"]["content"][0]["toolUse"]
    assert block["name"] == "extract" and block["toolUseId"].startswith("tooluse_")
    validate(block["input"], EXTRACTION)
    assert resp["metrics"]["latencyMs"] > 0


def test_converse_batch_record_with_tool_config_gets_the_per_record_400(
    local: LocalBedrock, s3: Any, bedrock: Any
) -> None:
    body = {
        "messages": [{"role": "user", "content": [{"text": "extract"}]}],
        "inferenceConfig": {"maxTokens": 200},
    }
    records = [{"recordId": f"c{i}", "modelInput": body} for i in range(100)]
    records[7] = {"recordId": "c7", "modelInput": {**body, "toolConfig": tool_config({"any": {}})}}
    s3.put_object(Bucket=BUCKET, Key="in/c.jsonl", Body=jsonl(records))
    arn = create_job(bedrock, modelInvocationType="Converse")
    local.run_until_idle()
    d = bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert (d["status"], d["successRecordCount"], d["errorRecordCount"]) == ("Completed", 99, 1)
    line = next(
        x for x in read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/c.jsonl.out") if x["recordId"] == "c7"
    )
    assert line["error"] == {
        "errorCode": 400,
        "errorMessage": "Tool use (toolConfig) is not supported for batch inference with the Converse API.",
        "expired": False,
        "retryable": False,
    }


def test_nova_and_mistral_native_tools_in_a_batch_job() -> None:
    nova = {
        "messages": [{"role": "user", "content": [{"text": "extract"}]}],
        "toolConfig": tool_config({"any": {}}),
    }
    mistral = {
        "messages": [{"role": "user", "content": "extract"}],
        "tools": [{"type": "function", "function": {"name": "extract", "parameters": EXTRACTION}}],
        "tool_choice": "any",
    }
    with LocalBedrock(clock="manual", default_quotas=Quotas(min_records_per_job=1)) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        bedrock = local.client("bedrock")
        arns = {}
        for model, body in (
            ("amazon.nova-lite-v1:0", nova),
            ("mistral.mistral-large-2407-v1:0", mistral),
        ):
            key = f"in/{model.replace(':', '-')}.jsonl"
            s3.put_object(
                Bucket=BUCKET,
                Key=key,
                Body=jsonl([{"recordId": f"r{i}", "modelInput": body} for i in range(5)]),
            )
            arns[model] = create_job(
                bedrock,
                jobName=model.split(".")[1].split("-")[0],
                modelId=model,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/{key}"}},
            )
        local.run_until_idle()
        for model, arn in arns.items():
            for line in read_out(
                s3, f"out/{arn.rsplit('/', 1)[1]}/{model.replace(':', '-')}.jsonl.out"
            ):
                out = line["modelOutput"]
                if model.startswith("amazon"):
                    assert out["stopReason"] == "tool_use"
                    validate(out["output"]["message"]["content"][0]["toolUse"]["input"], EXTRACTION)
                else:
                    call = out["choices"][0]["message"]["tool_calls"][0]
                    assert out["choices"][0]["stop_reason"] == "tool_calls"
                    validate(json.loads(call["function"]["arguments"]), EXTRACTION)


def test_structured_output_through_converse(local: LocalBedrock) -> None:
    runtime = local.client("bedrock-runtime")
    resp = runtime.converse(
        modelId=HAIKU,
        messages=[{"role": "user", "content": [{"text": "classify"}]}],
        outputConfig={
            "textFormat": {
                "type": "json_schema",
                "structure": {"jsonSchema": {"schema": json.dumps(EXTRACTION), "name": "x"}},
            }
        },
    )
    validate(json.loads(resp["output"]["message"]["content"][0]["text"]), EXTRACTION)


def test_a_user_responder_can_still_answer_anything() -> None:
    def responder(ctx: RecordContext) -> dict[str, Any]:
        return {
            "content": [{"type": "text", "text": "no tools today"}],
            "usage": {"input_tokens": 1, "output_tokens": 2},
        }

    with LocalBedrock(clock="manual", responder=responder) as local:
        out = invoke(local.client("bedrock-runtime"), HAIKU, forced("x"))
    assert out["content"][0]["text"] == "no tools today"


# --- the schema-driven generator, property-tested against jsonschema -----------------------------

names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=8)


@st.composite
def integer_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    lo = draw(st.none() | st.integers(-50, 50))
    hi = draw(st.none() | st.integers(-50, 50))
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    exclusive = draw(st.booleans()) and lo is not None and hi is not None and hi - lo >= 3
    if lo is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = lo
    if hi is not None:
        schema["exclusiveMaximum" if exclusive else "maximum"] = hi
    if draw(st.booleans()) and lo is None and hi is None:
        schema["multipleOf"] = draw(st.integers(2, 7))
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> dict[str, Any]:
    lo = draw(st.floats(-100, 100))
    hi = draw(st.floats(lo + 0.5, lo + 200))
    exclusive = draw(st.booleans())
    return {
        "type": "number",
        "exclusiveMinimum" if exclusive else "minimum": lo,
        "exclusiveMaximum" if exclusive else "maximum": hi,
    }


@st.composite
def string_schemas(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):  # a format, and lengths that leave room for it
        return {
            "type": "string",
            "format": draw(st.sampled_from(["date", "date-time", "email", "uuid", "ipv4"])),
            "maxLength": 40,
        }
    lo = draw(st.integers(0, 12))
    return {"type": "string", "minLength": lo, "maxLength": draw(st.integers(lo, lo + 30))}


leaves = (
    integer_schemas()
    | number_schemas()
    | string_schemas()
    | st.just({"type": "boolean"})
    | st.just({"type": "null"})
    | st.lists(words, min_size=1, max_size=4, unique=True).map(lambda e: {"enum": e})
    | st.integers().map(lambda v: {"const": v})
    | st.just({"type": ["string", "null"]})
)


def containers(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        props = draw(st.dictionaries(names, children, max_size=4))
        required = draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
        schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        lo = draw(st.integers(0, 3))
        return {
            "type": "array",
            "items": draw(children),
            "minItems": lo,
            "maxItems": lo + draw(st.integers(0, 3)),
        }

    @st.composite
    def any_of(draw: st.DrawFn) -> dict[str, Any]:
        return {"anyOf": draw(st.lists(children, min_size=1, max_size=3))}

    return objects() | arrays() | any_of()


schemas = st.recursive(leaves, containers, max_leaves=12)


@given(schema=schemas, seed=st.integers(0, 2**32 - 1))
def test_generated_instances_always_validate(schema: dict[str, Any], seed: int) -> None:
    instance = instance_for(schema, seed)
    validate(instance, schema)
    assert instance_for(schema, seed) == instance  # deterministic


@given(schema=schemas, seed=st.integers(0, 2**32 - 1))
def test_refs_and_all_of_resolve(schema: dict[str, Any], seed: int) -> None:
    wrapped = {
        "$defs": {"inner": schema},
        "allOf": [
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/inner"}}, "required": ["a"]},
            {
                "type": "object",
                "properties": {"b": {"type": "integer", "minimum": 3}},
                "required": ["b"],
            },
        ],
    }
    validate(instance_for(wrapped, seed), wrapped)


texts = st.text(min_size=1, max_size=200)


@given(
    text=texts, max_tokens=st.integers(1, 4096), system=st.none() | texts, rid=st.text(max_size=12)
)
def test_the_encoded_fast_path_equals_the_synthetic_answer(
    text: str, max_tokens: int, system: str | None, rid: str
) -> None:
    body = claude_body(text, max_tokens)
    if system is not None:
        body["system"] = system
    ctx = RecordContext(rid, HAIKU, CATALOG[HAIKU], "InvokeModel", body)
    fast = encoded_answer(ctx)
    assert fast is not None
    answer = synthetic(ctx)
    assert json.loads(fast[0]) == answer
    assert fast[1:] == (answer["usage"]["input_tokens"], answer["usage"]["output_tokens"])


def test_bad_requests_on_the_runtime_are_validation_exceptions(local: LocalBedrock) -> None:
    runtime = local.client("bedrock-runtime")
    with pytest.raises(ClientError) as err:
        runtime.converse(
            modelId="amazon.titan-text-express-v1",
            messages=[{"role": "user", "content": [{"text": "x"}]}],
            toolConfig=tool_config({"auto": {}}),
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"

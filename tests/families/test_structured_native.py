"""Bedrock's own structured outputs (facts §12.3): the route ``add_prompt(output_schema=...)``
takes per model and invocation type (``structured="auto" | "native" | "tool"``), the bodies
each route builds (they pass their family's check), and the answers read back from the shapes
the facts document: JSON text in Claude's ``content``, in Converse's ``output.message`` and in
``choices[0].message.content`` after gpt-oss's reasoning; a cut-short answer is invalid before
it is parsed. The end-to-end batches at the bottom need the emulator's side of issue 17."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from bedrock_batch import BatchJob, ValidationError
from bedrock_batch._families._features import NATIVE_SCHEMA_DROP, closed_schema, open_object
from bedrock_batch._families._registry import get
from bedrock_batch._families._structured import parse_answer
from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
NOVA2 = "us.amazon.nova-2-lite-v1:0"
NOVA1 = "amazon.nova-lite-v1:0"


class City(BaseModel):
    name: str
    country: str
    size: Literal["small", "large"]


CITY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "country": {"type": "string"},
        "size": {"enum": ["small", "large"]},
        "tags": {
            "type": "array",
            "items": {"type": "object", "properties": {"t": {"type": "string"}}},
        },
    },
    "required": ["name", "country", "size"],
}
KYOTO = {"name": "Kyoto", "country": "Japan", "size": "large"}


def first_body(job: BatchJob) -> dict[str, Any]:
    line = next(job._records.store.iter_lines(0, 1))
    body: dict[str, Any] = json.loads(line)["modelInput"]
    return body


def built(local: LocalBedrock, model_id: str, **kwargs: Any) -> dict[str, Any]:
    """The body ``add_prompt`` builds for a structured output on ``model_id``."""
    options = {k: kwargs.pop(k) for k in ("invocation_type", "mode") if k in kwargs}
    job = job_on(local, model_id, **options)
    job.add_prompt("Describe a city.", max_tokens=300, **kwargs)
    return first_body(job)


# --- routes --------------------------------------------------------------------------------------


def test_claude_with_native_outputs_gets_output_config_with_a_closed_schema(local: LocalBedrock) -> None:  # fmt: skip
    body = built(local, SONNET45, output_schema=CITY)
    schema = body["output_config"]["format"]["schema"]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert "tools" not in body and "tool_choice" not in body
    assert open_object(schema, "$") is None  # additionalProperties: false on every object
    assert schema["properties"]["tags"]["items"]["additionalProperties"] is False
    assert get("anthropic").check(body, None) is None  # type: ignore[union-attr]


def test_the_tool_route_on_a_native_model_marks_the_tool_strict(local: LocalBedrock) -> None:
    body = built(local, SONNET45, output_schema=City, structured="tool")
    assert body["tool_choice"] == {"type": "tool", "name": "structured_output"}
    tool = body["tools"][0]
    assert tool["strict"] is True and tool["input_schema"]["additionalProperties"] is False
    old = built(local, HAIKU3, output_schema=City)  # no native outputs: the plain forced tool
    assert "strict" not in old["tools"][0] and "output_config" not in old
    assert old["tool_choice"] == {"type": "tool", "name": "structured_output"}


def test_gpt_oss_gets_response_format(local: LocalBedrock, caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="bedrock_batch"):
        body = built(local, GPT_OSS, output_schema=City, tool_name="city")
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "city"
    assert fmt["json_schema"]["strict"] is True
    assert open_object(fmt["json_schema"]["schema"], "$") is None
    forced = built(local, GPT_OSS, output_schema=City, structured="tool")
    assert forced["tool_choice"] == {"type": "function", "function": {"name": "structured_output"}}


def test_converse_batch_uses_text_format_with_the_schema_as_a_string(local: LocalBedrock) -> None:
    body = built(local, NOVA2, output_schema=City, invocation_type="Converse")
    definition = body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert isinstance(definition["schema"], str) and definition["name"] == "structured_output"
    assert open_object(json.loads(definition["schema"]), "$") is None
    assert "toolConfig" not in body
    with pytest.raises(ValidationError, match="structured='tool' with the Converse API"):
        built(local, NOVA2, output_schema=City, invocation_type="Converse", structured="tool")
    with pytest.raises(ValidationError, match="need mode='on_demand'"):
        built(local, HAIKU3, output_schema=City, invocation_type="Converse")
    # asked for explicitly, a model without the catalogue's word gets textFormat anyway
    forced = built(local, HAIKU3, output_schema=City, invocation_type="Converse", structured="native")  # fmt: skip
    assert "outputConfig" in forced


def test_nova_invoke_model_keeps_the_forced_tool_and_refuses_native(local: LocalBedrock) -> None:
    body = built(local, NOVA1, output_schema=City)
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "structured_output"}}
    with pytest.raises(ValidationError, match=r"native structured output .*is not supported"):
        built(local, NOVA1, output_schema=City, structured="native")
    with pytest.raises(ValidationError, match="structured must be one of"):
        built(local, SONNET45, output_schema=City, structured="json")  # type: ignore[arg-type]


def test_native_schema_drop_is_a_knob(local: LocalBedrock) -> None:
    assert closed_schema(CITY)["properties"]["name"]["minLength"] == 1
    NATIVE_SCHEMA_DROP.add("minLength")
    try:
        assert "minLength" not in closed_schema(CITY)["properties"]["name"]
    finally:
        NATIVE_SCHEMA_DROP.discard("minLength")


# --- reading the answers ---------------------------------------------------------------------------


def claude_answer(text: str, stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_bdrk_1", "type": "message", "role": "assistant", "model": "x",
        "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 12},
    }  # fmt: skip


def converse_answer(text: str, stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop, "usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42},
    }  # fmt: skip


def chat_answer(text: str, finish: str = "stop") -> dict[str, Any]:
    return {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
    }


def request(family: str, schema: dict[str, Any]) -> dict[str, Any]:
    impl = get(family)
    assert impl is not None
    return {"messages": []} | impl.native_structured_output(schema, "city", None)


@pytest.mark.parametrize(
    ("family", "answer"),
    [
        ("anthropic", claude_answer),
        ("converse", converse_answer),
        ("openai-chat", lambda text, *a: chat_answer("<reasoning>think</reasoning>" + text, *a)),
    ],
)
def test_native_answers_are_parsed_and_validated(family: str, answer: Any) -> None:
    body = request(family, CITY)
    reader = get(family)
    models = {"city": City, "": City}
    forced, parsed, problem = parse_answer(body, answer(json.dumps(KYOTO)), models, reader)
    assert forced and problem is None and parsed == City(**KYOTO)
    forced, parsed, problem = parse_answer(body, answer(json.dumps(KYOTO)), {}, reader)
    assert problem is None and parsed == KYOTO  # validated by the schema the request carried
    bad = {**KYOTO, "size": "huge"}
    _, parsed, problem = parse_answer(body, answer(json.dumps(bad)), {}, reader)
    assert problem is not None and "huge" in problem
    _, parsed, problem = parse_answer(body, answer('{"name": "Ky'), {}, reader)
    assert parsed is None and problem is not None and "not JSON" in problem
    cut = "max_tokens" if family != "openai-chat" else "length"
    _, parsed, problem = parse_answer(body, answer(json.dumps(KYOTO), cut), {}, reader)
    assert (
        parsed is None and problem == f"the answer was cut short (stop reason {cut!r}): not parsed"
    )


def test_a_cut_short_tool_answer_is_invalid_too() -> None:
    anthropic = get("anthropic")
    assert anthropic is not None
    body = {"messages": []} | anthropic.forced_tool(CITY, "city", "Report it.")
    output = {
        "content": [{"type": "tool_use", "id": "t", "name": "city", "input": {"name": "Ky"}}],
        "stop_reason": "max_tokens",
    }
    _, parsed, problem = parse_answer(body, output, {}, anthropic)
    assert parsed is None and problem is not None and "cut short" in problem


def test_a_body_without_a_structured_output_is_not_parsed() -> None:
    for family in ("anthropic", "converse", "openai-chat"):
        assert parse_answer({"messages": []}, claude_answer("{}"), {}, get(family)) == (False, None, None)  # fmt: skip


# --- end to end (needs the emulator's native structured outputs and openai-chat) -----------------


@pytest.mark.parametrize(
    ("model_id", "invocation_type", "field"),
    [
        (SONNET45, "InvokeModel", "output_config"),
        (GPT_OSS, "InvokeModel", "response_format"),
        (NOVA2, "Converse", "outputConfig"),
    ],
    ids=["claude-sonnet-4.5", "gpt-oss-120b", "nova-2-lite-converse"],
)
def test_a_native_structured_batch_gives_100_parsed_objects(
    local: LocalBedrock, model_id: str, invocation_type: str, field: str
) -> None:
    job = job_on(local, model_id, invocation_type=invocation_type)
    for i in range(100):
        job.add_prompt(f"Describe city {i}.", max_tokens=400, output_schema=City, key=i)
    assert field in first_body(job)
    job.run()
    results = list(job.results())
    assert sorted(r.key for r in results) == list(range(100))
    assert all(r.status == "succeeded" for r in results), [r.error for r in results][:3]
    assert all(isinstance(r.parsed, City) for r in results)


def test_the_strict_tool_route_still_works_when_asked(local: LocalBedrock) -> None:
    job = job_on(local, SONNET45)
    for i in range(100):
        job.add_prompt(f"Describe city {i}.", max_tokens=400, output_schema=City, structured="tool")
    assert first_body(job)["tools"][0]["strict"] is True
    job.run()
    assert all(isinstance(r.parsed, City) for r in job.results())

"""An openai-chat rule no catalogue row reaches: ``response_format`` (other than ``text``) on a
model whose catalogue row says it has no native structured outputs is refused alike by the
client and Local Bedrock (no such model is in the catalogue today: the open-weight rows are
True or UNVERIFIED)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from pydantic import BaseModel

from bedrock_batch._catalog import lookup_model
from bedrock_batch._families._registry import get
from bedrock_batch._families._schemas import check_model_input
from bedrock_batch.local import LocalBedrock
from bedrock_batch.local._families._context import RecordContext
from bedrock_batch.local._families._openai_chat import OpenAIChat
from bedrock_batch.local._families._rules import check_body

from ..conftest import job_on
from ..golden_bodies import GPT_OSS, RESPONSE_FORMAT, chat

REFUSED = "This model doesn't support the response_format field."


@pytest.mark.parametrize(
    ("response_format", "error"),
    [
        (RESPONSE_FORMAT, REFUSED),
        ({"type": "json_object"}, REFUSED),
        ({"type": "text"}, None),
    ],
)
@pytest.mark.parametrize("native", [False, True, None])
def test_response_format_needs_native_outputs_on_both_sides(
    response_format: dict[str, Any], error: str | None, native: bool | None
) -> None:
    info = lookup_model(GPT_OSS)[0]
    assert info is not None
    model = attrs.evolve(info, native_structured_outputs=native)
    body = chat(response_format=response_format)
    expected = error if native is False else None
    client = check_model_input(body, model.family, invocation_type="InvokeModel", model=model)
    assert client == expected
    assert check_body(body, model, "InvokeModel") == expected


class Weather(BaseModel):
    city: str
    degrees: int


def test_the_forced_function_route_is_read_back(local: LocalBedrock) -> None:
    """gpt-oss with ``structured="tool"``: a forced function whose arguments are the object."""
    job = job_on(local, GPT_OSS)
    for i in range(100):
        job.add_prompt(f"Weather in city {i}?", max_tokens=300, output_schema=Weather, structured="tool")  # fmt: skip
    body = json.loads(next(job._records.store.iter_lines(0, 1)))["modelInput"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "structured_output"}}
    assert get("openai-chat").requested_tool(body) == (  # type: ignore[union-attr]
        "structured_output",
        body["tools"][0]["function"]["parameters"],
    )
    results = list(job.run())
    assert all(isinstance(r.parsed, Weather) for r in results), [r.error for r in results][:2]


def test_local_bedrock_answers_json_object_with_a_json_object(local: LocalBedrock) -> None:
    runtime = local.client("bedrock-runtime")
    body = chat(response_format={"type": "json_object"})
    answer = json.loads(runtime.invoke_model(modelId=GPT_OSS, body=json.dumps(body))["body"].read())
    family = get("openai-chat")
    assert family is not None
    text = family.output_text(answer)  # the reasoning prefix stripped
    assert isinstance(text, str) and isinstance(json.loads(text), dict)


@pytest.mark.parametrize(("with_json", "prefixed"), [(True, True), (False, False)])
def test_the_reasoning_with_json_knob(with_json: bool, prefixed: bool) -> None:
    """Whether gpt-oss still writes its reasoning with a ``response_format`` is UNVERIFIED: a
    knob of the emulated family (plain answers keep their reasoning either way)."""
    info = lookup_model(GPT_OSS)[0]
    assert info is not None
    family = OpenAIChat(reasoning_with_json=with_json)
    for body, expect in ((chat(response_format=RESPONSE_FORMAT), prefixed), (chat(), True)):
        ctx = RecordContext("r1", GPT_OSS, info, "InvokeModel", body)
        content = family.answer(ctx)["choices"][0]["message"]["content"]
        assert content.startswith("<reasoning>") is expect

"""Structured outputs: a schema becomes a forced tool, answers are validated, invalid answers are
their own outcome and can be retried."""

from __future__ import annotations

from typing import Any, Literal

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel

from bedrock_batch import BatchJob, ValidationError
from bedrock_batch._families._structured import forced_tool, schema_of, validate
from bedrock_batch.local import LocalBedrock, RecordContext

from ..conftest import HAIKU, job_on

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "role": {"enum": ["engineer", "designer", "manager"]},
        "skills": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "level": {"enum": [1, 2, 3]}},
                "required": ["name", "level"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["name", "age", "role", "skills"],
}


class Skill(BaseModel):
    name: str
    level: Literal[1, 2, 3]


class Person(BaseModel):
    name: str
    age: int
    role: Literal["engineer", "designer", "manager"]
    skills: list[Skill]


def answer(i: int, *, broken: bool) -> dict[str, Any]:
    person = {"name": f"p{i}", "age": 30 + i % 40, "role": "engineer", "skills": [{"name": "tea", "level": 2}]}  # fmt: skip
    if broken:
        person["role"] = "astronaut"
    return person


def tool_responder(broken: set[int]) -> Any:
    """A model that calls the forced tool; some answers break the schema."""

    def respond(ctx: RecordContext) -> dict[str, Any]:
        i = int(ctx.model_input["messages"][0]["content"][0]["text"].split()[-1])
        name = ctx.model_input["tool_choice"]["name"]
        return {
            "id": f"msg_bdrk_{i}", "type": "message", "role": "assistant", "model": ctx.model_id,
            "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": answer(i, broken=i in broken)}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 15},
        }  # fmt: skip

    return respond


@pytest.mark.parametrize("spec", [PERSON, Person], ids=["json-schema", "pydantic"])
def test_structured_outputs_end_to_end_with_invalid_answers_retried(spec: Any) -> None:
    broken = {3, 17, 42}
    with LocalBedrock(clock="manual", responder=tool_responder(broken)) as local:
        job = job_on(local)
        for i in range(100):
            job.add_prompt(f"Describe person {i}", max_tokens=200, output_schema=spec)
        body = job._records.store.iter_lines(0, 1).__next__()
        assert b'"tool_choice":{"type":"tool","name":"structured_output"}' in body
        job.run()
        results = {int(r.record_id[1:]): r for r in job.results()}
        assert {i for i, r in results.items() if r.status == "invalid_output"} == broken
        bad = results[3]
        assert bad.error is not None and "astronaut" in bad.error.message and bad.parsed is None
        good = results[0]
        assert good.status == "succeeded"
        if spec is Person:
            assert isinstance(good.parsed, Person) and good.parsed.skills[0].level == 2
        else:
            assert good.parsed == answer(0, broken=False)
        summary = job.summary()
        assert job.results().counts == {
            "succeeded": 97,
            "errored": 0,
            "missing": 0,
            "invalid_output": 3,
        }
        assert summary.succeeded == 97 and summary.total == 100
        broken.clear()  # the model does better the second time
        assert job.retry(statuses=["invalid_output"]) == 3
        job.wait()
        assert all(r.status == "succeeded" and r.parsed is not None for r in job.results())


@pytest.mark.parametrize(
    ("model_id", "invocation_type", "mode", "n"),
    [
        (HAIKU, "InvokeModel", "auto", 100),
        ("amazon.nova-lite-v1:0", "InvokeModel", "auto", 100),
        (HAIKU, "Converse", "on_demand", 12),
    ],
    ids=["claude-batch", "nova-batch", "converse-on-demand"],
)
def test_the_emulated_models_answer_the_forced_tool_with_a_valid_nested_object(
    model_id: str, invocation_type: str, mode: str, n: int
) -> None:
    """No responder: Local Bedrock's own models call the forced tool with an object generated
    from the schema the request carried; every answer parses into the nested pydantic model."""
    with LocalBedrock(clock="manual") as local:
        job = job_on(local, model_id, invocation_type=invocation_type, mode=mode)
        for i in range(n):
            job.add_prompt(f"Describe person {i}", max_tokens=300, output_schema=Person, key=i)
        job.run()
        results = list(job.results())
        assert sorted(r.key for r in results) == list(range(n))
        assert all(r.status == "succeeded" for r in results), [r.error for r in results][:3]
        assert all(isinstance(r.parsed, Person) for r in results)
        assert all(r.parsed.role in ("engineer", "designer", "manager") for r in results)  # type: ignore[union-attr]
        assert job.summary().succeeded == n


def test_another_process_validates_with_the_schema_the_requests_carried() -> None:
    with LocalBedrock(clock="manual", responder=tool_responder({5})) as local:
        job = job_on(local)
        for i in range(100):
            job.add_prompt(f"Describe person {i}", output_schema=Person)
        job.run()
        attached = BatchJob.attach(job.job_arn or "", session=local.session())
        as_dicts = {r.record_id: r for r in attached.results()}
        assert as_dicts["R0000000005"].status == "invalid_output"
        assert isinstance(as_dicts["R0000000000"].parsed, dict)
        as_models = {r.record_id: r for r in attached.results(output_model=Person)}
        assert isinstance(as_models["R0000000000"].parsed, Person)
        attached.close()


def test_families_without_a_forced_tool_are_refused_when_added(local: LocalBedrock) -> None:
    with pytest.raises(ValidationError, match="structured outputs need Claude or Nova"):
        job_on(local, "meta.llama3-1-8b-instruct-v1:0").add_prompt("x", output_schema=PERSON)
    with pytest.raises(ValidationError, match="need mode='on_demand'"):
        job_on(local, invocation_type="Converse").add_prompt("x", output_schema=PERSON)
    with pytest.raises(ValidationError, match="must describe an object"):
        job_on(local).add_prompt("x", output_schema={"type": "string"})
    nova = forced_tool("nova", "InvokeModel", PERSON)
    assert nova["toolConfig"]["toolChoice"] == {"tool": {"name": "structured_output"}}
    assert nova["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"] == PERSON


def test_pydantic_references_are_inlined() -> None:
    schema, model = schema_of(Person)
    assert model is Person and "$defs" not in schema
    assert schema["properties"]["skills"]["items"]["properties"]["level"]["enum"] == [1, 2, 3]


# -- the validator agrees with jsonschema on the keywords tools use -----------------------------

leaf_schemas = st.one_of(
    st.builds(lambda t: {"type": t}, st.sampled_from(["string", "integer", "number", "boolean", "null"])),
    st.builds(lambda lo, hi: {"type": "integer", "minimum": lo, "maximum": lo + hi}, st.integers(-5, 5), st.integers(0, 5)),
    st.builds(lambda n: {"type": "string", "minLength": n, "maxLength": n + 3}, st.integers(0, 3)),
    st.builds(lambda vs: {"enum": vs}, st.lists(st.one_of(st.integers(0, 3), st.sampled_from(["a", "b"])), min_size=1, max_size=3)),
)  # fmt: skip


def _compound(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Arrays, objects and anyOf of smaller schemas (a named function: hypothesis inspects it)."""
    return st.one_of(
        st.builds(lambda it, n: {"type": "array", "items": it, "maxItems": n}, inner, st.integers(0, 3)),
        st.builds(
            lambda props, req, extra: {"type": "object", "properties": props, "required": sorted(set(req) & set(props)), "additionalProperties": extra},
            st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3), st.lists(st.sampled_from(["a", "b", "c"])), st.booleans(),
        ),
        st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner),
    )  # fmt: skip


schemas = st.recursive(leaf_schemas, _compound, max_leaves=6)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-8, 8) | st.floats(-8, 8, allow_nan=False) | st.sampled_from(["", "a", "b", "abcd", "abcdefgh"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner, max_size=4),
    max_leaves=8,
)  # fmt: skip


@given(schemas, values)
@example(schema={"enum": [0]}, value=False)  # JSON's false is not 0 (Python's False == 0)
@example(schema={"const": 1}, value=True)
@example(schema={"enum": [[1, 0]]}, value=[True, False])
def test_the_validator_agrees_with_jsonschema(schema: dict[str, Any], value: Any) -> None:
    expected = jsonschema.Draft202012Validator(schema).is_valid(value)
    assert (validate(value, schema) is None) == expected, validate(value, schema)

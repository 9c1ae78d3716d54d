"""Local Bedrock's ``invalid_output`` fault (``Faults.invalid_output_rate`` / ``_ids``, ``local
serve --invalid-output-rate``): a structured answer that breaks its schema, on every route —
Claude ``output_config``, a strict tool, a plain forced tool, ``response_format``, Converse
``outputConfig.textFormat`` — so the client's ``invalid_output`` status is reachable on each."""

from __future__ import annotations

import argparse
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from bedrock_batch.local import Faults, LocalBedrock
from bedrock_batch.local._families._schema_instances import INVALID_BIT, instance_for
from bedrock_batch.local._serve_cli import add_arguments, build

from ..conftest import HAIKU, job_on

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
NOVA2 = "us.amazon.nova-2-lite-v1:0"


class Grade(BaseModel):
    label: Literal["good", "bad"]
    score: int = Field(ge=0, le=10)


ROUTES = [
    pytest.param(SONNET45, {}, "output_config", id="claude-native"),
    pytest.param(SONNET45, {"structured": "tool"}, "tools", id="claude-strict-tool"),
    pytest.param(HAIKU, {}, "tools", id="claude-forced-tool"),
    pytest.param(GPT_OSS, {}, "response_format", id="openai-chat-native"),
    pytest.param(NOVA2, {}, "outputConfig", id="converse-text-format"),
]


@pytest.mark.parametrize(("model_id", "options", "field"), ROUTES)
def test_the_fault_makes_invalid_output_on_every_route(
    model_id: str, options: dict[str, Any], field: str
) -> None:
    bad = {f"r{i:03d}" for i in range(0, 100, 10)}
    with LocalBedrock(clock="manual", faults=Faults(invalid_output_ids=bad)) as local:
        job = job_on(local, model_id)
        for i in range(100):
            job.add_prompt(f"Grade {i}.", max_tokens=300, output_schema=Grade, record_id=f"r{i:03d}", **options)  # fmt: skip
        line = next(job._records.store.iter_lines(0, 1))
        assert f'"{field}"'.encode() in line
        results = {r.record_id: r for r in job.run()}
        invalid = {rid for rid, r in results.items() if r.status == "invalid_output"}
        assert invalid == bad
        assert all(isinstance(results[rid].parsed, Grade) for rid in set(results) - bad)
        assert all(results[rid].parsed is None and results[rid].error for rid in bad)
        kinds = [e.kind for e in local.backend.faults.log]
        assert kinds.count("invalid_output") == 10


def test_the_rate_is_seeded_and_drawn_per_record() -> None:
    def run(seed: int) -> set[str]:
        faults = Faults(invalid_output_rate=0.2)
        with LocalBedrock(clock="manual", faults=faults, seed=seed) as local:
            job = job_on(local, SONNET45)
            for i in range(100):
                job.add_prompt(f"Grade {i}.", max_tokens=300, output_schema=Grade)
            return {r.record_id for r in job.run() if r.status == "invalid_output"}

    first = run(1)
    assert 5 <= len(first) <= 40
    assert run(1) == first and run(2) != first


@pytest.mark.parametrize(
    "schema",
    [
        Grade.model_json_schema(),
        {"type": "object", "properties": {"a": {"type": "string"}}},  # nothing required
        {"type": "object", "properties": {}, "additionalProperties": False},
        {"type": "object", "properties": {"e": {"enum": [1, 2]}}},
    ],
)
def test_a_broken_instance_does_not_validate(schema: dict[str, Any]) -> None:
    import jsonschema

    for seed in range(20):
        jsonschema.validate(instance_for(schema, seed), schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(instance_for(schema, seed | INVALID_BIT), schema)


def test_local_serve_has_the_flag() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    emulator = build(parser.parse_args(["--invalid-output-rate", "0.25"]))
    assert emulator.backend.faults.invalid_output_rate == 0.25

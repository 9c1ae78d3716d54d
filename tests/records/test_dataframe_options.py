"""``add_dataframe(prompt=...)`` takes the options ``add_prompt`` takes — a structured output
(``output_schema``, ``structured``, ``tool_name``), a prompt-cache marker (``cache``), videos
and documents by ``s3Location``, images — and builds each row's body exactly as
``add_prompt`` builds the same prompt; ``Result.parsed`` works for a DataFrame's rows."""

from __future__ import annotations

import json
from typing import Any, Literal

import pandas as pd
import pytest
from pydantic import BaseModel

from bedrock_batch import ValidationError
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU, job_on

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class Label(BaseModel):
    label: Literal["good", "bad"]


def bodies(job: Any) -> list[dict[str, Any]]:
    return [json.loads(line)["modelInput"] for line in job._records.store.iter_lines()]


FRAME = pd.DataFrame({"q": ["first review", "second review"], "id": [10, 11]})


@pytest.mark.parametrize(
    ("model_id", "options"),
    [
        (SONNET45, {"output_schema": Label}),  # native: output_config
        (SONNET45, {"output_schema": Label, "structured": "tool", "tool_name": "grade"}),
        (HAIKU, {"output_schema": Label}),  # a plain forced tool
        (SONNET45, {"system": "You grade reviews.", "cache": True}),
        (NOVA_LITE, {"videos": ["s3://bkt/in/clip.mp4"], "system": "Watch."}),
        (NOVA_LITE, {"documents": ["s3://bkt/in/q3.pdf"], "cache": "prompt"}),
        (HAIKU, {"images": [PNG]}),
    ],
)
def test_each_row_is_built_as_add_prompt_builds_it(
    local: LocalBedrock, model_id: str, options: dict[str, Any]
) -> None:
    by_frame = job_on(local, model_id)
    by_frame.add_dataframe(FRAME, prompt="q", key="id", max_tokens=100, **options)
    by_prompt = job_on(local, model_id)
    for q, i in zip(FRAME["q"], FRAME["id"], strict=True):
        by_prompt.add_prompt(q, key=int(i), max_tokens=100, **options)
    assert bodies(by_frame) == bodies(by_prompt)
    frame_models = by_frame._records.output_models
    assert frame_models.items() <= by_prompt._records.output_models.items()
    assert bool(frame_models) == ("output_schema" in options)


def test_structured_rows_come_back_parsed(local: LocalBedrock) -> None:
    job = job_on(local, SONNET45)
    frame = pd.DataFrame({"q": [f"review {i}" for i in range(100)], "k": range(100)})
    job.add_dataframe(frame, prompt="q", key="k", max_tokens=200, output_schema=Label)
    assert "output_config" in bodies(job)[0]
    results = job.run()
    assert all(isinstance(r.parsed, Label) for r in results)
    assert sorted(r.key for r in results) == list(range(100))


def test_prompt_options_are_refused_with_model_input_and_text(local: LocalBedrock) -> None:
    job = job_on(local, HAIKU)
    frame = pd.DataFrame({"body": [{"x": 1}]})
    with pytest.raises(ValidationError, match="output_schema, videos apply to prompt= rows only"):
        job.add_dataframe(frame, model_input="body", output_schema=Label, videos=["s3://bkt/v.mp4"])  # fmt: skip
    assert len(job) == 0


def test_a_bad_route_is_refused_once_for_the_call(local: LocalBedrock) -> None:
    job = job_on(local, SONNET45)
    with pytest.raises(ValidationError, match="structured must be one of"):
        job.add_dataframe(FRAME, prompt="q", output_schema=Label, structured="grammar")
    assert len(job) == 0 and not job._records.output_models

"""A batch submitted before structured outputs took Bedrock's own route (issue 17) is resumed,
not paid for again, by the same script after the change: ``add_prompt(output_schema=...)`` now
builds ``output_config`` for Claude Haiku 4.5, so the bodies and the content id differ, and
``submit()`` looks for the ledger of the bodies the old default built (a plain forced tool)."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from bedrock_batch import BatchJob
from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

HAIKU45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


class City(BaseModel):
    name: str
    size: Literal["small", "large"]


def old_body(prompt: str) -> dict[str, Any]:
    """The body version 0.2's ``add_prompt(prompt, max_tokens=400, output_schema=City)`` built
    for Claude: a plain forced tool, the pydantic schema as it is (written out by hand)."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 400,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        "tools": [
            {
                "name": "structured_output",
                "description": "Report the answer with this tool, as its input.",
                "input_schema": City.model_json_schema(),
            }
        ],
        "tool_choice": {"type": "tool", "name": "structured_output"},
    }


def script(local: LocalBedrock, *, old: bool) -> BatchJob:
    """The user's script: 100 structured prompts, each with a key; ``old`` builds them as the
    version before the change did."""
    job = job_on(local, HAIKU45)
    for i in range(100):
        prompt = f"Describe city {i}."
        if old:
            job.add(old_body(prompt), key=i)
        else:
            job.add_prompt(prompt, max_tokens=400, output_schema=City, key=i)
    return job


def jobs_on(local: LocalBedrock) -> list[str]:
    bedrock = local.session().client("bedrock")
    return [j["jobArn"] for j in bedrock.list_model_invocation_jobs()["invocationJobSummaries"]]


def test_the_default_route_now_builds_other_bodies(local: LocalBedrock) -> None:
    new = script(local, old=False)
    body = json.loads(next(new._records.store.iter_lines(0, 1)))["modelInput"]
    assert "output_config" in body and "tools" not in body
    old = script(local, old=True)
    assert new.plan().content_id != old.plan().content_id


def test_a_batch_submitted_with_the_old_bodies_is_resumed_not_resubmitted(
    local: LocalBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    before = script(local, old=True)
    before.submit()
    assert len(jobs_on(local)) == 1
    local.advance(60)

    after = script(local, old=False)
    with caplog.at_level(logging.INFO, logger="bedrock_batch"):
        after.submit()
    assert jobs_on(local) == before.job_arns  # no second CreateModelInvocationJob
    assert after.calls["CreateModelInvocationJob"] == 0
    assert after.state_uri == before.state_uri
    old_id = before.plan().content_id
    assert any(old_id in r.getMessage() and "forced-tool" in r.getMessage() for r in caplog.records)
    after.wait()
    results = list(after.results())
    assert sorted(r.key for r in results) == list(range(100))
    assert all(isinstance(r.parsed, City) for r in results), [r.error for r in results][:3]


def test_an_old_batch_whose_inputs_were_never_uploaded_gets_the_old_bodies(
    local: LocalBedrock,
) -> None:
    """Killed after its ledger was stored, before the upload: the resumed batch uploads the
    bodies it was planned with (its files' sizes and the jobs' records are the old ones)."""
    before = script(local, old=True)
    plan = before.plan()
    from bedrock_batch._common._s3 import S3Access
    from bedrock_batch._uploader._uploader import open_ledger

    spec = before._spec()
    open_ledger(S3Access(local.session().client("s3")), plan, spec, [], legacy_id="0" * 24)

    after = script(local, old=False)
    after.submit()
    assert after.state_uri == plan.state_uri and len(jobs_on(local)) == 1
    s3 = local.session().client("s3")
    key = plan.shards[0].name
    folder = plan.job_input_uri.split("/", 3)[3]
    first = s3.get_object(Bucket="bkt", Key=folder + key)["Body"].readline()
    assert json.loads(first)["modelInput"] == old_body("Describe city 0.")
    after.wait()
    assert all(isinstance(r.parsed, City) for r in after.results())


def test_without_an_old_ledger_the_batch_takes_todays_identity(local: LocalBedrock) -> None:
    job = script(local, old=False)
    job.submit()
    assert job.state_uri is not None and job.plan().content_id in job.state_uri
    assert len(jobs_on(local)) == 1


def test_records_without_a_new_route_keep_no_old_body(local: LocalBedrock) -> None:
    job = job_on(local, HAIKU45)
    job.add_prompt("Describe a city.", max_tokens=400, output_schema=City, structured="tool")
    job.add_prompt("Describe a city.", max_tokens=400)
    assert not job._records.legacy
    job.add_prompt("Describe a city.", max_tokens=400, output_schema=City)
    assert job._records.legacy

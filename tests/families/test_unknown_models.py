"""The forward-compatible policy for model ids the catalogue does not list (issue 17).

- a typo of a known id is refused with "did you mean";
- an unknown id whose provider has one body format (``anthropic.``, ``meta.llama``,
  ``openai.``, ``qwen.``) plans with one warning naming the family assumed, and runs on Local
  Bedrock with its accept knob on (refused with the service's message without it);
- any other unknown id (``amazon.``, ``deepseek.r1``, unknown providers) is refused with the
  advice to use the Converse invocation type or ``allow_unknown_model=True``; both work.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrock_batch import BatchJob, PollConfig, ValidationError
from bedrock_batch._catalog import (
    CATALOG,
    SINGLE_FORMAT_PREFIXES,
    assumed_family,
    family_of,
    model_problem,
)
from bedrock_batch.local import LocalBedrock

ROLE = "arn:aws:iam::123456789012:role/R"
NEW_CLAUDE = "anthropic.claude-sonnet-9-9-20300101-v1:0"
NEW_QWEN = "qwen.something-new"
REFUSAL = "Batch inference is not supported for the requested model."
N = 100


def _one_record(job: BatchJob, model_id: str) -> None:
    """A prompt where the id prefix names a family, else a raw body (no family builds it)."""
    if family_of(model_id) is None:
        job.add({"prompt": "hello"})
    else:
        job.add_prompt("hello", max_tokens=16)


def _job(local: LocalBedrock, model_id: str, **kwargs: Any) -> BatchJob:
    session = local.session()
    session.client("s3").create_bucket(Bucket="bkt")
    return BatchJob(model_id, ROLE, "s3://bkt/in/", "s3://bkt/out/", session=session,
                    sleep=local.advance, poll=PollConfig(initial=60, jitter=0), **kwargs)  # fmt: skip


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        (NEW_CLAUDE, "anthropic"),
        (f"us.{NEW_CLAUDE}", "anthropic"),
        (NEW_QWEN, "openai-chat"),
        ("openai.gpt-oss-999b-1:0", "openai-chat"),
        ("meta.llama9-huge-v1:0", "llama"),
    ],
)
def test_an_unknown_id_of_a_one_format_provider_plans_with_one_warning(
    model_id: str, family: str
) -> None:
    assert model_problem(model_id, "us-east-1") is None
    assert assumed_family(model_id) == family
    with LocalBedrock(clock="manual") as local, _job(local, model_id) as job:
        job.add_prompt("hello", max_tokens=16)
        plan = job.plan()
    assert len(plan.warnings) == 1, plan.warnings
    assert repr(family) in plan.warnings[0] and model_id in plan.warnings[0]


@pytest.mark.parametrize("model_id", [NEW_CLAUDE, NEW_QWEN])
def test_an_unknown_id_runs_on_local_bedrock_with_its_accept_knob(model_id: str) -> None:
    with (
        LocalBedrock(clock="manual", accept_unknown_models=True) as local,
        _job(local, model_id) as job,
    ):
        for i in range(N):
            job.add_prompt(f"question {i}", max_tokens=32, key=i)
        plan = job.plan()
        assert plan.mode == "batch" and len(plan.warnings) == 1
        job.submit()
        job.wait()
        results = sorted(job.results(), key=lambda r: r.key)
    assert [r.key for r in results] == list(range(N))
    assert all(r.status == "succeeded" and r.text for r in results)
    assert all(r.usage.input_tokens > 0 and r.usage.output_tokens > 0 for r in results)


@pytest.mark.parametrize("model_id", [NEW_CLAUDE, NEW_QWEN])
def test_without_the_knob_local_bedrock_refuses_an_unknown_id_like_the_service(
    model_id: str,
) -> None:
    with LocalBedrock(clock="manual") as local, _job(local, model_id) as job:
        for i in range(N):
            job.add_prompt(f"question {i}", max_tokens=32, key=i)
        with pytest.raises(Exception) as err:  # the job's own error around the refusal
            job.submit()
        text = str(err.value) + repr(getattr(err.value, "__cause__", None))
        assert REFUSAL in text, text
        bedrock = local.client("bedrock")
        with pytest.raises(ClientError) as refused:
            bedrock.create_model_invocation_job(
                jobName="j", roleArn=ROLE, modelId=model_id,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://bkt/in/"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}},
            )  # fmt: skip
        assert refused.value.response["Error"]["Message"] == REFUSAL


@pytest.mark.parametrize(
    "model_id",
    ["amazon.something-new", "deepseek.r1-v1:0", "acme.model-x-v1:0", "mistral.brand-new-v1:0"],
)
def test_other_unknown_ids_get_the_converse_advice(model_id: str) -> None:
    assert assumed_family(model_id) is None
    problem = model_problem(model_id, "us-east-1") or ""
    assert "invocation_type='Converse'" in problem and "allow_unknown_model=True" in problem
    assert "did you mean" not in problem
    with LocalBedrock(clock="manual") as local:
        with _job(local, model_id) as job:
            _one_record(job, model_id)
            with pytest.raises(ValidationError, match="invocation_type='Converse'"):
                job.plan()
        # the advice works: as a Converse job it plans (one warning), and so it does with the flag
        with _job(local, model_id, invocation_type="Converse") as job:
            job.add_prompt("hello", max_tokens=16)
            assert len(job.plan().warnings) == 1
        with _job(local, model_id, allow_unknown_model=True) as job:
            _one_record(job, model_id)
            job.plan()


@pytest.mark.parametrize(
    "typo",
    [
        "anthropic.claude-3-haiku-20240307-v1:1",
        "anthropic.claude-sonnet-4-5-20250929-v1",
        "qwen.qwen3-32b-v1:1",
        "meta.llama4-scout-17b-instruct-v1:",
        "us.anthropic.claude-haiku-4-5-2025101-v1:0",
        "amazon.nova-2-lite-v2:0",
    ],
)
def test_a_typo_of_a_known_id_gets_did_you_mean(typo: str) -> None:
    problem = model_problem(typo, "us-east-1") or ""
    assert "did you mean" in problem, problem
    suggested = [k for k in (*CATALOG, *(f"us.{k}" for k in CATALOG)) if repr(k) in problem]
    assert suggested
    with LocalBedrock(clock="manual") as local, _job(local, typo) as job:
        _one_record(job, typo)
        with pytest.raises(ValidationError, match="did you mean"):
            job.plan()


def test_the_one_format_prefixes_are_the_facts_four() -> None:
    assert {p for p, _ in SINGLE_FORMAT_PREFIXES} == {
        "anthropic.",
        "meta.llama",
        "openai.",
        "qwen.",
    }
    # every catalogue row under such a prefix has that family (one body format)
    for info in CATALOG.values():
        for prefix, family in SINGLE_FORMAT_PREFIXES:
            if info.model_id.startswith(prefix):
                assert info.family == family, info.model_id

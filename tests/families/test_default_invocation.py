"""Where the facts do not establish a model's native body (bedrock-facts §12.2), Converse is
the default invocation type; the native body is refused where the family's builder is known
not to fit (Llama 4's template is not Llama 3's) and built with one warning where it is only
unverified (Nova 2 Lite, Qwen3, DeepSeek V3.1)."""

from __future__ import annotations

import logging

import pytest

from bedrock_batch import BatchJob, PollConfig, ValidationError
from bedrock_batch._catalog import CATALOG
from bedrock_batch.local import LocalBedrock, Quotas

ROLE = "arn:aws:iam::123456789012:role/R"
LLAMA4 = "us.meta.llama4-scout-17b-instruct-v1:0"
NOVA2 = "us.amazon.nova-2-lite-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _job(model: str, **kw: object) -> BatchJob:
    return BatchJob(model, ROLE, "s3://bkt/in/", "s3://bkt/out/", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "model_id", sorted(m.model_id for m in CATALOG.values() if m.native_prompt is not True)
)
def test_models_without_an_established_native_body_default_to_converse(model_id: str) -> None:
    info = CATALOG[model_id]
    spelled = f"us.{model_id}" if info.requires_profile else model_id
    with _job(spelled) as job:
        assert job.invocation_type == "Converse" == info.default_invocation
        job.add_prompt("What is a tea ceremony?", max_tokens=50)  # a Converse body


def test_the_others_keep_invoke_model() -> None:
    with _job(HAIKU) as job:
        assert job.invocation_type == "InvokeModel"
    assert all(m.default_invocation == "InvokeModel" for m in CATALOG.values() if m.native_prompt)


def test_llama_4_never_gets_the_llama_3_template() -> None:
    with _job(LLAMA4, invocation_type="InvokeModel") as job:
        with pytest.raises(ValidationError, match="Converse"):
            job.add_prompt("hi", max_tokens=10)
        # a body the caller built is still taken
        job.add({"prompt": "<|begin_of_text|>hi", "max_gen_len": 10})
        assert len(job) == 1


def test_an_unverified_native_body_is_built_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="bedrock_batch"),
        _job(NOVA2, invocation_type="InvokeModel") as job,
    ):
        job.add_prompt("one", max_tokens=10)
        job.add_prompt("two", max_tokens=10)
    warned = [r for r in caplog.records if "UNVERIFIED" in r.getMessage()]
    assert len(warned) == 1 and "Nova 2 Lite" in warned[0].getMessage()


def test_a_llama_4_batch_runs_as_converse_on_local_bedrock() -> None:
    quotas = {CATALOG[LLAMA4.removeprefix("us.")].model_id: Quotas(min_records_per_job=100)}
    with LocalBedrock(clock="manual", quotas=quotas) as local:
        session = local.session()
        session.client("s3").create_bucket(Bucket="bkt")
        with _job(LLAMA4, session=session, sleep=local.advance,
                  poll=PollConfig(initial=60, jitter=0)) as job:  # fmt: skip
            for i in range(120):
                job.add_prompt(f"question {i}", max_tokens=30)
            job.submit()
            job.wait()
            results = list(job.results())
        jobs = session.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"]
    assert [j.get("modelInvocationType") for j in jobs] == ["Converse"]
    assert len(results) == 120 and all(r.status == "succeeded" and r.text for r in results)

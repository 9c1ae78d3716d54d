"""The cost cap (``max_cost_usd``): refused before anything is paid for, never a bound of 0,
and a retry counts what the batch already spent."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_batch import BatchJob, BudgetError, Price, ValidationError
from bedrock_batch._pricing import PRICES_DATE, price_for
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import HAIKU, examples, track

#: Operations that write or pay: none may happen when the cap refuses.
PAYING = {
    "PutObject", "CreateMultipartUpload", "UploadPart", "CopyObject", "UploadPartCopy",
    "CreateModelInvocationJob", "InvokeModel", "Converse",
}  # fmt: skip


def calls_of(session: Any) -> list[str]:
    seen: list[str] = []
    session.events.register("before-call", lambda model, **_: seen.append(model.name))
    return seen


def prompts(job: BatchJob, n: int, max_tokens: int = 50) -> None:
    for i in range(n):
        job.add_prompt(f"question {i}: what is {i} + {i}?", max_tokens=max_tokens)


def test_a_cap_below_the_bound_refuses_before_any_write(make_job: Any, session: Any) -> None:
    job = make_job(max_cost_usd=0.001)
    prompts(job, 120)
    plan = job.plan()
    assert plan.budget is not None and "over the cap" in plan.budget
    assert any("over the cap" in w for w in plan.warnings)
    seen = calls_of(session)
    with pytest.raises(BudgetError) as caught:
        job.submit()
    assert PAYING.isdisjoint(seen), seen
    err = caught.value
    assert err.bound is not None and err.bound > 0.001 and err.cap == 0.001
    assert PRICES_DATE in str(err) and f"{err.bound:.4f}" in str(err)
    assert job.ledger is None and job.job_arn is None


def test_a_cap_above_the_bound_runs_and_the_bill_stays_under_it(make_job: Any) -> None:
    job = make_job(max_cost_usd=5.0)
    prompts(job, 150)
    plan = job.plan()
    assert plan.budget is not None and "over" not in plan.budget
    job.run()
    summary = job.summary()
    assert summary.succeeded == 150
    bound = job.budget.bound(plan, job._records) if job.budget else None
    assert bound is not None and summary.cost_usd is not None
    assert 0 < summary.cost_usd <= bound.usd <= 5.0


def test_a_model_without_a_price_refuses_naming_the_model_and_prices(make_job: Any) -> None:
    unpriced = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert price_for(unpriced) is None  # the built-in table has no row for it
    job = make_job(unpriced, max_cost_usd=10.0)
    prompts(job, 120)
    assert "no price" in (job.plan().budget or "")
    with pytest.raises(BudgetError, match=r"no price is known for us\.anthropic\..*prices="):
        job.submit()
    assert job.ledger is None
    priced = make_job(unpriced, max_cost_usd=10.0, prices={unpriced: Price(3.0, 15.0)})
    prompts(priced, 120)
    assert "against max_cost_usd" in (priced.plan().budget or "")


def test_a_price_given_by_the_caller_is_used(make_job: Any) -> None:
    cheap = make_job(HAIKU, max_cost_usd=1.0, prices={HAIKU: Price(0.001, 0.001)})
    dear = make_job(HAIKU, max_cost_usd=1.0, prices={HAIKU: Price(1000.0, 1000.0)})
    for job in (cheap, dear):
        prompts(job, 120)
    assert "over" not in (cheap.plan().budget or "")
    with pytest.raises(BudgetError):
        dear.submit()


def test_images_have_no_token_rule_and_refuse(make_job: Any) -> None:
    import base64

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    job = make_job(max_cost_usd=100.0)
    for i in range(120):
        job.add_prompt(f"describe {i}", images=[png], max_tokens=20)
    with pytest.raises(BudgetError, match="image, a video or a document"):
        job.submit()


@pytest.mark.parametrize("cap", [0, -1, float("nan"), float("inf"), True, "5"])
def test_a_bad_cap_is_refused_at_once(make_job: Any, cap: Any) -> None:
    with pytest.raises(ValidationError, match="max_cost_usd"):
        make_job(max_cost_usd=cap)


@pytest.mark.emulator(faults=Faults(record_error_rate=0.3), seed=7)
def test_a_retry_that_would_cross_the_cap_is_refused(
    make_job: Any, local: LocalBedrock, session: Any
) -> None:
    job = make_job(max_cost_usd=1.0)
    prompts(job, 200)
    job.run()
    errored = job.summary().errored
    assert errored > 0
    spent = job.summary().cost_usd or 0.0
    # a cap just above what was spent: the retry's own bound does not fit
    tight = BatchJob.attach(job.job_arn or "", session=session, max_cost_usd=spent + 1e-6)
    attempts = len(tight.ledger.attempts) if tight.ledger else 0
    seen = calls_of(session)
    with pytest.raises(BudgetError, match=r"retrying \d+ records .* already spent"):
        tight.retry(include_non_retryable=True)
    assert PAYING.isdisjoint(seen), seen
    assert tight.ledger is not None and len(tight.ledger.attempts) == attempts
    # with room, the same retry goes through
    assert job.retry(include_non_retryable=True) == errored


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=5))
def test_the_input_bound_covers_every_byte_of_every_prompt(
    local: LocalBedrock, texts: list[str]
) -> None:
    from ..conftest import job_on

    job = job_on(local, max_cost_usd=1000.0)
    for t in texts:
        job.add_prompt(t, max_tokens=10)
    plan = job.plan()
    assert job.budget is not None
    bound = job.budget.bound(plan, job._records)
    assert bound.input_tokens >= sum(len(t.encode()) for t in texts)
    assert bound.output_tokens == 10 * len(texts)


NOVA_EMBED = "amazon.nova-2-multimodal-embeddings-v1:0"


@pytest.mark.parametrize(("kind", "fmt"), [("audio", "mp3"), ("video", "mp4")])
def test_nova_embedding_media_has_no_token_rule_and_refuses(
    make_job: Any, kind: str, fmt: str
) -> None:
    # Nova multimodal embeddings take audio and video inline ("bytes"): no bound from bytes
    job = make_job(NOVA_EMBED, max_cost_usd=1000.0, prices={NOVA_EMBED: Price(0.1, 0.0)})
    media = {"format": fmt, "source": {"bytes": "AAAAAAAAAAAAAAAAAAAAAAAA"}}
    params = {"embeddingPurpose": "GENERIC_INDEX", kind: media}
    for _ in range(120):
        job.add({"schemaVersion": "nova-multimodal-embed-v1", "taskType": "SINGLE_EMBEDDING",
                 "singleEmbeddingParams": params})  # fmt: skip
    assert "cannot be checked" in (job.plan().budget or "")
    with pytest.raises(BudgetError, match="image, a video or a document"):
        job.submit()
    assert job.ledger is None


MISTRAL = "mistral.mistral-small-2402-v1:0"


def test_on_demand_answers_without_token_counts_count_at_their_bound(
    make_job: Any, session: Any
) -> None:
    # Mistral's native body carries no usage: what its on-demand answers cost is unknown to the
    # reader, so the cap must count them at their bound, never as $0 (a retry could then pay
    # the same again and pass the cap)
    from bedrock_batch._budget import bound_lines
    from bedrock_batch._catalog import lookup_model

    job = make_job(MISTRAL, mode="on_demand")
    prompts(job, 4)  # max_tokens=50 each
    model = lookup_model(MISTRAL)[0]
    assert model is not None

    def bound(output_tokens: int) -> float:
        return bound_lines(
            job._records.store.iter_lines(), output_tokens=output_tokens, model_id=MISTRAL,
            model=model, price=price_for(MISTRAL), batch=False, cap=1.0,
        ).usd  # fmt: skip

    # answers without counts are counted at the model's maximum output for each; a retry of
    # the 4 records is bounded at what each asks for (max_tokens=50)
    spent, retry = bound(4 * model.max_output_tokens), bound(4 * 50)
    job.run()
    assert job.summary().usage.known is False  # the premise: no counts in the answers
    again = track(BatchJob.attach(job.state_uri or "", session=session, max_cost_usd=spent + retry / 2))  # fmt: skip
    with pytest.raises(BudgetError, match="already spent"):
        again.retry(statuses=("succeeded",), mode="on_demand")
    # the retry's bound is its records' max_tokens, not the model's maximum: it fits here
    roomy = track(BatchJob.attach(job.state_uri or "", session=session, max_cost_usd=(spent + retry) * 1.001))  # fmt: skip
    assert roomy.retry(statuses=("succeeded",), mode="on_demand") == 4


def test_a_record_with_tools_counts_the_tool_use_system_prompt(make_job: Any) -> None:
    # with tools, Claude is billed for a tool-use system prompt (264-346 tokens, Anthropic's
    # docs) that is not in the record's bytes: a short record with a small forced tool would
    # otherwise be bounded below what it can cost
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    plain, tooled = make_job(max_cost_usd=100.0), make_job(max_cost_usd=100.0)
    plain.add_prompt("hi", max_tokens=10)
    tooled.add_prompt("hi", max_tokens=10, output_schema=schema, structured="tool")
    bounds = [j.budget.bound(j.plan(), j._records) for j in (plain, tooled) if j.budget]
    line = next(iter(tooled._records.store.iter_lines()))
    assert b'"tools"' in line
    assert bounds[1].input_tokens >= len(line) + 346 > bounds[0].input_tokens + 346


@pytest.mark.parametrize(
    "text", ["image", "video", "document", "bytes", 'a "type":"image" block', "tools", "cachePoint"]
)
def test_a_prompt_that_names_media_is_text_and_has_a_bound(make_job: Any, text: str) -> None:
    # found by hypothesis: the prompt "image" was taken for an image (a byte match of the
    # value), and the cap refused a text-only batch
    job = make_job(max_cost_usd=1000.0)
    for _ in range(3):
        job.add_prompt(text, max_tokens=10)
    plan = job.plan()
    assert job.budget is not None
    bound = job.budget.bound(plan, job._records)
    assert bound.output_tokens == 30 and bound.input_tokens >= 3 * len(text.encode())

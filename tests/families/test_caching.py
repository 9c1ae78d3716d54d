"""Prompt caching (facts §12.4) and content by ``s3Location``: the cache markers
``add_prompt(cache=...)`` builds (Claude ``cache_control``, Converse/Nova ``cachePoint``) where
the catalogue allows them, the cache token counts read from every documented spelling (null is
0), their cost (priced as their own lines, with knobs), the summary rows; Nova/Converse videos
and documents by ``s3Location``. The end-to-end batch at the bottom needs the emulator's
batch-cache knob (the emulator's side of issue 17)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from bedrock_batch import BatchJob, Price, Usage, ValidationError
from bedrock_batch._families._protocol import S3Media
from bedrock_batch._families._registry import get
from bedrock_batch._pricing import price_for
from bedrock_batch._reader._summary import Summary
from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

HAIKU45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "amazon.nova-lite-v1:0"
SONNET46 = "us.anthropic.claude-sonnet-4-6"
GPT_OSS = "openai.gpt-oss-120b-1:0"
POINT = {"cachePoint": {"type": "default"}}
EPHEMERAL = {"type": "ephemeral"}


def body_of(job: BatchJob, n: int = 0) -> dict[str, Any]:
    line = next(job._records.store.iter_lines(n, n + 1))
    body: dict[str, Any] = json.loads(line)["modelInput"]
    return body


def add(local: LocalBedrock, model_id: str, **kwargs: Any) -> dict[str, Any]:
    options = {k: kwargs.pop(k) for k in ("invocation_type", "mode") if k in kwargs}
    job = job_on(local, model_id, **options)
    job.add_prompt("Summarise the report.", max_tokens=100, **kwargs)
    return body_of(job)


# --- markers -----------------------------------------------------------------------------------


def test_claude_cache_markers(local: LocalBedrock) -> None:
    body = add(local, HAIKU45, system="You are a careful analyst.", cache=True)
    assert body["system"] == [{"type": "text", "text": "You are a careful analyst.", "cache_control": EPHEMERAL}]  # fmt: skip
    assert all("cache_control" not in b for b in body["messages"][0]["content"])
    prompt = add(local, HAIKU45, system="x", cache="prompt")
    assert prompt["system"] == "x"
    assert prompt["messages"][0]["content"][-1]["cache_control"] == EPHEMERAL
    no_system = add(local, HAIKU45, cache=True)  # True without a system text: after the prompt
    assert no_system["messages"][0]["content"][-1]["cache_control"] == EPHEMERAL
    anthropic = get("anthropic")
    assert anthropic is not None
    for built in (body, prompt, no_system):
        assert anthropic.check(built, None) is None
    with pytest.raises(ValidationError, match="needs a system text"):
        add(local, HAIKU45, cache="system")


@pytest.mark.parametrize(
    ("model_id", "invocation_type"), [(NOVA, "InvokeModel"), (HAIKU45, "Converse")]
)
def test_converse_and_nova_cache_points(
    local: LocalBedrock, model_id: str, invocation_type: str
) -> None:
    body = add(local, model_id, system="Be brief.", cache="system", invocation_type=invocation_type)
    assert body["system"] == [{"text": "Be brief."}, POINT]
    prompt = add(local, model_id, cache="prompt", invocation_type=invocation_type)
    assert prompt["messages"][0]["content"] == [{"text": "Summarise the report."}, POINT]
    family = get("nova" if invocation_type == "InvokeModel" else "converse")
    assert family is not None
    assert family.check(body, None) is None and family.check(prompt, None) is None


def test_caching_is_refused_where_the_catalogue_does_not_allow_it(local: LocalBedrock) -> None:
    with pytest.raises(ValidationError, match="prompt caching: the catalogue does not say for Claude 3 Haiku"):  # fmt: skip
        add(local, HAIKU3, system="x", cache=True)
    with pytest.raises(ValidationError, match="prompt caching"):
        add(local, GPT_OSS, system="x", cache=True)
    with pytest.raises(ValidationError, match="cache must be True, 'system' or 'prompt'"):
        add(local, HAIKU45, system="x", cache="tools")  # type: ignore[arg-type]
    assert "cache_control" not in json.dumps(add(local, HAIKU45, system="x", cache=False))


# --- usage ---------------------------------------------------------------------------------------


def test_cache_tokens_are_read_from_every_spelling() -> None:
    anthropic, converse, nova = get("anthropic"), get("converse"), get("nova")
    assert anthropic is not None and converse is not None and nova is not None
    claude = {"usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 300}}  # fmt: skip
    assert anthropic.output_usage(claude) == Usage(10, 5, True, 2000, 300)
    runtime = {"usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokens": 7, "cacheWriteInputTokens": 3}}  # fmt: skip
    assert converse.output_usage(runtime) == Usage(10, 5, True, 7, 3)
    batch_line = {"usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokenCount": None, "cacheWriteInputTokenCount": None}}  # fmt: skip
    assert converse.output_usage(batch_line) == Usage(10, 5)  # null is 0 (the real lines)
    nova_line = {"usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokenCount": 4, "cacheWriteInputTokenCount": 0}}  # fmt: skip
    assert nova.output_usage(nova_line) == Usage(10, 5, True, 4, 0)
    total = Usage(1, 2, True, 3, 4) + Usage(10, 20, False, 30, 40)
    assert total == Usage(11, 22, False, 33, 44)


# --- cost ----------------------------------------------------------------------------------------


def test_cache_tokens_are_priced_as_their_own_lines() -> None:
    usage = Usage(1_000_000, 1_000_000, True, 2_000_000, 1_000_000)
    price = Price(1.0, 5.0)
    # default: no cache discount (reads and writes at the input price), the batch factor on all
    assert price.cost(usage, batch=False) == pytest.approx(1 + 5 + 2 + 1)
    assert price.cost(usage, batch=True) == pytest.approx(0.5 * 9)
    cached = attrs.evolve(price, cache_read_per_million=0.1, cache_write_per_million=1.25)
    assert cached.cost(usage, batch=False) == pytest.approx(1 + 5 + 0.2 + 1.25)
    no_batch_discount = attrs.evolve(cached, cache_batch_factor=1.0)
    assert no_batch_discount.cost(usage, batch=True) == pytest.approx(0.5 * 6 + 1.45)
    inclusive = attrs.evolve(price, input_includes_cache=True)  # input counts the cache tokens
    assert inclusive.cost(Usage(3_000_000, 0, True, 2_000_000, 0), batch=False) == pytest.approx(1 + 2)  # fmt: skip
    assert price.cost(Usage(1_000_000, 0), batch=False) == pytest.approx(1.0)


def test_a_model_without_a_price_row_has_no_cost() -> None:
    for model_id in (SONNET46, GPT_OSS, "amazon.nova-2-multimodal-embeddings-v1:0"):
        assert price_for(model_id) is None
    assert price_for(GPT_OSS, {GPT_OSS: Price(0.15, 0.6)}) == Price(0.15, 0.6)


def test_the_summary_shows_cache_tokens_when_there_are_some() -> None:
    def summary(usage: Usage) -> Summary:
        return Summary(None, "Completed", 1, 1, 0, 0, usage, (), {}, (), ())

    rows = dict(summary(Usage(10, 5, True, 7, 3)).rows())
    assert rows["cache read tokens"] == "7" and rows["cache write tokens"] == "3"
    assert "cache read tokens" not in dict(summary(Usage(10, 5)).rows())


# --- videos and documents by s3Location ------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "invocation_type"), [(NOVA, "InvokeModel"), (NOVA, "Converse")])  # fmt: skip
def test_videos_and_documents_by_s3_location(
    local: LocalBedrock, model_id: str, invocation_type: str
) -> None:
    job = job_on(local, model_id, invocation_type=invocation_type)
    owned = S3Media("s3://bkt/in/media/clip.mov", "mov", bucket_owner="111122223333")
    job.add_prompt("Describe the video.", videos=["s3://bkt/in/media/recipe.mp4", owned])
    content = body_of(job)["messages"][0]["content"]
    assert content[0] == {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://bkt/in/media/recipe.mp4"}}}}  # fmt: skip
    assert content[1]["video"]["source"]["s3Location"] == {"uri": owned.uri, "bucketOwner": "111122223333"}  # fmt: skip
    assert content[2] == {"text": "Describe the video."}
    job.add_prompt("Summarise.", documents=["s3://bkt/in/docs/q3 report.pdf"])
    doc = body_of(job, 1)["messages"][0]["content"][0]["document"]
    assert doc == {"format": "pdf", "name": "q3 report", "source": {"s3Location": {"uri": "s3://bkt/in/docs/q3 report.pdf"}}}  # fmt: skip
    with pytest.raises(ValidationError, match="input bucket"):
        job.add_prompt("x", videos=["s3://elsewhere/v.mp4"])
    with pytest.raises(ValidationError, match="list of URIs"):
        job.add_prompt("x", videos="s3://bkt/in/v.mp4")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="cannot tell the format"):
        job.add_prompt("x", videos=["s3://bkt/in/video"])
    assert len(job) == 2


def test_families_without_s3_content_say_so(local: LocalBedrock) -> None:
    with pytest.raises(ValidationError, match="video by s3Location is not supported"):
        add(local, HAIKU45, videos=["s3://bkt/in/v.mp4"])


# --- end to end (needs the emulator's batch-cache knob) -------------------------------------------


def test_a_cached_system_prompt_shows_cache_reads_in_usage_summary_and_cost() -> None:
    from bedrock_batch import local as local_module

    caching = local_module.PromptCaching(batch=True)  # type: ignore[attr-defined]
    long_system = "You are a meticulous analyst. " * 400  # well over the minimum prefix
    price = Price(1.0, 5.0, cache_read_per_million=0.1)
    with LocalBedrock(clock="manual", prompt_caching=caching) as emulator:  # type: ignore[call-arg]
        job = job_on(emulator, HAIKU45, prices={HAIKU45: price})
        for i in range(100):
            job.add_prompt(f"Summarise report {i}.", system=long_system, cache=True, max_tokens=50)
        job.run()
        results = list(job.results())
        assert all(r.ok for r in results)
        assert sum(r.usage.cache_read_tokens for r in results) > 0
        summary = job.summary()
        assert summary.usage.cache_read_tokens > 0
        assert "cache read tokens" in dict(summary.rows())
        assert summary.cost_usd == pytest.approx(price.cost(summary.usage, batch=True))


def test_without_the_knob_cache_fields_stay_zero(local: LocalBedrock) -> None:
    long_system = "You are a meticulous analyst. " * 400
    job = job_on(local, HAIKU45)
    for i in range(100):
        job.add_prompt(f"Summarise report {i}.", system=long_system, cache=True, max_tokens=50)
    job.run()
    summary = job.summary()
    assert summary.succeeded == 100
    assert summary.usage.cache_read_tokens == 0 and summary.usage.cache_write_tokens == 0

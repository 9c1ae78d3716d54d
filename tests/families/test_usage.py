"""Usage says "unknown" without changing its int fields: Mistral's outputs carry no counts, so
its results' usage is unknown (never 0) and the summary takes the manifest's counts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import Usage
from bedrock_batch.local import LocalBedrock, Quotas

from ..conftest import BUCKET, HAIKU, job_on

MISTRAL = "mistral.mistral-large-2407-v1:0"

usages = st.builds(Usage, st.integers(0, 10**9), st.integers(0, 10**9), st.booleans())


@given(a=usages, b=usages)
def test_adding_keeps_the_counts_and_marks_a_partial_sum(a: Usage, b: Usage) -> None:
    total = a + b
    assert total.input_tokens == a.input_tokens + b.input_tokens
    assert total.output_tokens == a.output_tokens + b.output_tokens
    assert total.known == (a.known and b.known)
    assert type(total.input_tokens) is int and type(total.output_tokens) is int
    assert Usage().known and not (Usage() + Usage(known=False)).known


@pytest.fixture
def local() -> Iterator[LocalBedrock]:
    with LocalBedrock(clock="manual", default_quotas=Quotas(min_records_per_job=1)) as lb:
        yield lb


def _manifest_key(job_arn: str) -> str:
    return f"out/{job_arn.rsplit('/', 1)[1]}/manifest.json.out"


def test_a_mistral_batch_reads_unknown_usage_and_the_summary_takes_the_manifest(
    local: LocalBedrock,
) -> None:
    job = job_on(local, MISTRAL)
    for i in range(12):
        job.add_prompt(f"Name a colour, {i}.", max_tokens=50)
    job.run()
    assert job.job_arn
    s3 = local.client("s3")
    key = _manifest_key(job.job_arn)
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    # Bedrock counts the tokens of every family server-side; write the counts it would report.
    manifest.update(inputTokenCount=1234, outputTokenCount=567)
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(manifest).encode())

    results = list(job.results())
    assert len(results) == 12 and all(r.ok for r in results)
    assert all(r.text for r in results)
    assert all(not r.usage.known for r in results)
    assert all(r.to_dict()["usage"] == {"inputTokens": None, "outputTokens": None} for r in results)
    assert not job.results().usage.known

    summary = job.summary()
    assert summary.usage == Usage(1234, 567)
    assert summary.usage.known
    assert summary.consistent, summary.discrepancies


def test_a_family_with_counts_keeps_its_own(local: LocalBedrock) -> None:
    job = job_on(local, HAIKU)
    for i in range(12):
        job.add_prompt(f"Name a colour, {i}.", max_tokens=50)
    job.run()
    assert job.job_arn
    results = list(job.results())
    assert all(r.usage.known and r.usage.input_tokens > 0 for r in results)
    total = sum((r.usage for r in results), Usage())
    manifest = json.loads(
        local.client("s3").get_object(Bucket=BUCKET, Key=_manifest_key(job.job_arn))["Body"].read()
    )
    summary = job.summary()
    assert summary.usage == total
    assert (summary.usage.input_tokens, summary.usage.output_tokens) == (
        manifest["inputTokenCount"],
        manifest["outputTokenCount"],
    )

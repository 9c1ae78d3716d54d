"""Every row of the catalogue works end to end: a 120-record batch through ``BatchJob`` on
Local Bedrock (manual clock) comes back joined, every record succeeded, with text and token
usage (embeddings: a vector of the asked dimension). A catalogue row without a working family
on either side fails here. The rows share one emulator (a bucket each): a batch finds its own
jobs, so what the others left there changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bedrock_batch import BatchJob, PollConfig
from bedrock_batch._catalog import CATALOG, ModelInfo
from bedrock_batch.local import LocalBedrock, Quotas

ROLE = "arn:aws:iam::123456789012:role/R"
N = 120
#: The vector size asked of each embeddings family (one each Titan and Nova accept).
DIMENSIONS = {"titan-embed-text": 256, "titan-embed-image": 384, "nova-embed": 1024}


def _spelling(info: ModelInfo) -> str:
    if info.requires_profile:
        prefix = sorted(info.profiles)[0] if info.profiles else "us."
        return f"{prefix}{info.model_id}"
    return info.model_id


def _region(info: ModelInfo, spelled: str) -> str:
    if info.regions:
        return sorted(info.regions)[0]
    return "eu-west-1" if spelled.startswith("eu.") else "us-east-1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[LocalBedrock]:
    """One emulator for every row, each model with the quotas that make 120 records a job."""
    quotas = {m: Quotas(min_records_per_job=100, max_records_per_job=1_000) for m in CATALOG}
    with LocalBedrock(clock="manual", quotas=quotas) as local:
        yield local


@pytest.mark.parametrize("info", list(CATALOG.values()), ids=list(CATALOG))
def test_a_batch_of_120_records_for_every_catalogue_row(
    info: ModelInfo, emulator: LocalBedrock
) -> None:
    local = emulator
    spelled = _spelling(info)
    bucket = f"bkt-{list(CATALOG).index(info.model_id)}"
    session = local.session(region=_region(info, spelled))
    region = session.region_name
    kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}  # fmt: skip
    session.client("s3").create_bucket(Bucket=bucket, **kwargs)
    with BatchJob(spelled, ROLE, f"s3://{bucket}/in/", f"s3://{bucket}/out/", session=session,
                  sleep=local.advance, poll=PollConfig(initial=60, jitter=0)) as job:  # fmt: skip
        for i in range(N):
            if info.is_embedding:
                job.add_embedding(f"text number {i}", dimensions=DIMENSIONS[info.family], key=i)
            else:
                job.add_prompt(f"What is tea ceremony {i}?", max_tokens=64, key=i)
        assert job.plan().mode == "batch"
        job.submit()
        job.wait()
        results = sorted(job.results(), key=lambda r: r.key)
    assert [r.key for r in results] == list(range(N))
    assert all(r.status == "succeeded" for r in results), {r.status for r in results}
    for r in results:
        if info.is_embedding:
            assert r.embedding is not None and len(r.embedding) == DIMENSIONS[info.family]
        else:
            assert r.text
            assert not r.usage.known or (r.usage.input_tokens > 0 and r.usage.output_tokens > 0)

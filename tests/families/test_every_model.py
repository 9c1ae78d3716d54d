"""Every row of the catalogue works end to end: a 120-record batch through ``BatchJob`` on
Local Bedrock (manual clock) comes back joined, every record succeeded, with text and token
usage (embeddings: a vector of the asked dimension). A catalogue row without a working family
on either side fails here."""

from __future__ import annotations

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


@pytest.mark.parametrize("info", list(CATALOG.values()), ids=list(CATALOG))
def test_a_batch_of_120_records_for_every_catalogue_row(info: ModelInfo) -> None:
    spelled = _spelling(info)
    quotas = {info.model_id: Quotas(min_records_per_job=100, max_records_per_job=1_000)}
    with LocalBedrock(clock="manual", quotas=quotas) as local:
        session = local.session(region=_region(info, spelled))
        region = session.region_name
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}  # fmt: skip
        session.client("s3").create_bucket(Bucket="bkt", **kwargs)
        with BatchJob(spelled, ROLE, "s3://bkt/in/", "s3://bkt/out/", session=session,
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

"""Type-checked (mypy --strict), never run: the public API as users write it."""

from __future__ import annotations

import boto3

from bedrock_batch import (
    BatchJob,
    JobDescription,
    PollConfig,
    Quotas,
    Result,
    Summary,
    Usage,
    ValidationError,
)
from bedrock_batch.local import Faults, JobFault, LocalBedrock, RecordContext, Timings


def pipeline(session: boto3.Session) -> list[str | None]:
    job = BatchJob(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:iam::123456789012:role/R",
        "s3://bucket/in/",
        "s3://bucket/out/",
        session=session,
        quotas=Quotas.legacy_2024(),
        poll=PollConfig(initial=5, max_interval=60, jitter=1, timeout=3600),
    )
    rid: str = job.add_prompt("hello", max_tokens=100, key={"row": 1})
    try:
        job.add({"bad": True}, record_id=rid)
    except ValidationError as err:
        print(err.problems[0].record_id)
    desc: JobDescription = job.submit()
    final: JobDescription = job.wait(progress=True)
    texts = [r.text for r in job.results()]
    first: Result = next(iter(job.results()))
    usage: Usage = first.usage
    summary: Summary = job.summary()
    _ = (desc.job_id, final.status, usage.total_tokens, summary.consistent)
    return texts


def emulator() -> None:
    def responder(ctx: RecordContext) -> dict[str, object]:
        return {"generation": ctx.record_id}

    with LocalBedrock(
        clock="manual",
        timings=Timings(records_per_second=100),
        faults=Faults(throttle_rate=0.1, jobs=[JobFault("expire")]),
        responder=responder,
    ) as local:
        local.advance(hours=1)
        local.run_until_idle()

"""Type-checked (mypy --strict), never run: the public API as users write it."""

from __future__ import annotations

import boto3
from mypy_boto3_bedrock import BedrockClient
from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
from mypy_boto3_s3 import S3Client

import bedrock_batch
from bedrock_batch import (
    BatchJob,
    BatchStatus,
    DoctorCheck,
    DoctorReport,
    JobDescription,
    PollConfig,
    Quotas,
    Result,
    SetupError,
    SetupReport,
    Summary,
    Usage,
    ValidationError,
    doctor,
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
    desc: BatchStatus = job.submit()
    final: BatchStatus = job.wait(progress=True)
    texts = [r.text for r in job.results()]
    first: Result = next(iter(job.results()))
    usage: Usage = first.usage
    summary: Summary = job.summary()
    parts: tuple[JobDescription, ...] = final.jobs
    retried: int = job.retry(include_non_retryable=True)
    _ = (desc.job_id, final.status, usage.total_tokens, summary.consistent, parts, retried)
    return texts


def never_twice(session: boto3.Session) -> list[str]:
    job = BatchJob(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:iam::123456789012:role/R",
        "s3://bucket/in/",
        "s3://bucket/out/",
        session=session,
        dedupe=True,
        reuse="s3://bucket/answers/",
    )
    job.add_prompt("hello", max_tokens=100)
    not_sent: int = job.plan().deduplicated + job.plan().reused
    job.run()
    summary: Summary = job.summary()
    counts: tuple[int, int] = (summary.deduplicated, summary.reused)
    payers = [r.reused_from["job_arn"] for r in job.results() if r.reused_from is not None]
    _ = (not_sent, counts)
    return payers


def with_defaults(session: boto3.Session) -> str | None:
    report: SetupReport = bedrock_batch.setup(session=session, model_ids=["m"], dry_run=True)
    try:
        bedrock_batch.setup(update=True, settle_seconds=0.0)
    except SetupError as err:
        print(err.action)
    job = BatchJob("anthropic.claude-3-haiku-20240307-v1:0", session=session)
    sources: tuple[tuple[str, str], ...] = job.plan().sources
    role: str | None = job.role_arn
    _ = (report.role_arn, report.changed, sources)
    return role


def typed_clients() -> None:
    with LocalBedrock(clock="manual") as local:
        s3: S3Client = local.client("s3")
        bedrock: BedrockClient = local.client("bedrock")
        runtime: BedrockRuntimeClient = local.client("bedrock-runtime")
        s3.create_bucket(Bucket="bucket")
        job = BatchJob(
            "amazon.nova-lite-v1:0",
            "arn:aws:iam::123456789012:role/R",
            "s3://bucket/in/",
            "s3://bucket/out/",
            bedrock_client=bedrock,
            s3_client=s3,
            runtime_client=runtime,
            mode="auto",
        )
        job.add_prompt("hi")
        status: BatchStatus = job.submit()
        arns: list[str] = status.job_arns
        frame = job.results().to_pandas()
        _ = (arns, frame)


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


def checks_before_a_batch() -> None:
    report: DoctorReport = doctor(
        "us.anthropic.claude-3-haiku-20240307-v1:0",
        role_arn="arn:aws:iam::123456789012:role/R",
        input_uri="s3://bucket/in/",
        output_uri="s3://bucket/out/",
        region="us-east-1",
        probe=False,
    )
    check: DoctorCheck = report["role trust"]
    verdict: str = check.verdict
    fix: str | None = check.fix
    code: int = report.exit_code
    lines: list[str] = report.lines()
    _ = (verdict, fix, code, lines, report.ok, report.role_arn.source)


def cluster_inputs(job: BatchJob, frames: list[object]) -> BatchStatus:
    from bedrock_batch.dask import submit_dataframe, submit_partitions

    status: BatchStatus = submit_partitions(
        frames, job, prompt="question", key=lambda row: row["doc"], on_invalid="skip", max_tokens=50
    )
    assert status.status
    return submit_dataframe(frames[0], job, prompt="question", system="be brief")

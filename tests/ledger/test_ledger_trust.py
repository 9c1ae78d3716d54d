"""The ledger is trusted only as far as Bedrock and its own place confirm it.

Anyone who can write the input bucket can edit a ledger. When a batch is attached (or a handle
reads its ledger again), what Bedrock says of its jobs — their input, output and role — must be
what the ledger says, the ledger must describe the batch whose folder it lies in, and every input
it names must be in that folder; otherwise :class:`LedgerError`, before anything is read or sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bedrock_batch import BatchJob, LedgerError, PollConfig, Quotas
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import HAIKU, ROLE, job_on

OTHER_ROLE = "arn:aws:iam::123456789012:role/Elsewhere"


def edit(s3: Any, job: BatchJob, change: Callable[[dict[str, Any]], None]) -> None:
    uri = S3Uri.parse(job.state_uri or "")
    data = json.loads(s3.get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read())
    change(data)
    s3.put_object(Bucket=uri.bucket, Key=uri.key, Body=json.dumps(data).encode())


def finished(local: LocalBedrock, n: int = 120, **kw: Any) -> BatchJob:
    job = job_on(local, poll=PollConfig(initial=60, max_interval=600, jitter=0), **kw)
    for i in range(n):
        job.add_prompt(f"question {i}", max_tokens=40, key=i)
    job.submit()
    job.wait()
    return job


def attach(local: LocalBedrock, handle: str) -> BatchJob:
    return BatchJob.attach(handle, session=local.session(), sleep=local.advance)


def test_a_ledger_pointing_results_at_another_bucket_is_refused(local: LocalBedrock) -> None:
    job = finished(local)
    s3 = local.session().client("s3")
    s3.create_bucket(Bucket="elsewhere")
    arn = job.job_arn or ""
    own = f"out/{arn.rsplit('/', 1)[1]}/part-00000.jsonl.out"
    body = s3.get_object(Bucket="bkt", Key=own)["Body"].read().replace(b"question", b"FORGED")
    s3.put_object(Bucket="elsewhere", Key=own, Body=body)
    assert attach(local, arn).summary().succeeded == 120  # the ledger as written: trusted

    def to_elsewhere(data: dict[str, Any]) -> None:
        data["spec"]["output_uri"] = "s3://elsewhere/out/"

    edit(s3, job, to_elsewhere)
    for handle in (arn, job.state_uri or ""):
        with pytest.raises(LedgerError, match="output s3://bkt/out/"):
            attach(local, handle)
    again = job_on(local, poll=PollConfig(initial=60, max_interval=600, jitter=0))
    for i in range(120):
        again.add_prompt(f"question {i}", max_tokens=40, key=i)
    with pytest.raises(LedgerError, match="not this batch's"):  # resuming the same records
        again.submit()


def test_a_ledger_naming_inputs_outside_its_batch_is_refused(local: LocalBedrock) -> None:
    job = finished(local)
    s3 = local.session().client("s3")

    def other_input(data: dict[str, Any]) -> None:
        data["attempts"][0]["jobs"][0]["input_uri"] = "s3://bkt/someone-else/"

    edit(s3, job, other_input)
    with pytest.raises(LedgerError, match="outside"):
        attach(local, job.state_uri or "")


def test_a_ledger_edited_to_retry_elsewhere_under_another_role_is_refused() -> None:
    faults = Faults(record_error_rate=0.2)
    with LocalBedrock(
        clock="manual", faults=faults, quotas={HAIKU: Quotas(min_records_per_job=20)}
    ) as local:
        job = finished(local, 200)
        assert job.summary().errored > 20
        bedrock = local.session().client("bedrock")
        s3 = local.session().client("s3")
        before = len(bedrock.list_model_invocation_jobs()["invocationJobSummaries"])
        attached = attach(local, job.job_arn or "")

        def elsewhere(data: dict[str, Any]) -> None:
            data["spec"]["role_arn"] = OTHER_ROLE
            data["spec"]["output_uri"] = "s3://bkt/stolen/"

        edit(s3, job, elsewhere)
        for handle in (attached, job):  # handles that read the ledger before the edit
            with pytest.raises(LedgerError):
                handle.retry()
        with pytest.raises(LedgerError):
            attach(local, job.job_arn or "").retry()
        jobs = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
        assert len(jobs) == before
        assert all(
            bedrock.get_model_invocation_job(jobIdentifier=j["jobArn"])["roleArn"] == ROLE
            for j in jobs
        )

"""Injected record faults are drawn independently per job: two jobs over the same records fail
about ``rate``² of them in common — not the same records again (which made a user's retry logic
look broken), and not never (which would hide retries that resend failures)."""

from __future__ import annotations

from itertools import combinations

from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import BUCKET, create_job, put_records, read_out

RATE = 0.05
RECORDS = 2_000
JOBS = 4


def test_jobs_over_the_same_records_fail_independently() -> None:
    with LocalBedrock(clock="manual", faults=Faults(record_error_rate=RATE), seed=11) as local:
        session = local.session()
        s3, bedrock = session.client("s3"), session.client("bedrock")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, RECORDS)
        arns = [create_job(bedrock, jobName=f"job-{n}") for n in range(JOBS)]
        local.advance(hours=2)
        failed: list[set[str]] = []
        for arn in arns:
            job_id = arn.rsplit("/", 1)[1]
            lines = read_out(s3, f"out/{job_id}/data.jsonl.out")
            assert len(lines) == RECORDS
            failed.append({line["recordId"] for line in lines if "error" in line})
        for errored in failed:  # each job errs at the configured rate
            assert 0.5 * RATE * RECORDS < len(errored) < 1.5 * RATE * RECORDS
        for a, b in combinations(failed, 2):  # expected overlap: RATE * |a| (~5 records)
            shared = len(a & b)
            assert 0 < shared < 0.25 * len(a), (shared, len(a))

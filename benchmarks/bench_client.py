"""BatchJob against raw boto3, side by side in one run (Local Bedrock served in another process).

(a) build + shard + upload N Claude records (BatchJob.add_prompt ... submit) versus a plain
    ``upload_file`` of the same bytes;
(b) read + join N outputs (``BatchJob.results()``) versus a plain download + ``json.loads`` of
    the same files.
Each with its peak Python heap (tracemalloc, measured in a separate pass from the timing).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

from _common import client, peak_mib, report, server, timed

from bedrock_batch import BatchJob, PollConfig, Quotas

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE = "arn:aws:iam::123456789012:role/Bench"


def make_job(url: str, bucket: str, n: int) -> BatchJob:
    job = BatchJob(
        HAIKU,
        ROLE,
        f"s3://{bucket}/in/",
        f"s3://{bucket}/out/",
        bedrock_client=client(url, "bedrock"),
        s3_client=client(url, "s3"),
        quotas=Quotas(max_records_per_job=10**7, max_records_per_file=10**7, max_job_bytes=10**12),
        poll=PollConfig(initial=0.2, max_interval=1.0, jitter=0),
    )
    for i in range(n):
        job.add_prompt(f"日本の文化について質問 {i}: お茶の作法は?", max_tokens=300)
    return job


def ours_upload(url: str, bucket: str, n: int) -> BatchJob:
    job = make_job(url, bucket, n)
    job.submit()
    return job


def raw_upload(url: str, bucket: str, n: int) -> None:
    s3 = client(url, "s3")
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
        for i in range(n):
            body = {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 300,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": f"日本の文化について質問 {i}: お茶の作法は?"}
                        ],
                    }
                ],
            }
            fh.write(
                (
                    json.dumps({"recordId": f"R{i:010d}", "modelInput": body}, ensure_ascii=False)
                    + "\n"
                ).encode()
            )
    try:
        s3.upload_file(fh.name, bucket, f"raw/{time.time_ns()}.jsonl")
    finally:
        os.unlink(fh.name)


def raw_read(url: str, bucket: str, job_id: str) -> int:
    s3 = client(url, "s3")
    count = 0
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=f"out/{job_id}/")["Contents"]:
        if obj["Key"].endswith(".jsonl.out"):
            data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            count += len([json.loads(line) for line in data.split(b"\n") if line])
    return count


def ours_read(job: BatchJob) -> int:
    return sum(1 for r in job.results() if r.status == "succeeded")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    args = ap.parse_args()
    n = args.records
    rows: list[dict[str, Any]] = []
    with server(
        "--time-scale",
        "100000",
        "--max-records-per-job",
        str(10**7),
        "--max-records-per-file",
        str(10**7),
    ) as url:
        s3 = client(url, "s3")
        for b in ("bench-a", "bench-b", "bench-c"):
            s3.create_bucket(Bucket=b)
        t_raw, _ = timed(lambda: raw_upload(url, "bench-a", n))
        t_ours, job = timed(lambda: ours_upload(url, "bench-a", n))
        m_raw = peak_mib(lambda: raw_upload(url, "bench-b", n))
        m_ours = peak_mib(lambda: ours_upload(url, "bench-c", n))
        rows.append(
            {
                "case": f"build+shard+upload {n}",
                "raw_s": round(t_raw, 2),
                "ours_s": round(t_ours, 2),
                "ratio": round(t_ours / t_raw, 2),
                "raw_peak_MiB": round(m_raw, 1),
                "ours_peak_MiB": round(m_ours, 1),
            }
        )
        job.wait()
        job_id = (job.job_arn or "").rsplit("/", 1)[1]
        t_raw, got_raw = timed(lambda: raw_read(url, "bench-a", job_id))
        t_ours, got_ours = timed(lambda: ours_read(job))
        assert got_raw == got_ours == n, (got_raw, got_ours)
        m_raw = peak_mib(lambda: raw_read(url, "bench-a", job_id))
        m_ours = peak_mib(lambda: ours_read(job))
        rows.append(
            {
                "case": f"read+join {n}",
                "raw_s": round(t_raw, 2),
                "ours_s": round(t_ours, 2),
                "ratio": round(t_ours / t_raw, 2),
                "raw_peak_MiB": round(m_raw, 1),
                "ours_peak_MiB": round(m_ours, 1),
            }
        )
    report("client", rows)


if __name__ == "__main__":
    main()

"""Local Bedrock: records per second and peak memory for a Claude job, at several sizes; and
how long API calls and a big submit take while a server is busy processing many jobs.

1. In-process emulator, manual clock: the time ``advance()`` takes to validate, answer and
   write a whole job. S3 is moto's server in another process, so the peak memory measured here
   is the emulator's own. "Memory does not grow with file size": compare the peaks across sizes.
2. ``bedrock-batch local serve`` in another process with ``--busy-jobs`` jobs processing: the
   wall time of ``BatchJob.submit()`` (upload + create) and of single API calls meanwhile.
   Record processing must never make API calls wait.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from _common import client, moto_server, peak_mib, report, server

from bedrock_batch import BatchJob
from bedrock_batch.local import LocalBedrock, Quotas

ROLE = "arn:aws:iam::123456789012:role/R"

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def body(i: int) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": f"日本の文化について質問 {i}: お茶の作法は?"}],
            }
        ],
    }


def run_job(s3_url: str, n: int) -> tuple[float, float]:
    s3 = client(s3_url, "s3")
    bucket = f"bench-{n}-{time.time_ns() % 10**9}"
    s3.create_bucket(Bucket=bucket)
    lines = "".join(
        json.dumps({"recordId": f"r{i}", "modelInput": body(i)}, ensure_ascii=False) + "\n"
        for i in range(n)
    )
    s3.put_object(Bucket=bucket, Key="in/data.jsonl", Body=lines.encode())
    del lines
    elapsed = [0.0]

    def go() -> None:
        with LocalBedrock(
            clock="manual",
            s3_client=s3,
            mock_s3=False,
            default_quotas=Quotas(max_records_per_job=10**7, max_records_per_file=10**7),
        ) as local:
            bedrock = local.client("bedrock")
            arn = bedrock.create_model_invocation_job(
                jobName="bench",
                roleArn="arn:aws:iam::123456789012:role/R",
                modelId=HAIKU,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in/"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}},
            )["jobArn"]
            t0 = time.perf_counter()
            local.advance(hours=100)  # validation, processing and output upload happen here
            elapsed[0] = time.perf_counter() - t0
            d = bedrock.get_model_invocation_job(jobIdentifier=arn)
            assert d["status"] == "Completed", d
            assert d["successRecordCount"] == n, d

    peak = peak_mib(go)
    go()  # again, untraced, for the timing
    return elapsed[0], peak


def busy_server(busy_jobs: int, records_each: int, submit_records: int) -> dict[str, Any]:
    """Submit a big batch and time API calls while ``busy_jobs`` jobs are being processed."""
    with server(
        "--time-scale", "1000", "--records-per-second", "1000000",
        "--max-records-per-job", str(max(records_each, 50_000)),
        "--max-concurrent-jobs", str(busy_jobs + 100),
    ) as url:  # fmt: skip
        s3, bedrock = client(url, "s3"), client(url, "bedrock")
        s3.create_bucket(Bucket="busy")
        lines = "".join(
            json.dumps({"recordId": f"r{i}", "modelInput": body(i)}, ensure_ascii=False) + "\n"
            for i in range(records_each)
        )
        s3.put_object(Bucket="busy", Key="in/data.jsonl", Body=lines.encode())
        arns = [
            bedrock.create_model_invocation_job(
                jobName=f"busy-{n}",
                roleArn=ROLE,
                modelId=HAIKU,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://busy/in/"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://busy/out/"}},
            )["jobArn"]
            for n in range(busy_jobs)
        ]
        while bedrock.get_model_invocation_job(jobIdentifier=arns[-1])["status"] != "InProgress":
            time.sleep(0.05)
        job = BatchJob(
            HAIKU, ROLE, "s3://busy/submit/", "s3://busy/submit-out/",
            bedrock_client=bedrock, s3_client=s3, quotas_client=client(url, "service-quotas"),
        )  # fmt: skip
        for i in range(submit_records):
            job.add_prompt(f"q{i}", max_tokens=20)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        job.submit()
        submit_wall, submit_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        latencies = []
        for arn in arns * 3:
            t0 = time.perf_counter()
            bedrock.get_model_invocation_job(jobIdentifier=arn)
            latencies.append(time.perf_counter() - t0)
        still_running = sum(  # still busy at the end: the figures were taken under load
            bedrock.get_model_invocation_job(jobIdentifier=a)["status"] == "InProgress"
            for a in arns
        )
    return {
        "busy_jobs": busy_jobs,
        "records_each": records_each,
        "get_p50_ms": round(1000 * statistics.median(latencies), 1),
        "get_max_ms": round(1000 * max(latencies), 1),
        "submit_records": submit_records,
        "submit_wall_s": round(submit_wall, 1),
        "submit_client_cpu_s": round(submit_cpu, 1),
        "busy_jobs_still_running": still_running,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--busy-jobs", type=int, default=20, help="0 skips the server measurement")
    ap.add_argument("--busy-records", type=int, default=20_000, help="records of each busy job")
    ap.add_argument("--submit-records", type=int, default=200_000)
    args = ap.parse_args()
    rows = []
    with moto_server() as url:
        for n in (int(x) for x in args.sizes.split(",")):
            secs, peak = run_job(url, n)
            rows.append(
                {
                    "records": n,
                    "seconds": round(secs, 2),
                    "records_per_s": round(n / secs),
                    "peak_MiB": round(peak, 1),
                }
            )
    report("emulator", rows)
    if len(rows) > 1:
        growth = rows[-1]["peak_MiB"] / max(rows[0]["peak_MiB"], 0.1)
        size_ratio = rows[-1]["records"] / rows[0]["records"]
        print(f"peak memory x{growth:.2f} for x{size_ratio:.0f} the records")
    if args.busy_jobs:
        report(
            "emulator_busy_server",
            [busy_server(args.busy_jobs, args.busy_records, args.submit_records)],
        )


if __name__ == "__main__":
    main()

"""Many jobs: N small records split over many Bedrock jobs under a concurrency quota.

Reports the client's own CPU time (what the library costs, not the emulated wait), its peak
Python heap, and the control-plane calls made while waiting — one ListModelInvocationJobs call
per poll for all jobs, instead of one Get per job per poll. Local Bedrock runs in another
process.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from _common import client, report, server

from bedrock_batch import BatchJob, PollConfig

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--per-job", type=int, default=50_000)
    ap.add_argument("--concurrent", type=int, default=5)
    args = ap.parse_args()
    n = args.records
    with server(
        "--time-scale",
        "20000",
        "--max-records-per-job",
        str(args.per_job),
        "--max-concurrent-jobs",
        str(args.concurrent),
    ) as url:
        client(url, "s3").create_bucket(Bucket="many")
        job = BatchJob(
            HAIKU,
            "arn:aws:iam::123456789012:role/Bench",
            "s3://many/in/",
            "s3://many/out/",
            bedrock_client=client(url, "bedrock"),
            s3_client=client(url, "s3"),
            quotas_client=client(url, "service-quotas"),
            poll=PollConfig(initial=0.5, max_interval=2.0, jitter=0.1, timeout=None),
        )
        tracemalloc.start()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(n):
            job.add_prompt(f"q{i}", max_tokens=20)
        cpu_build = time.process_time() - cpu0
        job.submit()
        cpu_submit = time.process_time() - cpu0 - cpu_build
        before = dict(job.calls)
        cpu1 = time.process_time()
        status = job.wait()
        cpu_wait = time.process_time() - cpu1
        waited = {k: v - before.get(k, 0) for k, v in job.calls.items()}
        cpu2 = time.process_time()
        ok = sum(1 for r in job.results() if r.status == "succeeded")
        cpu_read = time.process_time() - cpu2
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        wall = time.perf_counter() - wall0
        assert ok == n, ok
    report(
        "many_jobs",
        [
            {
                "records": n,
                "jobs": len(status.jobs),
                "concurrent": args.concurrent,
                "cpu_build_s": round(cpu_build, 1),
                "cpu_submit_s": round(cpu_submit, 1),
                "cpu_wait_s": round(cpu_wait, 1),
                "cpu_read_s": round(cpu_read, 1),
                "wall_s": round(wall, 1),
                "peak_MiB": round(peak, 1),
                "list_calls_waiting": waited.get("ListModelInvocationJobs", 0),
                "get_calls_waiting": waited.get("GetModelInvocationJob", 0),
                "create_calls": job.calls["CreateModelInvocationJob"],
            }
        ],
    )


if __name__ == "__main__":
    main()

"""The 1M-record campaign: N small records split over many Bedrock jobs under a concurrency
quota, against a Local Bedrock server in another process.

Reports the client's own CPU seconds by phase (``time.process_time``: this process only, no
tracing), its peak RSS, and the control-plane calls made while waiting — one
ListModelInvocationJobs per poll for all jobs, not one Get per job per poll.
"""

from __future__ import annotations

import argparse
import time

from _common import HAIKU, ROLE, Clock, client, emit, rss_mib, server

from bedrock_batch import BatchJob, PollConfig


def campaign(url: str, n: int) -> dict[str, object]:
    client(url, "s3").create_bucket(Bucket="many")
    job = BatchJob(
        HAIKU,
        ROLE,
        "s3://many/in/",
        "s3://many/out/",
        bedrock_client=client(url, "bedrock"),
        s3_client=client(url, "s3"),
        quotas_client=client(url, "service-quotas"),
        poll=PollConfig(initial=0.5, max_interval=2.0, jitter=0.1, timeout=None),
    )
    clock = Clock()
    for i in range(n):
        job.add_prompt(f"q{i}", max_tokens=20)
    build = clock.lap()
    job.submit()
    submit = clock.lap()
    before = dict(job.calls)
    status = job.wait()
    wait = clock.lap()
    waited = {k: v - before.get(k, 0) for k, v in job.calls.items()}
    ok = sum(r.status == "succeeded" for r in job.results())
    read = clock.lap()
    assert ok == n, ok
    return {
        "records": n,
        "jobs": len(status.jobs),
        "cpu_build_s": build[0],
        "cpu_submit_s": submit[0],
        "cpu_wait_s": wait[0],
        "cpu_read_s": read[0],
        "cpu_total_s": build[0] + submit[0] + wait[0] + read[0],
        "wall_s": build[1] + submit[1] + wait[1] + read[1],
        "rss_mib": rss_mib(),
        "list_calls_waiting": waited.get("ListModelInvocationJobs", 0),
        "get_calls_waiting": waited.get("GetModelInvocationJob", 0),
        "create_calls": job.calls["CreateModelInvocationJob"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--per-job", type=int, default=50_000)
    ap.add_argument("--concurrent", type=int, default=5)
    ap.add_argument("--endpoint", help="a running Local Bedrock server (else one is started)")
    args = ap.parse_args()
    if args.endpoint:
        emit(campaign(args.endpoint, args.records))
        return
    flags = ["--time-scale", "20000", "--max-records-per-job", str(args.per_job)]
    flags += ["--max-concurrent-jobs", str(args.concurrent)]
    with server(*flags) as url:
        t0 = time.perf_counter()
        emit(campaign(url, args.records))
        print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

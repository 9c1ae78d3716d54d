"""Builds, submits, waits for and reads N records against AWS_ENDPOINT_URL; prints its peak RSS
after each phase (one JSON line). The memory test runs it at two sizes.

Usage: python memory_driver.py N BUCKET
"""

from __future__ import annotations

import json
import sys

from bedrock_batch import BatchJob, PollConfig, Quotas


def peak_mib() -> float:
    """This process's peak resident set size so far: ``VmHWM`` (``ru_maxrss`` would start at
    the parent's size, as a child inherits it across fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    n, bucket = int(sys.argv[1]), sys.argv[2]
    figures = {"start": peak_mib()}
    with BatchJob(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:iam::123456789012:role/Memory",
        f"s3://{bucket}/in/",
        f"s3://{bucket}/out/",
        quotas=Quotas(
            max_records_per_job=50_000, max_records_per_file=50_000, max_concurrent_jobs=20
        ),
        poll=PollConfig(initial=0.2, max_interval=1.0, jitter=0.05),
    ) as job:
        for i in range(n):
            job.add_prompt(f"memory question {i}: how does the tea ceremony differ by season?", max_tokens=50)  # fmt: skip
        figures["built"] = peak_mib()
        job.submit()
        figures["submitted"] = peak_mib()
        job.wait()
        succeeded = sum(r.ok for r in job.results())
        figures["read"] = peak_mib()
        figures["succeeded"] = succeeded
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

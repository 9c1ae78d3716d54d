"""Runs one whole batch against AWS_ENDPOINT_URL; the SIGKILL test kills it at random points.

Started again with the same inputs it must continue where it stopped.
Usage: python crash_driver.py N OUT.jsonl
"""

from __future__ import annotations

import json
import sys

from bedrock_batch import BatchJob, PollConfig


def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    job = BatchJob(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:iam::123456789012:role/Crash",
        "s3://crash-bucket/in/",
        "s3://crash-bucket/out/",
        poll=PollConfig(initial=0.05, max_interval=0.2, jitter=0.02),
    )
    for i in range(n):
        job.add_prompt(f"crash question {i}", max_tokens=50, record_id=f"C{i:05d}", key=i)
    print("submitting", flush=True)
    job.submit()
    print("waiting", flush=True)
    job.wait()
    print("reading", flush=True)
    counts = job.results().to_jsonl(out)
    print(json.dumps({"counts": counts, "jobs": job.job_arns}), flush=True)


if __name__ == "__main__":
    main()

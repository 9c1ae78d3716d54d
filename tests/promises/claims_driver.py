"""Runs an on-demand batch against AWS_ENDPOINT_URL, slowly (0.1 s a call), printing ``asked N``
before each InvokeModel call: the claim test SIGKILLs it in the middle of its run.

Usage: python claims_driver.py N
"""

from __future__ import annotations

import sys
import threading
import time

import boto3

from bedrock_batch import BatchJob

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def batch(session: boto3.Session, n: int) -> BatchJob:
    """The batch (the test builds the same one to resume it)."""
    job = BatchJob(
        HAIKU, "arn:aws:iam::123456789012:role/Claims", "s3://claims-bucket/in/",
        "s3://claims-bucket/out/", session=session, mode="on_demand",
    )  # fmt: skip
    for i in range(n):
        job.add_prompt(f"claim question {i}", max_tokens=50, record_id=f"Q{i:04d}")
    return job


def main() -> None:
    session = boto3.Session()
    asked = [0]
    lock = threading.Lock()

    def slow(**_: object) -> None:
        with lock:
            asked[0] += 1
            sys.stdout.write(f"asked {asked[0]}\n")
            sys.stdout.flush()
        time.sleep(0.1)

    session.events.register("before-call.bedrock-runtime.InvokeModel", slow)
    batch(session, int(sys.argv[1])).submit()
    print("done", flush=True)


if __name__ == "__main__":
    main()

"""Runs one whole batch against AWS_ENDPOINT_URL; the SIGKILL test kills it at random points.

Started again with the same inputs it must continue where it stopped.
Usage: python crash_driver.py N OUT.jsonl

The test starts most runs with :func:`forked` instead: a child forked from a process that has
already imported the library (``multiprocessing``'s fork server), so a run costs no interpreter
start and no boto3 import (about 0.6 s of CPU each); the child is the same program, told its
environment and announcing its phases on a pipe, and it is killed with the same SIGKILL.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from bedrock_batch import BatchJob, PollConfig

#: botocore's loader of its JSON data (endpoints, service models), filled by :func:`warm` in the
#: fork server: every forked run shares what it parsed.
LOADER: Any = None


def warm() -> None:
    """Parse botocore's endpoints and the models the driver uses, once, before any fork."""
    global LOADER  # noqa: PLW0603
    import boto3
    import botocore.loaders
    import botocore.session

    LOADER = botocore.loaders.create_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", LOADER)
    session = boto3.Session(botocore_session=core, region_name="us-east-1",
                            aws_access_key_id="warm", aws_secret_access_key="warm")  # fmt: skip
    for service in ("s3", "bedrock", "bedrock-runtime", "service-quotas"):
        session.client(service, endpoint_url="http://127.0.0.1:9")  # nothing is sent


def _session() -> Any:
    """A session on the warm loader (forked runs), or None: the library makes its own."""
    if LOADER is None:
        return None
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", LOADER)
    return boto3.Session(botocore_session=core)


def run(n: int, out: str, announce: Callable[[str], None]) -> dict[str, Any]:
    """The whole batch: add, submit, wait, write the results to ``out``; returns the report."""
    job = BatchJob(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:iam::123456789012:role/Crash",
        "s3://crash-bucket/in/",
        "s3://crash-bucket/out/",
        poll=PollConfig(initial=0.05, max_interval=0.2, jitter=0.02),
        session=_session(),
    )
    for i in range(n):
        job.add_prompt(f"crash question {i}", max_tokens=50, record_id=f"C{i:05d}", key=i)
    announce("submitting")
    job.submit()
    announce("waiting")
    job.wait()
    announce("reading")
    counts = job.results().to_jsonl(out)
    return {"counts": counts, "jobs": job.job_arns}


def forked(n: int, out: str, env: dict[str, str], pipe: Any) -> None:
    """:func:`run` in a forked child: ``env`` is its environment, phases go to ``pipe``."""
    os.environ.clear()
    os.environ.update(env)
    report = run(n, out, pipe.send)
    pipe.send(json.dumps(report))


def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    report = run(n, out, lambda phase: print(phase, flush=True))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()

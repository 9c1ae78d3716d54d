"""Import cost: ``import bedrock_batch`` on top of ``import boto3`` (median of fresh processes),
and whether ``bedrock-batch --help`` imports boto3 at all."""

from __future__ import annotations

import statistics
import subprocess
import sys

from _common import emit

RUNS = 15


def seconds(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    codes = ["import boto3", "import boto3, bedrock_batch", "import boto3, bedrock_batch; bedrock_batch.BatchJob"]  # fmt: skip
    runs: list[list[float]] = [[], [], []]
    for _ in range(RUNS):  # interleaved, so that a noisy moment hits every variant alike
        for i, code in enumerate(codes):
            runs[i].append(seconds(code))
    boto, both, first_use = (statistics.median(r) for r in runs)
    helped = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bedrock_batch._cli", "--help"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    imported = [line.rsplit("|", 1)[-1].strip() for line in helped.stderr.splitlines()]
    emit({
        "boto3_ms": boto * 1000,
        "added_ms": (both - boto) * 1000,
        "added_first_use_ms": (first_use - boto) * 1000,
        "help_imports_boto3": any(m.split(".")[0] in ("boto3", "botocore") for m in imported),
    })  # fmt: skip


if __name__ == "__main__":
    main()

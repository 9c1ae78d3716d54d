"""Memory stays flat in the number of records: a batch of 1,000,000 records is built, submitted,
waited for and read in about the memory of one of 100,000.

Opt-in (it takes minutes): ``pytest -m bigmem tests/test_memory.py``. Each size runs in a fresh
process (peak RSS is per process) against a Local Bedrock server in another process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from bedrock_batch.local import LocalBedrock, Quotas

from ..conftest import HAIKU, endpoint_env

DRIVER = Path(__file__).with_name("memory_driver.py")


def run_driver(url: str, n: int, bucket: str) -> dict[str, float]:
    boto3.session.Session().client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(n), bucket],
        capture_output=True, text=True, env=endpoint_env(url), timeout=3600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["succeeded"] == n
    return figures


@pytest.mark.bigmem
def test_peak_memory_is_flat_from_100k_to_1m_records() -> None:
    quotas = Quotas(max_records_per_job=50_000, max_records_per_file=50_000, max_concurrent_jobs=20)
    with LocalBedrock(time_scale=1_000_000, quotas={HAIKU: quotas}).serve(port=0) as server:
        small = run_driver(server.endpoint_url, 100_000, "mem-small")
        big = run_driver(server.endpoint_url, 1_000_000, "mem-big")
    for phase in ("built", "submitted", "read"):
        assert big[phase] - small[phase] <= 40, (phase, small, big)  # flat: not 10x
    assert big["read"] <= 150, big  # the bound for the whole campaign

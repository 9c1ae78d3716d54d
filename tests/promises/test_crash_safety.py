"""Kill a client with SIGKILL at many random points; started again it must finish with exactly
one Bedrock job per planned part and every record exactly once."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from bedrock_batch.local import LocalBedrock, Quotas, Timings

from ..conftest import HAIKU, endpoint_env

N = 360
DRIVER = Path(__file__).with_name("crash_driver.py")


PHASES = ("starting", "submitting", "waiting", "reading")


def _kill_in(proc: subprocess.Popen[str], phase: str, delay: float) -> str | None:
    """SIGKILL the driver ``delay`` seconds after it announced ``phase`` (or after it started);
    returns the phase it was last seen in when killed, None when it ended first."""
    last = "starting"
    if phase != "starting":
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while last != phase and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:  # it ended (or closed its output) before the phase
                return None
            if line.strip() in PHASES:
                last = line.strip()
    time.sleep(delay + (0.05 if phase == "starting" else 0.0))
    if proc.poll() is not None:
        return None
    proc.send_signal(signal.SIGKILL)
    return last


@pytest.mark.slow
def test_sigkill_at_30_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    quotas = Quotas(min_records_per_job=20, max_records_per_job=60, max_concurrent_jobs=2)
    timings = Timings(submitted=20, validating=20, scheduled=20, stopping=5, records_per_second=50)
    local = LocalBedrock(time_scale=100, timings=timings, quotas={HAIKU: quotas}, seed=9)
    with local.serve(port=0) as server:
        env = endpoint_env(server.endpoint_url)
        creds = dict.fromkeys(("aws_access_key_id", "aws_secret_access_key"), "testing")
        session = boto3.Session(region_name="us-east-1", **creds)
        s3 = session.client("s3", endpoint_url=server.endpoint_url)
        bedrock = session.client("bedrock", endpoint_url=server.endpoint_url)
        s3.create_bucket(Bucket="crash-bucket")
        out = tmp_path / "results.jsonl"
        rng = random.Random(2026)
        phases: list[str] = []
        kills = runs = 0
        while kills < 32 and runs < 120:
            runs += 1
            proc = subprocess.Popen(
                [sys.executable, str(DRIVER), str(N), str(out)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            # Aim each kill at a phase (in turn), then a random moment inside it: the phases'
            # lengths vary with the machine's load, so a fixed time window would hit only the
            # first ones on a busy machine.
            seen = _kill_in(proc, PHASES[runs % len(PHASES)], rng.uniform(0.0, 0.5))
            if seen is not None:
                kills += 1
                phases.append(seen)
            proc.communicate(timeout=30)
            jobs = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
            names = [j["jobName"] for j in jobs]
            assert len(names) == len(set(names)) <= N // 60, names  # never a second job for a part
        final = subprocess.run(
            [sys.executable, str(DRIVER), str(N), str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert final.returncode == 0, final.stderr
        report = json.loads(final.stdout.splitlines()[-1])
        assert report["counts"] == {"succeeded": N, "errored": 0, "missing": 0}
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert sorted(r["recordId"] for r in rows) == [f"C{i:05d}" for i in range(N)]
        assert sorted(r["key"] for r in rows) == list(range(N))
        jobs = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
        assert len(jobs) == N // 60 == len(report["jobs"])
        assert kills >= 30
        assert len(set(phases)) >= 3, phases  # the kills landed in different phases

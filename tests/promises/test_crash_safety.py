"""Kill a client with SIGKILL at many random points; started again it must finish with exactly
one Bedrock job per planned part and every record exactly once.

The killed runs are children forked from a process that has already imported the library
(``multiprocessing``'s fork server: no interpreter start or boto3 import a run); the last run,
which must finish the batch, is a fresh interpreter started from the command line."""

from __future__ import annotations

import json
import multiprocessing
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import boto3
import pytest

from bedrock_batch.local import LocalBedrock, Quotas, Timings

from ..conftest import HAIKU, THOROUGH, endpoint_env
from . import crash_driver

N = 360
#: Kills aimed at the phases in turn; 32 with BEDROCK_BATCH_HYPOTHESIS=thorough.
KILLS = 32 if THOROUGH else 16
DRIVER = Path(__file__).with_name("crash_driver.py")


PHASES = ("starting", "submitting", "waiting", "reading")


@pytest.fixture
def forks() -> Iterator[Any]:
    """A fork server that has imported the driver (and so the library and boto3)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([f"{__package__}.crash_preload"])
    yield ctx
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # type: ignore[attr-defined]  # its imports are large


def _start(forks: Any, env: dict[str, str], out: Path) -> tuple[Any, Connection]:
    """One run of the driver in a forked child; its phases arrive on the returned pipe."""
    reader, writer = forks.Pipe(duplex=False)
    proc = forks.Process(target=crash_driver.forked, args=(N, str(out), env, writer), daemon=True)
    proc.start()
    writer.close()
    return proc, reader


def _kill_in(proc: Any, phases: Connection, phase: str, delay: float) -> str | None:
    """SIGKILL the driver ``delay`` seconds after it announced ``phase`` (or after it started);
    returns the phase it was last seen in when killed, None when it ended first."""
    last = "starting"
    if phase != "starting":
        deadline = time.monotonic() + 60
        while last != phase and phases.poll(max(0.0, deadline - time.monotonic())):
            try:
                message = phases.recv()
            except EOFError:  # it ended before the phase
                return None
            if message in PHASES:
                last = message
    time.sleep(delay + (0.05 if phase == "starting" else 0.0))
    if not proc.is_alive():
        return None
    proc.kill()  # SIGKILL
    return last


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path, forks: Any) -> None:
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
        while kills < KILLS and runs < 4 * KILLS:
            runs += 1
            proc, announced = _start(forks, env, out)
            # Aim each kill at a phase (in turn), then a random moment inside it: the phases'
            # lengths vary with the machine's load, so a fixed time window would hit only the
            # first ones on a busy machine.
            seen = _kill_in(proc, announced, PHASES[runs % len(PHASES)], rng.uniform(0.0, 0.5))
            if seen is not None:
                kills += 1
                phases.append(seen)
            proc.join(30)
            announced.close()
            assert proc.exitcode is not None
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
        assert kills >= KILLS - 2
        assert len(set(phases)) >= 3, phases  # the kills landed in different phases

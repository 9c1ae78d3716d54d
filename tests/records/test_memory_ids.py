"""Memory that does not care about ids (opt-in: ``pytest -m bigmem tests/records/test_memory_ids.py``,
a few minutes). Each size is built in a fresh process (peak RSS from ``VmHWM``): a store of
100,000 and 5,000,000 records with default ids (the floor: the store keeps 12 bytes a record of
sizes and offsets whatever the ids), counting explicit ids (``R00000001``...: a run, nothing
more) and random explicit ids (the hashed index: ~20 bytes a record over the floor)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
SMALL, BIG = 100_000, 5_000_000


def build(n: int, ids: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    out = subprocess.run(
        [sys.executable, str(HERE / "memory_ids_driver.py"), str(n), ids],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.bigmem
def test_rss_does_not_depend_on_the_ids() -> None:
    got = {(n, ids): build(n, ids) for ids in ("default", "sequential", "random") for n in (SMALL, BIG)}  # fmt: skip
    for key, figures in got.items():
        print(key, round(figures["rss_mib"], 1), "MiB")
    floor = got[BIG, "default"]["rss_mib"]
    # counting ids cost what default ids cost: flat over the floor from 100k to 5M
    over_small = got[SMALL, "sequential"]["rss_mib"] - got[SMALL, "default"]["rss_mib"]
    over_big = got[BIG, "sequential"]["rss_mib"] - floor
    assert over_big - over_small < 4, (over_small, over_big)
    assert got[BIG, "sequential"]["index_lines"] == BIG + 1  # every id listed, none held
    # random ids: ~20 bytes a record over the floor (measured 22.4 at the peak, 2026-12-03: the
    # table is briefly held twice while it doubles; 4 bytes of offset and ~13 of table at rest)
    per_record = (got[BIG, "random"]["rss_mib"] - floor) * 2**20 / BIG
    print(f"random ids: {per_record:.1f} bytes a record over the floor")
    assert per_record <= 24, per_record

"""A batch submitted before a change is resumed, not resubmitted: the stored bytes (and so the
content id) of fixed batches are those the code before speed round 2 computed
(``tests/data/identity_v1.json``), with every JSON codec installed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CODECS = [c for c in ("json", "orjson", "msgspec") if c == "json" or importlib.util.find_spec(c)]


@pytest.mark.parametrize("codec", CODECS)
def test_fixed_batches_keep_their_identity(codec: str) -> None:
    want = json.loads((ROOT / "tests" / "data" / "identity_v1.json").read_text())["cases"]
    env = {**os.environ, "BEDROCK_BATCH_JSON": codec, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(HERE / "identity_driver.py")],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    got = json.loads(out.stdout)
    assert got["backend"] == codec
    assert got["cases"] == want

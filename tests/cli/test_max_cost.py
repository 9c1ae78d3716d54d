"""``--max-cost``: plan shows the bound beside the cap; run and retry refuse (exit 3, one
line) before anything is uploaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import Quotas

from ..conftest import HAIKU
from .conftest import cli
from .test_prompt_files import BUCKET, job

pytestmark = [pytest.mark.usefixtures("env"), pytest.mark.emulator(
    bucket=BUCKET, time_scale=5000,
    quotas={HAIKU: Quotas(min_records_per_job=10, max_records_per_job=1000)},
)]  # fmt: skip


def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("".join(f"What is {n} squared?\n" for n in range(12)))
    return path


def test_plan_shows_the_bound_beside_the_cap(capsys: Any, tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "plan", *job(prompts(tmp_path), "cap1", "--max-tokens", "20"),
                       "--max-cost", "0.5", "--json")  # fmt: skip
    assert code == 0
    cap = json.loads(out)["costCap"]
    assert "against max_cost_usd=$0.5000" in cap and "over" not in cap


def test_run_over_the_cap_exits_3_and_uploads_nothing(capsys: Any, tmp_path: Path) -> None:
    import boto3

    code, _, err = cli(capsys, "run", *job(prompts(tmp_path), "cap2", "--max-tokens", "20"),
                         "--max-cost", "0.000001", "--quiet")  # fmt: skip
    assert code == 3, err
    assert "max_cost_usd" in err and "Traceback" not in err
    s3 = boto3.client("s3")  # the server's, through AWS_ENDPOINT_URL
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="cap2/")
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "ten"])
def test_a_bad_max_cost_is_a_usage_error(capsys: Any, tmp_path: Path, bad: str) -> None:
    code, _, err = cli(capsys, "plan", *job(prompts(tmp_path), "cap3"), "--max-cost", bad)
    assert code == 2 and "--max-cost" in err and "dollars" in err


SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # no row in the built-in price table


def test_price_gives_an_unpriced_model_its_bound(capsys: Any, tmp_path: Path) -> None:
    args = [str(prompts(tmp_path)), "--model-id", SONNET, *job(prompts(tmp_path), "cap4")[3:]]
    code, out, _ = cli(capsys, "plan", *args, "--max-tokens", "20", "--max-cost", "1", "--json")
    assert code == 0
    assert (
        "no price is known" in json.loads(out)["costCap"]
        and "--price" in json.loads(out)["costCap"]
    )
    code, out, _ = cli(capsys, "plan", *args, "--max-tokens", "20", "--max-cost", "1",
                       "--price", "3,15", "--json")  # fmt: skip
    plan = json.loads(out)
    assert code == 0 and "against max_cost_usd=$1.0000" in plan["costCap"]
    assert plan["costUsd"]["batch"] is not None  # the estimate uses the given price too


@pytest.mark.parametrize("bad", ["3", "3,x", "-1,2", "1,2,3", "inf,1"])
def test_a_bad_price_is_a_usage_error(capsys: Any, tmp_path: Path, bad: str) -> None:
    code, _, err = cli(capsys, "plan", *job(prompts(tmp_path), "cap5"), f"--price={bad}")
    assert code == 2 and "--price" in err and "INPUT,OUTPUT" in err

"""``--dedupe`` and ``--reuse`` on plan, submit and run: what is not sent shows in the plan and
the summary; a bad cache URI is one line and exit 3 (nothing uploaded)."""

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
    quotas={HAIKU: Quotas(min_records_per_job=5, max_records_per_job=1000)},
)]  # fmt: skip


def prompts(tmp_path: Path, name: str, numbers: list[int]) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"What is {n} squared?\n" for n in numbers))
    return path


def test_plan_with_dedupe_counts_what_is_not_sent(capsys: Any, tmp_path: Path) -> None:
    path = prompts(tmp_path, "dups.txt", [n % 4 for n in range(12)])
    code, out, err = cli(capsys, "plan", *job(path, "dd1", "--max-tokens", "20"), "--dedupe", "--json")  # fmt: skip
    assert code == 0, err
    plan = json.loads(out)
    assert (plan["records"], plan["deduplicated"], plan["reused"]) == (4, 8, 0)


def test_run_with_reuse_then_again_reuses_every_answer(capsys: Any, tmp_path: Path) -> None:
    cache = f"s3://{BUCKET}/rr-cache/"
    first = prompts(tmp_path, "first.txt", list(range(8)))
    code, out, err = cli(capsys, "run", *job(first, "rr1", "--max-tokens", "20"), "--reuse", cache, "--json",
                         "--output", str(tmp_path / "a.jsonl"), "--quiet", "--poll-interval", "0.05")  # fmt: skip
    assert code == 0, err
    ran = json.loads(out)
    assert (ran["counts"]["succeeded"], ran["reused"], ran["deduplicated"]) == (8, 0, 0)
    again = prompts(tmp_path, "again.txt", list(range(8)))
    code, out, err = cli(capsys, "plan", *job(again, "rr2", "--max-tokens", "20"), "--reuse", cache, "--json")  # fmt: skip
    assert code == 0, err
    assert (json.loads(out)["records"], json.loads(out)["reused"]) == (0, 8)


def test_a_bad_reuse_uri_is_one_line(capsys: Any, tmp_path: Path) -> None:
    path = prompts(tmp_path, "bad.txt", list(range(6)))
    code, _, err = cli(capsys, "plan", *job(path, "rr3"), "--reuse", "not-a-uri")
    assert code == 3 and "reuse" in err and "Traceback" not in err  # an invalid job parameter
    assert err.strip().splitlines()[1:] == [
        "  - reuse: not an S3 URI (expected s3://bucket/prefix): 'not-a-uri'"
    ]


def test_a_reuse_uri_in_no_bucket_is_one_line_naming_it(capsys: Any, tmp_path: Path) -> None:
    path = prompts(tmp_path, "nobucket.txt", list(range(6)))
    code, _, err = cli(capsys, "plan", *job(path, "rr4"), "--reuse", "s3://no-such-bucket-rr4/c/")
    assert code == 3 and "Traceback" not in err and "ListObjectsV2" not in err, err
    assert err.strip().splitlines()[1:] == [
        "  - reuse: the answer cache s3://no-such-bucket-rr4/c/ cannot be read: its bucket does not exist"
    ]

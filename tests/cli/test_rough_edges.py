"""Rough edges of the command line (issue 20, item 5), each as the user would expect it: one
line on stderr, the documented exit code. In-process through ``main(argv)`` against a Local
Bedrock server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import Quotas

from ..conftest import HAIKU, ROLE, claude_body
from .conftest import cli

BUCKET = "rough-edges"
pytestmark = pytest.mark.emulator(
    bucket=BUCKET, time_scale=5000, quotas={HAIKU: Quotas(min_records_per_job=1)}
)


def fails(capsys: Any, code: int, *argv: str) -> str:
    got, _, err = cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert got == code, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps({"recordId": f"Q{n}", "modelInput": claude_body(f"q{n}")}) + "\n" for n in range(5)))  # fmt: skip
    return path


def job(path: Path, prefix: str, bucket: str = BUCKET) -> list[str]:
    return [
        str(path), "--model-id", HAIKU, "--role-arn", ROLE,
        "--input-uri", f"s3://{bucket}/{prefix}/in/", "--output-uri", f"s3://{bucket}/{prefix}/out/",
    ]  # fmt: skip


def test_plan_refuses_a_bucket_that_does_not_exist(env: Any, capsys: Any, questions: Path) -> None:
    line = fails(capsys, 5, "plan", *job(questions, "p", bucket="no-such-bucket-here"))
    assert "no-such-bucket-here does not exist" in line and "create it first" in line
    code, _, err = cli(capsys, "plan", *job(questions, "p"))
    assert code == 0, err


def test_a_bare_job_id_is_a_handle(env: Any, capsys: Any, questions: Path) -> None:
    code, out, err = cli(capsys, "submit", *job(questions, "bare"), "--mode", "batch", "--json")
    assert code == 0, err
    arn = json.loads(out)["jobArns"][0]
    job_id = arn.rsplit("/", 1)[1]
    code, out, err = cli(capsys, "status", job_id, "--json")
    assert code == 0, err
    assert json.loads(out)["jobArns"] == [arn]
    line = fails(capsys, 2, "status", "zzzzzzzzzzzz")
    assert "no model invocation job 'zzzzzzzzzzzz'" in line


def test_a_short_bucket_is_blamed_on_its_length(env: Any, capsys: Any, questions: Path) -> None:
    code, _, err = cli(capsys, "plan", *job(questions, "short", bucket="ab"))
    assert code == 3, err
    assert "3 to 63 characters" in err and "lower-case" not in err, err


def test_list_prints_iso_times(env: Any, capsys: Any, questions: Path) -> None:
    code, _, err = cli(capsys, "submit", *job(questions, "listed"), "--mode", "batch")
    assert code == 0, err
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
    code, out, err = cli(capsys, "list", "--json")
    assert code == 0, err
    assert all(iso.match(j["submitTime"]) for j in json.loads(out)), out
    code, out, err = cli(capsys, "list")
    assert code == 0, err
    rows = [row for row in out.splitlines() if row.startswith("arn:")]
    assert rows and all(iso.search(row) for row in rows), out
    assert not any(re.search(r"\d{4}-\d\d-\d\d \d\d:", row) for row in rows), out


@pytest.mark.parametrize("flag", ["--input-uri", "--output-uri"])
def test_a_file_key_is_not_taken_as_a_prefix(env: Any, capsys: Any, questions: Path, flag: str) -> None:  # fmt: skip
    argv = job(questions, "filekey")
    argv[argv.index(flag) + 1] = f"s3://{BUCKET}/filekey/data.jsonl"
    line = fails(capsys, 2, "plan", *argv)
    assert f"{flag} s3://{BUCKET}/filekey/data.jsonl looks like a file" in line
    assert f"s3://{BUCKET}/filekey/" in line


def test_a_region_typo_is_refused(env: Any, capsys: Any, questions: Path) -> None:
    line = fails(capsys, 2, "plan", *job(questions, "region"), "--region", "us-east1")
    assert "'us-east1' is not an AWS region name" in line


def test_results_of_a_plan_handle_is_a_usage_error(env: Any, capsys: Any, questions: Path) -> None:
    code, out, err = cli(capsys, "plan", *job(questions, "planned"), "--json")
    assert code == 0, err
    handle = json.loads(out)["stateUri"]
    for command in ("results", "status"):
        line = fails(capsys, 2, command, handle)
        assert "no batch was submitted" in line and "submit" in line, line


def test_endpoint_url_that_is_not_a_url(env: Any, capsys: Any) -> None:
    line = fails(capsys, 2, "list", "--endpoint-url", "not a url")
    assert "--endpoint-url 'not a url' is not a URL" in line


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--port", "99999"], "0-65535"),
        (["--time-scale", "-1"], "above 0"),
        (["--time-scale", "nan"], "above 0"),
        (["--server-error", "NoSuchOp=0.5"], "unknown operation 'NoSuchOp'"),
        (["--throttle", "NoSuchOp=0.5"], "unknown operation 'NoSuchOp'"),
        (["--after-fault", "lost_answer:NoSuchOp"], "unknown operation 'NoSuchOp'"),
    ],
)
def test_local_serve_refuses_bad_flags(capsys: Any, flags: list[str], words: str) -> None:
    line = fails(capsys, 2, "local", "serve", *flags)
    assert words in line, line
    if "NoSuchOp" in words:
        assert "CreateModelInvocationJob" in line

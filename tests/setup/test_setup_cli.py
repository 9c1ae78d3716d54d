"""``bedrock-batch setup`` against ``local serve`` (IAM, STS and S3 from the server's moto):
setup, then ``run`` with only the model and the prompt column; a second setup finds everything;
``--dry-run`` creates nothing; no secret is printed. The first setup goes through the console
script itself; the other commands run ``main()`` in this process with exactly the command's
environment (``cli_in_process``)."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from bedrock_batch.local import Timings

from ..conftest import HAIKU, endpoint_env
from ..support import cli_command, cli_env, cli_in_process

pytestmark = pytest.mark.emulator(time_scale=5000, timings=Timings(records_per_second=200))
KEY, SECRET = "AKIAFAKEKNOWNKEY0003", "kNoWnFaKeSeCrEt/0123456789+abcdefghijKLMN"


@pytest.fixture
def env(module_server: Any, tmp_path: Path) -> dict[str, str]:
    base = endpoint_env(str(module_server.endpoint_url))
    base.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
    base["BEDROCK_BATCH_CONFIG"] = str(tmp_path / "cfg" / "config.json")
    for name in ("BEDROCK_BATCH_ROLE_ARN", "BEDROCK_BATCH_INPUT_URI", "BEDROCK_BATCH_OUTPUT_URI"):
        base.pop(name, None)
    return cli_env(base)


def script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``bedrock-batch ARGS`` through the console script."""
    return subprocess.run(
        [*cli_command(), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def run(
    env: dict[str, str], *args: str, code: int = 0, console: bool = False
) -> subprocess.CompletedProcess[str]:
    """``bedrock-batch ARGS`` in this process (or through the console script)."""
    proc = script(env, *args) if console else cli_in_process(env, *args)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert KEY not in proc.stdout + proc.stderr and SECRET not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def client(env: dict[str, str], service: str) -> Any:
    return boto3.session.Session().client(
        service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def test_setup_then_run_with_only_the_model(env: dict[str, str], tmp_path: Path) -> None:
    first = run(env, "setup", "--model-id", HAIKU, console=True).stdout
    assert "bucket bedrock-batch-123456789012-us-east-1: created" in first
    assert "role BedrockBatchServiceRole: created" in first and "eventually consistent" in first
    config = Path(env["BEDROCK_BATCH_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert KEY not in config.read_text() and SECRET not in config.read_text()

    second = run(env, "setup", "--model-id", HAIKU, "--json").stdout
    steps = json.loads(second)["steps"]
    assert {s["outcome"] for s in steps} == {"found, unchanged"} and len(steps) == 3

    prompts = tmp_path / "prompts.csv"
    prompts.write_text("text\n" + "".join(f"question {i}\n" for i in range(120)))
    out = tmp_path / "results.jsonl"
    proc = run(env, "run", str(prompts), "--model-id", HAIKU, "--prompt-column", "text",
               "--output", str(out), "--quiet")  # fmt: skip
    assert f"from config file {config}" in proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 120 and {r["status"] for r in rows} == {"succeeded"}

    missing = dict(env, BEDROCK_BATCH_CONFIG=str(tmp_path / "empty.json"))
    proc = run(missing, "plan", str(prompts), "--model-id", HAIKU, "--prompt-column", "text", code=3)  # fmt: skip
    assert "--role-arn" in proc.stderr and "bedrock-batch setup" in proc.stderr


def test_dry_run_creates_nothing(env: dict[str, str]) -> None:
    proc = run(env, "setup", "--dry-run", "--bucket", "dry-run-bucket", "--role-name", "DryRole")
    assert "bucket dry-run-bucket: would create" in proc.stdout
    assert "role DryRole: would create" in proc.stdout and "nothing was changed" in proc.stdout
    names = [b["Name"] for b in client(env, "s3").list_buckets()["Buckets"]]
    assert "dry-run-bucket" not in names
    roles = [r["RoleName"] for r in client(env, "iam").list_roles()["Roles"]]
    assert "DryRole" not in roles and not Path(env["BEDROCK_BATCH_CONFIG"]).exists()


def test_setup_usage_mistakes(env: dict[str, str]) -> None:
    proc = run(env, "setup", "--expire-inputs-days", "7", code=2)  # not offered: see docs/setup.md
    assert "unrecognized arguments" in proc.stderr or "--expire-inputs-days" in proc.stderr
    for seconds in ("nan", "inf"):
        proc = run(env, "setup", "--settle-seconds", seconds, code=2)
        assert "--settle-seconds" in proc.stderr and "Traceback" not in proc.stderr
    proc = run(env, "setup", "--bucket", "Bad_Bucket", "--model-id", HAIKU, code=3)
    assert "bucket" in proc.stderr and "not a valid S3 bucket name" in proc.stderr

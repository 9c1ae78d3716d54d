"""The console script, the pytest plugin, and the public surface."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch
import bedrock_batch.local

from ..conftest import BUCKET, HAIKU, ROLE, claude_body
from ..support import cli_command, cli_env, cli_in_process


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_command(), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
        env=cli_env(),
    )


def in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``main()`` in this process (the console script itself: the demo and the checks above)."""
    return cli_in_process(dict(os.environ), *args)


def test_demo_runs_end_to_end() -> None:
    proc = cli("demo", "--records", "150", "--quiet", "--show", "2")
    assert proc.returncode == 0, proc.stderr
    assert "status         Completed" in proc.stdout
    assert "succeeded      150" in proc.stdout and "reconciled     yes" in proc.stdout
    assert proc.stdout.count("[JP") == 2


def test_run_local_writes_joined_results(tmp_path: Path) -> None:
    src = tmp_path / "q.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(
                {"recordId": f"Q{i}", "modelInput": claude_body(f"日本 {i}")}, ensure_ascii=False
            )
            for i in range(120)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "results.jsonl"
    proc = in_process(
        "run",
        str(src),
        "--local",
        "--model",
        HAIKU,
        "--role",
        ROLE,
        "--input-uri",
        f"s3://{BUCKET}/in/",
        "--output-uri",
        f"s3://{BUCKET}/out/",
        "--output",
        str(out),
        "--json",
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (
        report["counts"] == {"succeeded": 120, "errored": 0, "missing": 0} and report["consistent"]
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["recordId"] for r in rows) == sorted(f"Q{i}" for i in range(120))
    assert all(r["status"] == "succeeded" and r["text"] for r in rows)


def test_run_exit_code_for_invalid_input(tmp_path: Path) -> None:
    src = tmp_path / "q.jsonl"
    src.write_text('{"recordId": "a", "modelInput": {"prompt": 1}}\n', encoding="utf-8")
    proc = in_process(
        "run",
        str(src),
        "--local",
        "--model",
        HAIKU,
        "--role",
        ROLE,
        "--input-uri",
        f"s3://{BUCKET}/in/",
        "--output-uri",
        f"s3://{BUCKET}/out/",
    )
    assert proc.returncode == 3
    assert "anthropic_version: Field required" in proc.stderr


def test_help_has_examples() -> None:
    proc = cli("--help")
    assert proc.returncode == 0 and "bedrock-batch demo" in proc.stdout


def test_exports_are_sorted_and_public() -> None:
    for module in (bedrock_batch, bedrock_batch.local):
        names = list(module.__all__)
        assert names == sorted(names, key=lambda n: (not n.isupper(), n))
        for name in names:
            assert getattr(module, name) is not None


def test_version_from_metadata() -> None:
    from importlib.metadata import version

    assert bedrock_batch.__version__ == version("bedrock-batch")


def test_core_does_not_import_the_emulator() -> None:
    code = "import sys, bedrock_batch; bedrock_batch.BatchJob; print('moto' in sys.modules, 'bedrock_batch.local' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "False"]


def test_library_is_quiet(capsys: pytest.CaptureFixture[str], make_job: Any) -> None:
    job = make_job()
    for i in range(100):
        job.add_prompt(f"q{i}")
    job.run()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.local_bedrock(clock="manual", seed=3)
def test_pytest_plugin_fixture(local_bedrock: Any) -> None:
    from bedrock_batch.local import ManualClock

    assert isinstance(local_bedrock.clock, ManualClock)
    s3 = local_bedrock.client("s3")
    s3.create_bucket(Bucket="plugin-bucket")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["plugin-bucket"]

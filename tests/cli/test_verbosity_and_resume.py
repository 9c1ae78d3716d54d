"""The first hour, round 3 (issue 20): what ``-v`` and ``-vv`` show, how an interrupted ``run``
is resumed, and ``wait --timeout`` keeping its deadline. In-process through ``main(argv)``
against a Local Bedrock server (a Ctrl-C is a real KeyboardInterrupt in the main thread)."""

from __future__ import annotations

import _thread
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import JobFault, Quotas

from ..conftest import HAIKU, ROLE, claude_body
from .conftest import cli

BUCKET = "verbosity-resume"
pytestmark = pytest.mark.emulator(
    bucket=BUCKET, time_scale=5000, quotas={HAIKU: Quotas(min_records_per_job=1)}
)


def questions(tmp_path: Path, n: int = 5, tag: str = "q") -> Path:
    path = tmp_path / f"{tag}.jsonl"
    path.write_text("".join(json.dumps({"modelInput": claude_body(f"{tag}{i}")}) + "\n" for i in range(n)))  # fmt: skip
    return path


def job(path: Path, prefix: str) -> list[str]:
    return [
        str(path), "--model-id", HAIKU, "--role-arn", ROLE, "--mode", "batch",
        "--input-uri", f"s3://{BUCKET}/{prefix}/in/", "--output-uri", f"s3://{BUCKET}/{prefix}/out/",
    ]  # fmt: skip


def log_lines(err: str) -> list[str]:
    """The log lines, without the served emulator's request lines (werkzeug: it runs in this
    process here, never in the command's)."""
    return [
        line
        for line in err.splitlines()
        if line.split(" ", 1)[0] in ("DEBUG", "INFO") and " werkzeug: " not in line
    ]


# -- -v and -vv ---------------------------------------------------------------------------------


def test_v_shows_the_librarys_info_and_nothing_of_botocore(
    env: Any, capsys: Any, tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "-v", "submit", *job(questions(tmp_path), "v1"))
    assert code == 0, err
    lines = log_lines(err)
    assert lines and lines[0].startswith("INFO bedrock_batch"), err[:2000]
    assert all(line.startswith("INFO bedrock_batch") for line in lines), err[:2000]
    assert not any(
        word in line for line in lines for word in ("botocore", "urllib3", "credentials")
    )


def test_vv_adds_botocore_urllib3_and_the_librarys_debug(
    env: Any, capsys: Any, tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "-vv", "submit", *job(questions(tmp_path), "v2"))
    assert code == 0, err
    loggers = {line.split(" ", 2)[1].rstrip(":").split(".")[0] for line in log_lines(err)}
    assert {"bedrock_batch", "botocore", "urllib3"} <= loggers, loggers
    assert any(line.startswith("DEBUG bedrock_batch") for line in log_lines(err))
    # main() puts logging back as it was: a later quiet command logs nothing
    code, _, err = cli(capsys, "status", f"s3://{BUCKET}/v2/in/", "--json")
    assert not log_lines(err)


# -- an interrupted run ---------------------------------------------------------------------------


def _jobs() -> list[str]:
    import boto3

    listed = boto3.client("bedrock").list_model_invocation_jobs(maxResults=1000)
    return [j["jobArn"] for j in listed["invocationJobSummaries"]]


def _interrupt_once_a_job_is_created(before: int, delay: float = 0.3) -> threading.Thread:
    """Ctrl-C (KeyboardInterrupt in the main thread) once the emulator has one more job."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while len(_jobs()) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(delay)
        _thread.interrupt_main()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_an_interrupted_run_is_resumed_by_the_same_command(
    env: Any, capsys: Any, module_server: Any, tmp_path: Path
) -> None:
    module_server.local.faults.jobs.append(JobFault("stall", times=1))  # runs until stopped
    argv = ["run", *job(questions(tmp_path, 6, "r"), "run"), "--output", str(tmp_path / "o.jsonl")]
    before = _jobs()
    watcher = _interrupt_once_a_job_is_created(len(before))
    code, _, err = cli(capsys, *argv)
    watcher.join(5)
    assert code == 130, err
    assert "submitted: s3://" in err and "Traceback" not in err
    assert "Resume with: bedrock-batch wait" not in err
    assert "Run the same command again" in err and "bedrock-batch run " in err.splitlines()[-1]
    created = [arn for arn in _jobs() if arn not in before]
    assert len(created) == 1
    # the same command again attaches to the batch: "resumed", and no second job
    code, out, err = cli(capsys, *argv, "--no-wait", "--json")
    assert code == 0, err
    assert "resumed: s3://" in err and "submitted:" not in err
    assert json.loads(out)["jobArns"] == created and len(_jobs()) == len(before) + 1


# -- wait --timeout -------------------------------------------------------------------------------


def test_wait_timeout_pauses_never_pass_the_deadline(
    env: Any, capsys: Any, module_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timed assertion: the pauses the wait asks for add up to at most the timeout (counted
    from the command's start), and it ends with exit 6 — before, a last full pause and one
    more poll followed the deadline (``wait --timeout 3`` returned after 7.2 s)."""
    from bedrock_batch import BatchJob

    module_server.local.faults.jobs.append(JobFault("stall", times=1))
    code, out, err = cli(capsys, "submit", *job(questions(tmp_path, 7, "w"), "wait"), "--json")
    assert code == 0, err
    arn = json.loads(out)["jobArns"][0]
    pauses: list[float] = []
    real_attach = BatchJob.attach

    def attach(handle: str, **kwargs: Any) -> BatchJob:
        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            time.sleep(seconds)

        return real_attach(handle, **{**kwargs, "sleep": sleep})

    monkeypatch.setattr(BatchJob, "attach", attach)
    code, _, err = cli(capsys, "wait", arn, "--timeout", "1.5", "--quiet", "--poll-interval", "0.4")
    assert code == 6 and "gave up waiting" in err, err
    assert pauses and sum(pauses) <= 1.5  # one pause or more (a loaded machine polls slowly)

"""The mistakes a new user makes, and the CLI's answers: each through the console script,
against a Local Bedrock server — one line on stderr, the documented exit code, no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import JobFault, Quotas, Timings

from ..conftest import FIRST_HOUR_BUCKET, HAIKU, ROLE, claude_body, endpoint_env
from ..support import cli_command, cli_env, cli_in_process

BUCKET = FIRST_HOUR_BUCKET
pytestmark = pytest.mark.emulator(
    bucket=BUCKET,
    time_scale=5000,
    timings=Timings(records_per_second=50),
    quotas={HAIKU: Quotas(min_records_per_job=10, max_records_per_job=100)},
)


@pytest.fixture
def env(module_server: Any) -> dict[str, str]:
    return cli_env(endpoint_env(str(module_server.endpoint_url)))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command in-process (``main()``, the same output and exit code in a fraction of the
    time); a real process where it matters: Ctrl-C and closed pipes below."""
    return cli_in_process(env, *args)


def ok(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = run(env, *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def fails(env: dict[str, str], code: int, *args: str) -> str:
    """Run a mistake: the exit code, exactly one line on stderr, no traceback."""
    proc = run(env, *args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def records(tmp_path: Path, n: int, name: str = "q.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join(
            json.dumps({"recordId": f"Q{i}", "modelInput": claude_body(f"q{i}")}) + "\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )
    return path


def job(path: Path, prefix: str) -> list[str]:
    return [
        str(path), "--model-id", HAIKU, "--role-arn", ROLE,
        "--input-uri", f"s3://{BUCKET}/{prefix}/in/", "--output-uri", f"s3://{BUCKET}/{prefix}/out/",
    ]  # fmt: skip


ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef"


def test_input_file_missing_or_a_folder(env: dict[str, str], tmp_path: Path) -> None:
    line = fails(env, 2, "plan", *job(tmp_path / "nope.jsonl", "x"))
    assert "nope.jsonl does not exist" in line
    assert "is a folder" in fails(env, 2, "submit", *job(tmp_path, "x"))


def test_no_region_no_credentials_unknown_profile(env: dict[str, str], tmp_path: Path) -> None:
    bare = {k: v for k, v in env.items() if k not in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    assert "no AWS region" in fails(bare, 2, "list")
    assert "was not found" in fails(bare, 5, "status", ARN)  # a job ARN names its region
    nocreds = {
        **{k: v for k, v in env.items() if not k.startswith("AWS_ACCESS") and "SECRET" not in k},
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    assert "no AWS credentials" in fails(nocreds, 2, "list")
    assert "'nobody'" in fails(env, 2, "list", "--profile", "nobody")
    assert "'nobody'" in fails(env, 2, "--profile", "nobody", "list")


def test_usage_mistakes_never_reach_the_server(env: dict[str, str], module_server: Any) -> None:
    line = fails(env, 2, "list", "--status", "completed")
    assert "invalid choice: 'completed'" in line and "--help" in line
    assert "not a batch handle" in fails(env, 2, "status", "abc123")
    assert "KEY=VALUE" in fails(env, 2, "submit", *job(Path(__file__), "t"), "--tags", "oops")
    assert "invalid choice" in fails(env, 2, "no-such-command")
    assert "from 1 to 1000" in fails(env, 2, "list", "--max-results", "0")


def test_iam_policy_mistakes(env: dict[str, str]) -> None:
    base = ["iam-policy", "--model-id", HAIKU, "--account", "123456789012", "--region",
            "us-east-1", "--input-uri", "s3://in-b/in/", "--output-uri", "s3://out-b/out/"]  # fmt: skip
    ok(env, *base)
    assert "12-digit" in fails(env, 2, *base, "--account", "123")
    assert "gpt-4" in fails(env, 2, *base, "--model-id", "gpt-4")
    assert "S3 URI" in fails(env, 2, *base, "--input-uri", "in-bucket/in/")
    assert "S3 URI" in fails(env, 2, *base, "--output-uri", "s3://Bad_Bucket/x")
    no_region = {k: v for k, v in env.items() if k not in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    assert "no region" in fails(no_region, 2, *[a for a in base if a not in ("--region", "us-east-1")])  # fmt: skip
    assert "--queue-arn" in fails(env, 2, "iam-policy", "--events")


def test_iam_policy_documents(env: dict[str, str]) -> None:
    gov = ["iam-policy", "--model-id", "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
           "--account", "123456789012", "--region", "us-gov-west-1", "--input-uri",
           "s3://in-b/batch/in/", "--output-uri", "s3://out-b/out/"]  # fmt: skip
    proc = run(env, *gov, "--json", "--only", "permissions")
    if proc.returncode == 2:  # this version's catalog does not list the GovCloud profile
        gov[2] = HAIKU
        proc = run(env, *gov, "--json", "--only", "permissions")
    assert proc.returncode == 0, proc.stderr
    perms = json.loads(proc.stdout)
    assert set(perms) == {"Version", "Statement"}  # --only is honoured with --json
    text = json.dumps(perms)
    assert "arn:aws-us-gov:s3:::in-b/batch/in/*" in text and "arn:aws:s3" not in text
    nova = json.loads(
        ok(env, "iam-policy", "--model-id", "us.amazon.nova-lite-v1:0", "--account",
           "123456789012", "--region", "us-east-1", "--input-uri", "s3://in-b/batch/in/",
           "--output-uri", "s3://out-b/out/", "--only", "permissions").stdout
    )  # fmt: skip
    reads = next(s for s in nova["Statement"] if s["Sid"] == "ReadInputs")["Resource"]
    assert reads == ["arn:aws:s3:::in-b/batch/in/*", "arn:aws:s3:::in-b/batch/videos/*"]
    extra = json.loads(
        ok(env, *gov[:2], HAIKU, *gov[3:6], "us-east-1", *gov[7:], "--only", "permissions",
           "--extra-read-prefix", "s3://media-b/images/").stdout
    )  # fmt: skip
    reads = next(s for s in extra["Statement"] if s["Sid"] == "ReadInputs")["Resource"]
    assert reads == ["arn:aws:s3:::in-b/batch/in/*", "arn:aws:s3:::media-b/images/*"]
    queue = "arn:aws:sqs:us-east-1:123456789012:my-batches"
    rule = "arn:aws:events:us-east-1:123456789012:rule/my-batches"
    policy = json.loads(
        ok(env, "iam-policy", "--events", "--queue-arn", queue, "--rule-arn", rule).stdout
    )
    from bedrock_batch.iam import event_queue_policy

    assert policy == event_queue_policy(queue, rule)
    assert policy["Statement"][0]["Condition"] == {"ArnEquals": {"aws:SourceArn": rule}}


def _closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader has already gone (as ``| head`` does)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [*cli_command(), *args], stdout=write, stderr=subprocess.PIPE, text=True, env=env,
            timeout=300, check=False,
        )  # fmt: skip
    finally:
        os.close(write)


def test_batch_lifecycle_mistakes(env: dict[str, str], module_server: Any, tmp_path: Path) -> None:
    module_server.local.faults.jobs.append(JobFault("stall", times=1))  # runs until stopped
    submitted = json.loads(ok(env, "submit", *job(records(tmp_path, 40), "life"), "--json").stdout)
    handle, arn = submitted["handle"], submitted["jobArns"][0]
    assert handle.startswith("s3://") and handle.endswith("/bedrock-batch.json")
    # results and summary of a batch still running: "not finished", unless --partial
    assert "--partial reads them" in fails(env, 7, "results", handle, "--output", str(tmp_path / "r.jsonl"))  # fmt: skip
    assert "--partial reads them" in fails(env, 7, "summary", arn)
    assert "--timeout must be more than 0" in fails(env, 2, "wait", arn, "--timeout", "-5")
    timed_out = fails(env, 6, "wait", arn, "--timeout", "0.2", "--quiet")
    assert f"'bedrock-batch wait {handle}' picks it up again" in timed_out
    assert "but --region is eu-west-1" in fails(env, 2, "status", arn, "--region", "eu-west-1")
    ok(env, "results", arn, "--partial", "--output", str(tmp_path / "so-far.jsonl"))
    assert len((tmp_path / "so-far.jsonl").read_text().splitlines()) == 40
    assert "wait for it to end" in fails(env, 7, "retry", handle)
    # Ctrl-C while waiting: the exact command to resume, once
    proc = subprocess.Popen(
        [*cli_command(), "wait", arn], stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first progress line: it is waiting
    assert "records" in first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.count("Resume with") == 1 and f"Resume with: bedrock-batch wait {handle}" in err
    # stop, then stop again
    ok(env, "stop", handle)
    waited = run(env, "wait", handle, "--quiet")
    assert waited.returncode == 4 and "Traceback" not in waited.stderr
    assert "already ended (Stopped)" in fails(env, 8, "stop", arn)
    # a stopped batch fully recovered by retry: wait ARN && results ARN works
    assert json.loads(ok(env, "retry", arn, "--wait", "--quiet", "--json").stdout)["retried"] > 0
    status = json.loads(ok(env, "status", arn, "--json").stdout)
    assert status["status"] == "Completed", status
    ok(env, "wait", arn, "--quiet")
    out = tmp_path / "all.jsonl"
    ok(env, "results", arn, "--output", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 40 and {r["status"] for r in rows} == {"succeeded"}
    # the mistakes around an ended batch's results
    assert "already exists" in fails(env, 2, "results", arn, "--output", str(out))
    assert "does not exist" in fails(env, 2, "results", arn, "--output", str(tmp_path / "no" / "r.csv"))  # fmt: skip
    assert ".jsonl, .csv or .parquet" in fails(env, 2, "results", arn, "--output", str(tmp_path / "r.xlsx"))  # fmt: skip
    piped = _closed_pipe(env, "results", arn, "--output", "-")
    assert piped.returncode == 141 and piped.stderr == ""
    text = ok(env, "status", arn).stdout
    assert "{" not in text and text.splitlines()[0].split() == ["status", "Completed"]


def test_closed_pipe_after_iam_policy(env: dict[str, str]) -> None:
    piped = _closed_pipe(env, "iam-policy", "--model-id", HAIKU, "--account", "123456789012",
                         "--region", "us-east-1", "--input-uri", "s3://a-b/in/", "--output-uri",
                         "s3://a-b/out/")  # fmt: skip
    assert piped.returncode == 141 and piped.stderr == ""


def test_a_batch_answered_on_demand_has_a_handle(env: dict[str, str], tmp_path: Path) -> None:
    submitted = ok(env, "submit", *job(records(tmp_path, 5), "small"))
    lines = dict(line.split(None, 1) for line in submitted.stdout.splitlines() if line.strip() and not line.startswith("("))  # fmt: skip
    handle = lines["handle"]
    assert handle.startswith("s3://") and "job" not in lines and "on demand" in submitted.stdout
    status = json.loads(ok(env, "status", handle, "--json").stdout)
    assert status["status"] == "Completed" and status["jobArns"] == []
    assert set(status) >= {"handle", "totalRecordCount", "processedRecordCount"}
    ok(env, "wait", handle, "--quiet")
    out = tmp_path / "small.jsonl"
    ok(env, "results", handle, "--output", str(out))
    assert len(out.read_text().splitlines()) == 5
    assert json.loads(ok(env, "retry", handle, "--json").stdout)["retried"] == 0
    attached = json.loads(ok(env, "attach", handle, "--json").stdout)
    assert attached["records"] == 5 and attached["succeeded"] == 5


def test_skip_invalid_sends_the_rest_and_lists_the_refused(env: dict[str, str], tmp_path: Path) -> None:  # fmt: skip
    path = records(tmp_path, 20)
    lines = path.read_text().splitlines()
    lines[3] = '{"recordId": "Q3", "modelInput": {"messages": []}}'
    lines[7] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    proc = run(env, "submit", *job(path, "skip"))  # the default: nothing sent
    refused, *problems = proc.stderr.strip().splitlines()  # one problem a line
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    assert "2 invalid record(s)" in refused and "--skip-invalid" in refused
    assert [("line 4" in p, "line 8" in p) for p in problems] == [(True, False), (False, True)]
    submitted = run(env, "submit", *job(path, "skip"), "--skip-invalid", "--json")
    assert submitted.returncode == 0, submitted.stderr
    rejects = path.with_name("q.jsonl.rejected.jsonl")
    assert f"skipped 2 invalid line(s); the list is in {rejects}" in submitted.stderr
    listed = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["recordId"]) for r in listed] == [(4, "Q3"), (8, None)]
    assert all("key" in r for r in listed)  # the caller's key travels with a refused line
    handle = json.loads(submitted.stdout)["handle"]
    ok(env, "wait", handle, "--quiet", "--poll-interval", "0.1")
    summary = json.loads(ok(env, "summary", handle, "--json").stdout)
    assert summary["succeeded"] == 18 and summary["rejected"] == 2, summary
    rejects.unlink()
    planned = ok(env, "plan", *job(path, "skip"), "--skip-invalid")
    assert "2 invalid line(s) would be skipped" in planned.stderr and not rejects.exists()
    missing = job(records(tmp_path, 20, "ok.jsonl"), "nobucket")
    missing[missing.index("--input-uri") + 1] = "s3://no-such-bucket-here/in/"
    assert "no-such-bucket-here does not exist" in fails(env, 5, "submit", *missing)


def test_results_as_csv_and_parquet_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    import pandas as pd

    path = records(tmp_path, 30)
    handle = json.loads(ok(env, "submit", *job(path, "fmt"), "--json").stdout)["handle"]
    ok(env, "wait", handle, "--quiet", "--poll-interval", "0.1")
    jsonl = tmp_path / "r.jsonl"
    ok(env, "results", handle, "--output", str(jsonl))
    expected = sorted(json.loads(line)["text"] for line in jsonl.read_text().splitlines())
    for name in ("r.csv", "r.parquet"):
        target = tmp_path / name
        report = json.loads(ok(env, "results", handle, "--output", str(target), "--json").stdout)
        assert report["format"] == name.split(".")[1] and report["counts"]["succeeded"] == 30
        frame = pd.read_csv(target) if name.endswith("csv") else pd.read_parquet(target)
        assert sorted(frame["record_id"]) == sorted(f"Q{i}" for i in range(30))
        assert sorted(frame["text"]) == expected and set(frame["status"]) == {"succeeded"}
        assert (frame["input_tokens"] > 0).all()
    fails(env, 2, "results", handle, "--output", str(tmp_path / "r.csv"))
    ok(env, "results", handle, "--output", str(tmp_path / "r.csv"), "--force")
    ok(env, "results", handle, "--output", str(tmp_path / "data.out"), "--format", "csv")
    assert pd.read_csv(tmp_path / "data.out").shape[0] == 30
    assert not list(tmp_path.glob(".*.part"))


def test_global_options_after_the_subcommand(module_server: Any, tmp_path: Path) -> None:
    env = cli_env({k: v for k, v in endpoint_env("").items() if k not in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")})  # fmt: skip
    listed = ok(env, "list", "--endpoint-url", str(module_server.endpoint_url), "--region", "us-east-1",
                "--max-results", "2", "--status-equals", "Completed", "--json")  # fmt: skip
    jobs = json.loads(listed.stdout)
    assert len(jobs) <= 2 and all(set(j) == {"jobArn", "jobName", "status", "modelId", "submitTime"} for j in jobs)  # fmt: skip
    table = ok(env, "list", "--endpoint-url", str(module_server.endpoint_url), "--region", "us-east-1").stdout  # fmt: skip
    assert table.splitlines()[0].split()[:2] == ["JOB", "ARN"] or table.strip() == "no jobs"


@pytest.mark.parametrize(
    "command",
    ["run", "plan", "submit", "status", "wait", "results", "summary", "stop", "list", "retry",
     "attach", "iam-policy", "demo"],
)  # fmt: skip
def test_every_option_has_help(env: dict[str, str], command: str) -> None:
    out = ok(env, command, "--help").stdout
    _, _, options = out.partition("options:")
    assert "examples:" in out and "exit codes" in out
    body = options.split("examples:")[0]
    flags = [line.strip() for line in body.splitlines() if line.strip().startswith("-")]
    for line in flags:  # a flag's line carries its help, or the next line does
        idx = body.index(line)
        following = body[idx + len(line) :].lstrip("\n").split("\n", 1)[0]
        assert len(line.split("  ")) > 1 or following.startswith(" " * 10), (command, line)


def test_help_does_not_import_boto3() -> None:
    code = (
        "import sys\nfrom bedrock_batch._cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "try:\n    main(['results', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('boto3' in sys.modules, 'botocore' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), check=True
    )
    assert proc.stderr.split() == ["False", "False"]

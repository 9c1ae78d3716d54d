"""The complete CLI, run as the console script against a Local Bedrock server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import Faults, Quotas, Timings

from ..conftest import CLI_BUCKET, HAIKU, ROLE, claude_body, endpoint_env
from ..support import cli_command, cli_env, cli_in_process

pytestmark = pytest.mark.emulator(
    bucket=CLI_BUCKET,
    time_scale=5000,
    timings=Timings(records_per_second=50),
    quotas={HAIKU: Quotas(min_records_per_job=10, max_records_per_job=100)},
    faults=Faults(record_error_ids={"Q3"}),
)


@pytest.fixture
def endpoint(module_server: Any) -> str:
    return str(module_server.endpoint_url)


def bb(endpoint: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The command in-process (``main()``; the console script itself is tested in
    test_script_and_packaging and by ``local serve`` below)."""
    proc = cli_in_process(endpoint_env(endpoint), *args)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def job_args(path: Path, prefix: str) -> list[str]:
    return [
        str(path),
        "--model",
        HAIKU,
        "--role",
        ROLE,
        "--input-uri",
        f"s3://{CLI_BUCKET}/{prefix}/in/",
        "--output-uri",
        f"s3://{CLI_BUCKET}/{prefix}/out/",
    ]


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"recordId": f"Q{i}", "modelInput": claude_body(f"q{i}")})
            for i in range(150)
        ),
        encoding="utf-8",
    )
    return path


def test_plan_submit_status_wait_results_retry_attach_list(
    endpoint: str, questions: Path, tmp_path: Path
) -> None:
    plan = json.loads(bb(endpoint, "plan", *job_args(questions, "a"), "--json").stdout)
    assert (
        plan["records"] == 150
        and len(plan["jobs"]) == 2
        and plan["quotaSource"] == "service-quotas"
    )
    assert plan["costUsd"]["batch"] < plan["costUsd"]["onDemand"]
    submitted = json.loads(bb(endpoint, "submit", *job_args(questions, "a"), "--json").stdout)
    arn = submitted["jobArns"][0]
    assert len(submitted["jobArns"]) == 2
    again = json.loads(bb(endpoint, "submit", *job_args(questions, "a"), "--json").stdout)
    assert again["jobArns"] == submitted["jobArns"]  # idempotent
    status = json.loads(bb(endpoint, "status", arn, "--json").stdout)
    assert status["jobArns"] == submitted["jobArns"]
    done = json.loads(bb(endpoint, "wait", arn, "--json", "--timeout", "120").stdout)
    assert done["status"] == "Completed" and done["errorRecordCount"] == 1
    out = tmp_path / "r.jsonl"
    written = json.loads(bb(endpoint, "results", arn, "--output", str(out), "--json").stdout)
    assert written["counts"] == {"succeeded": 149, "errored": 1, "missing": 0}
    assert len(out.read_text(encoding="utf-8").splitlines()) == 150
    stdout_rows = bb(endpoint, "results", arn, "--output", "-").stdout.splitlines()
    assert len(stdout_rows) == 150
    assert (
        json.loads(bb(endpoint, "retry", arn, "--json").stdout)["retried"] == 0
    )  # a 400: left out
    retried = bb(endpoint, "retry", arn, "--include-non-retryable", "--json", "--wait")
    assert json.loads(retried.stdout)["retried"] == 1 and "sending them again" in retried.stderr
    summary = json.loads(bb(endpoint, "attach", arn, "--json").stdout)
    assert summary["records"] == 150 and summary["succeeded"] == 150
    listed = json.loads(bb(endpoint, "list", "--json", "--status", "Completed").stdout)
    assert set(submitted["jobArns"]) <= {j["jobArn"] for j in listed}
    text = bb(endpoint, "status", arn).stdout
    assert "Completed" in text and arn in text


def test_stop_and_exit_code_for_a_stopped_batch(
    module_server: Any, endpoint: str, questions: Path
) -> None:
    from bedrock_batch.local import JobFault

    module_server.local.faults.jobs.append(
        JobFault("stall", times=2)
    )  # the batch's two jobs run until stopped
    arn = json.loads(bb(endpoint, "submit", *job_args(questions, "b"), "--json").stdout)["jobArns"][
        0
    ]
    bb(endpoint, "stop", arn)
    proc = bb(endpoint, "wait", arn, "--json", check=False)
    assert proc.returncode == 4, proc.stderr
    assert "Stopped" in proc.stderr


def test_exit_codes_for_bad_input_and_service_errors(endpoint: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"recordId": "x", "modelInput": {}}\n', encoding="utf-8")
    proc = bb(endpoint, "plan", *job_args(bad, "c"), check=False)
    assert proc.returncode == 3 and "anthropic_version" in proc.stderr
    proc = bb(
        endpoint,
        "status",
        "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/zzzzzzzzzzzz",
        check=False,
    )
    assert proc.returncode == 5 and "ResourceNotFoundException" in proc.stderr
    proc = bb(endpoint, "no-such-command", check=False)
    assert proc.returncode == 2


def test_iam_policy_command(endpoint: str) -> None:
    docs = json.loads(
        bb(
            endpoint,
            "iam-policy",
            "--model",
            f"us.{HAIKU}",
            "--account",
            "123456789012",
            "--region",
            "us-east-1",
            "--input-uri",
            "s3://in-bucket/batch/in/",
            "--output-uri",
            "s3://out-bucket/batch/out/",
            "--json",
        ).stdout
    )
    assert set(docs) == {"trust", "permissions", "caller"}
    trust = bb(
        endpoint,
        "iam-policy",
        "--model",
        HAIKU,
        "--account",
        "123456789012",
        "--region",
        "us-east-1",
        "--input-uri",
        "s3://in-bucket/in/",
        "--output-uri",
        "s3://out-bucket/out/",
        "--only",
        "trust",
    ).stdout
    assert json.loads(trust)["Statement"][0]["Principal"] == {"Service": "bedrock.amazonaws.com"}


@pytest.mark.parametrize(
    "command",
    [
        "run",
        "plan",
        "submit",
        "status",
        "wait",
        "results",
        "stop",
        "list",
        "retry",
        "attach",
        "iam-policy",
        "demo",
    ],
)
def test_every_command_has_help_with_examples(endpoint: str, command: str) -> None:
    out = bb(endpoint, command, "--help").stdout
    assert "examples:" in out and "exit codes" in out


def test_local_serve_help(endpoint: str) -> None:
    assert "127.0.0.1" in bb(endpoint, "local", "serve", "--help").stdout


def _doc(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in policy["Statement"] if s.get("Sid") == sid)


def test_iam_documents_structure() -> None:
    from bedrock_batch.iam import caller_policy, policies, service_role_policy, trust_policy

    trust = trust_policy("123456789012", "us-east-1")
    stmt = trust["Statement"][0]
    assert trust["Version"] == "2012-10-17"
    assert stmt["Action"] == "sts:AssumeRole" and stmt["Effect"] == "Allow"
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert stmt["Condition"]["ArnEquals"] == {
        "aws:SourceArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/*"
    }
    perms = service_role_policy(
        f"us.{HAIKU}",
        "s3://in-b/pre/",
        "s3://out-b/post",
        account_id="123456789012",
        region="us-east-1",
    )
    assert _doc(perms, "ReadInputs")["Resource"] == ["arn:aws:s3:::in-b/pre/*"]
    assert _doc(perms, "WriteOutputs")["Resource"] == ["arn:aws:s3:::out-b/post/*"]
    assert _doc(perms, "ListBuckets")["Resource"] == ["arn:aws:s3:::in-b", "arn:aws:s3:::out-b"]
    invoke = _doc(perms, "InvokeModel")["Resource"]
    assert invoke[0] == f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{HAIKU}"
    assert {r.split(":")[3] for r in invoke[1:]} == {"us-east-1", "us-east-2", "us-west-2"}
    assert all(r.endswith(f"::foundation-model/{HAIKU}") for r in invoke[1:])
    plain = service_role_policy(
        HAIKU, "s3://in-b/", "s3://out-b/", account_id="123456789012", region="eu-west-1"
    )
    assert _doc(plain, "InvokeModel")["Resource"] == [
        f"arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}"
    ]
    routed = service_role_policy(
        f"eu.{HAIKU}",
        "s3://in-b/",
        "s3://out-b/",
        account_id="123456789012",
        region="eu-west-1",
        routed_regions=["eu-west-1", "eu-west-3"],
    )
    assert len(_doc(routed, "InvokeModel")["Resource"]) == 3
    caller = caller_policy("arn:aws:iam::123456789012:role/R", "s3://in-b/", "s3://out-b/")
    passrole = _doc(caller, "PassServiceRole")
    assert (
        passrole["Action"] == "iam:PassRole"
        and passrole["Resource"] == "arn:aws:iam::123456789012:role/R"
    )
    assert "bedrock:CreateModelInvocationJob" in _doc(caller, "BatchJobs")["Action"]
    everything = policies(
        HAIKU,
        "s3://in-b/",
        "s3://out-b/",
        account_id="123456789012",
        region="us-east-1",
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/x",
    )
    assert json.loads(json.dumps(everything)) == everything
    assert _doc(everything["permissions"], "EncryptOutputs")["Resource"] == [
        "arn:aws:kms:us-east-1:123456789012:key/x"
    ]


def test_local_serve_command_serves_until_interrupted() -> None:
    import signal
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = cli_command()
    proc = subprocess.Popen(
        [
            *cmd,
            "local",
            "serve",
            "--port",
            str(port),
            "--records-per-second",
            "1000",
            "--legacy-quotas",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        import boto3

        sq = boto3.session.Session().client(
            "service-quotas",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        quota = sq.get_service_quota(ServiceCode="bedrock", QuotaCode="L-AE7F26D4")["Quota"]
        assert quota["Value"] == 1000.0  # --legacy-quotas
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)  # waits and closes the pipes
    assert proc.returncode == 0

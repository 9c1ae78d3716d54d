"""``bedrock-batch local serve``: every fault of the Python API, from command-line flags."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrock_batch.local import JobFault, OperationFaults
from bedrock_batch.local._serve_cli import add_arguments, build, parse_job_fault

from ..conftest import BUCKET, HAIKU, ROLE, claude_body, jsonl

TERMINAL = {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}
FAULT_FLAGS = [
    "--job-fault", "fail_validation:name=fv,message=no access to the input",
    "--job-fault", "fail_late:name=fl,message=Customer doesn't have permissions, sorry",
    "--job-fault", "expire:name=ex",
    "--job-fault", "timeout:name=to,at=0.4",
    "--job-fault", "stall:name=st",
    "--record-error-id", "r3",
    "--retryable-record-error-rate", "0.3",
    "--throttle", "ListTagsForResource=1",
    "--server-error", "TagResource=1",
]  # fmt: skip


def _command() -> list[str]:
    exe = shutil.which("bedrock-batch", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "bedrock_batch._cli"]


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The real console script, serving until terminated; yields its endpoint."""
    proc = subprocess.Popen(
        [
            *_command(),
            "local",
            "serve",
            "--port",
            "0",
            "--time-scale",
            "100000",
            "--min-records",
            "10",
            *FAULT_FLAGS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        yield match.group(0)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
        assert "Traceback" not in stderr, stderr


def client(url: str, name: str) -> Any:
    return boto3.session.Session().client(
        name,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def test_every_job_fault_through_the_server(served: str) -> None:
    s3, bedrock = client(served, "s3"), client(served, "bedrock")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET,
        Key="in/a.jsonl",
        Body=jsonl([{"recordId": f"r{i}", "modelInput": claude_body(f"q{i}")} for i in range(10)]),
    )
    arns = {}
    for name in ("fv", "fl", "ex", "to", "st", "ok"):
        arns[name] = bedrock.create_model_invocation_job(
            jobName=f"job-{name}",
            roleArn=ROLE,
            modelId=HAIKU,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
        )["jobArn"]
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 90  # a safety net, not a timing assertion
    while len(seen) < len(arns) and time.monotonic() < deadline:
        for name, arn in arns.items():
            d = bedrock.get_model_invocation_job(jobIdentifier=arn)
            if d["status"] in TERMINAL or (
                name == "st" and d["status"] == "InProgress" and d["processedRecordCount"] == 5
            ):
                seen[name] = d
        time.sleep(0.05)
    assert seen["fv"]["status"] == "Failed" and seen["fv"]["message"] == "no access to the input"
    assert (
        seen["fl"]["status"] == "Failed"
        and seen["fl"]["message"] == "Customer doesn't have permissions, sorry"
    )
    assert seen["fl"]["processedRecordCount"] == 10  # it failed late, after processing
    assert seen["ex"]["status"] == "Expired" and seen["ex"]["totalRecordCount"] == 10
    assert seen["to"]["status"] == "PartiallyCompleted" and seen["to"]["processedRecordCount"] == 4
    assert seen["st"]["status"] == "InProgress"
    bedrock.stop_model_invocation_job(jobIdentifier=arns["st"])
    while bedrock.get_model_invocation_job(jobIdentifier=arns["st"])["status"] != "Stopped":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ok = seen["ok"]
    assert ok["status"] == "Completed" and ok["errorRecordCount"] >= 1
    job_id = arns["ok"].rsplit("/", 1)[1]
    raw = s3.get_object(Bucket=BUCKET, Key=f"out/{job_id}/a.jsonl.out")["Body"].read()
    errors = {
        line["recordId"]: line["error"]
        for line in map(json.loads, raw.splitlines())
        if "error" in line
    }
    assert errors["r3"]["retryable"] is False
    assert any(e["retryable"] for e in errors.values())


def test_per_operation_faults_through_the_server(served: str) -> None:
    bedrock = client(served, "bedrock")
    arn = bedrock.list_model_invocation_jobs()["invocationJobSummaries"][0]["jobArn"]
    with pytest.raises(ClientError) as err:
        bedrock.list_tags_for_resource(resourceARN=arn)
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    with pytest.raises(ClientError) as err:
        bedrock.tag_resource(resourceARN=arn, tags=[{"key": "k", "value": "v"}])
    assert err.value.response["Error"]["Code"] == "InternalServerException"


def test_a_non_loopback_host_prints_a_warning() -> None:
    proc = subprocess.Popen(
        [*_command(), "local", "serve", "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "not loopback" in proc.stderr.readline()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_flags_build_the_same_faults_as_the_python_api() -> None:
    local = build(
        parse(
            *FAULT_FLAGS,
            "--throttle-rate",
            "0.1",
            "--region",
            "eu-west-1",
            "--event-drop-rate",
            "0.2",
        )
    )
    faults = local.faults
    assert [f.kind for f in faults.jobs] == [
        "fail_validation",
        "fail_late",
        "expire",
        "timeout",
        "stall",
    ]
    assert faults.jobs[3] == JobFault("timeout", at_fraction=0.4, name_contains="to")
    assert faults.jobs[1].message == "Customer doesn't have permissions, sorry"
    assert faults.per_operation == {
        "ListTagsForResource": OperationFaults(throttle_rate=1.0),
        "TagResource": OperationFaults(server_error_rate=1.0),
    }
    assert faults.rates_for("CreateModelInvocationJob") == OperationFaults(0.1, 0.0)
    assert faults.record_error_ids == {"r3"} and faults.retryable_record_error_rate == 0.3
    assert local.region == "eu-west-1" and local.backend.events.drop_rate == 0.2


@pytest.mark.parametrize("bad", ["explode", "timeout:at=2", "stall:nonsense", "expire:times=x"])
def test_bad_job_fault_flags_are_refused(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_job_fault(bad)


def test_help_lists_examples_for_every_fault() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = parser.format_help()
    for kind in ("fail_validation", "fail_late", "expire", "timeout", "stall"):
        assert f"--job-fault {kind}" in text.replace("\\\n      ", "")
    for flag in (
        "--throttle ",
        "--server-error ",
        "--record-error-rate",
        "--record-error-id",
        "--event-drop-rate",
    ):
        assert flag in text

"""No credential reaches any output of the command line, at any verbosity: ``-v``, ``-vv``
(botocore's request logs, with signatures and session tokens) and ``--debug``. ``--debug`` goes
through the console script (everything the process writes); ``-v`` and ``-vv`` run ``main()`` in
this process with exactly the command's environment (``cli_in_process``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch._common._redact import MASK, redact
from bedrock_batch.local import LocalBedrock, Quotas

from ..conftest import claude_body, endpoint_env
from ..support import cli_command, cli_env, cli_in_process

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
KEY_ID = "ASIAFAKE0TEST0KEY012"
SECRET = "fakeSecret/With+Chars0123456789abcdefghij"
TOKEN = "IQoJb3JpZ2luX2VjEFakeSessionTokenForTests0123456789abcdefABCDEF/+=="


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    local = LocalBedrock(time_scale=5000, quotas={HAIKU: Quotas(min_records_per_job=10)})
    with local.serve(port=0) as served:
        yield served


def script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``bedrock-batch ARGS`` through the console script."""
    return subprocess.run(
        [*cli_command(), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("verbosity", ["-v", "-vv", "--debug"])
def test_credentials_never_appear_in_any_output(
    server: Any, tmp_path: Path, verbosity: str
) -> None:
    src = tmp_path / "q.jsonl"
    src.write_text("\n".join(json.dumps({"modelInput": claude_body(f"q{i}")}) for i in range(12)))
    env = cli_env(endpoint_env(server.endpoint_url))
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)
    bucket = f"secrets-{verbosity.strip('-')}"
    import boto3

    boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
        aws_access_key_id="t", aws_secret_access_key="t",
    ).create_bucket(Bucket=bucket)  # fmt: skip
    args = ["run", str(src), "--model-id", HAIKU, "--role-arn", "arn:aws:iam::123456789012:role/R",
            "--input-uri", f"s3://{bucket}/in/", "--output-uri", f"s3://{bucket}/out/",
            "--output", str(tmp_path / "out.jsonl"), "--json", verbosity]  # fmt: skip
    proc = script(env, *args) if verbosity == "--debug" else cli_in_process(env, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    everything = proc.stdout + proc.stderr
    assert "bedrock_batch" in everything  # the library's own log lines are there ...
    if verbosity != "-v":
        assert "botocore" in everything  # ... and botocore's request logs at -vv/--debug
        assert MASK in everything  # which did carry credentials, masked
    for secret in (KEY_ID, SECRET, TOKEN, TOKEN[:24], SECRET[:20]):
        assert secret not in everything, (verbosity, secret)


def test_redact_masks_each_kind_of_credential() -> None:
    line = (
        "{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAABCDEFGHIJKLMNOP/20261203/us-east-1/"
        "bedrock/aws4_request, SignedHeaders=host, Signature=0123abcd', "
        "'X-Amz-Security-Token': b'tokenvalue123456'} ?X-Amz-Signature=deadbeef&x=1 "
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    out = redact(line, ["exactsecret-value"])
    for secret in (
        "AKIAABCDEFGHIJKLMNOP",
        "0123abcd",
        "tokenvalue123456",
        "deadbeef",
        "wJalrXUtnFEMI",
    ):
        assert secret not in out
    assert (
        redact("nothing secret here: s3://bkt/in/ 200 OK")
        == "nothing secret here: s3://bkt/in/ 200 OK"
    )
    assert redact("x exactsecret-value y", ["exactsecret-value"]) == f"x {MASK} y"

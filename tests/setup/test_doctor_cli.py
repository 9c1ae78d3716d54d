"""``bedrock-batch doctor`` against ``local serve`` (IAM, STS and S3 from moto on the same
endpoint): one line per check, exit 0 when all pass (warnings allowed), 2 otherwise, never a
traceback. ``main()`` runs in this process with exactly the command's environment
(``cli_in_process``); the all-good check and ``--help`` go through the console script itself.

moto's backends live as long as the process and a server does not reset them: every test uses
roles and buckets of its own names."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from bedrock_batch._setup._config import SavedDefaults, save_defaults

from ..conftest import HAIKU, endpoint_env
from ..support import cli_command, cli_env, cli_in_process
from .roles import ACCOUNT, EC2_TRUST, make_bucket, make_role, permissions, without

PROFILE = f"us.{HAIKU}"


class Served:
    """A boto3 session whose clients reach the server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, endpoint_url=self.url, **kwargs)  # type: ignore[call-overload]


@pytest.fixture
def served(module_server: Any) -> Served:
    return Served(str(module_server.endpoint_url))


@pytest.fixture
def env(module_server: Any, tmp_path: Path) -> dict[str, str]:
    base = endpoint_env(str(module_server.endpoint_url))
    for name in ("BEDROCK_BATCH_ROLE_ARN", "BEDROCK_BATCH_INPUT_URI", "BEDROCK_BATCH_OUTPUT_URI"):
        base.pop(name, None)
    base["BEDROCK_BATCH_CONFIG"] = str(tmp_path / "config.json")
    return cli_env(base)


def doctor(env: dict[str, str], *args: str, console: bool = False) -> tuple[int, list[str]]:
    """``bedrock-batch doctor ARGS`` in this process (or through the console script)."""
    proc = script(env, "doctor", *args) if console else cli_in_process(env, "doctor", *args)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout.splitlines()


def script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``bedrock-batch ARGS`` through the console script."""
    return subprocess.run(
        [*cli_command(), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def line(lines: list[str], name: str) -> str:
    return next(text for text in lines if text.split(maxsplit=2)[-1].startswith(name + ":") or f" {name}:" in text)  # fmt: skip


def setup_like(served: Served, name: str, **role: Any) -> list[str]:
    """A bucket and a role named ``name``: the flags that point doctor at them."""
    region = role.pop("bucket_region", "us-east-1")
    make_bucket(served, name, region=region)
    inputs, outputs = f"s3://{name}/in/", f"s3://{name}/out/"
    arn = make_role(served, name, role.pop("model", PROFILE), inputs, outputs, **role)
    return ["--role-arn", arn, "--input-uri", inputs, "--output-uri", outputs]


def test_everything_good_exits_0_with_one_line_per_check(env: dict[str, str], served: Served) -> None:  # fmt: skip
    code, lines = doctor(env, "--model-id", PROFILE, *setup_like(served, "doc-good"), console=True)
    assert code == 0, "\n".join(lines)
    names = ["credentials", "region", "defaults", "model", "bucket", "bucket writable", "role",
             "role trust", "role reads inputs", "role writes outputs", "role invokes model",
             "quotas"]  # fmt: skip
    assert len(lines) == len(names) + 1
    for text, name in zip(lines, names, strict=False):
        assert text.startswith("PASS") and f" {name}: " in text, text
    assert lines[-1].startswith("ready:")


def test_a_role_without_the_trust_policy_exits_2_naming_it(env: dict[str, str], served: Served) -> None:  # fmt: skip
    code, lines = doctor(env, "--model-id", PROFILE, *setup_like(served, "doc-trust", trust=EC2_TRUST))  # fmt: skip
    assert code == 2
    trust = line(lines, "role trust")
    assert trust.startswith("FAIL") and "bedrock.amazonaws.com" in trust and "fix:" in trust
    assert [t for t in lines[:-1] if not t.startswith("PASS")] == [trust]


def test_a_role_without_read_access_exits_2_naming_it(env: dict[str, str], served: Served) -> None:  # fmt: skip
    policy = without(permissions(PROFILE, "s3://doc-read/in/", "s3://doc-read/out/"), "ReadInputs")
    code, lines = doctor(env, "--model-id", PROFILE, *setup_like(served, "doc-read", permissions=policy))  # fmt: skip
    assert code == 2
    reads = line(lines, "role reads inputs")
    assert reads.startswith("FAIL") and "s3:GetObject on arn:aws:s3:::doc-read/in/*" in reads


def test_a_model_not_reachable_in_the_region_exits_2_naming_it(env: dict[str, str], served: Served) -> None:  # fmt: skip
    flags = setup_like(served, "doc-model")
    code, lines = doctor(env, "--model-id", f"eu.{HAIKU}", *flags)
    assert code == 2
    model = line(lines, "model")
    assert model.startswith("FAIL") and "us-east-1" in model and f"--model-id {PROFILE}" in model


def test_a_bucket_in_another_region_warns_and_exits_0(env: dict[str, str], served: Served) -> None:  # fmt: skip
    flags = setup_like(served, "doc-eu-bucket", bucket_region="eu-west-1")
    code, lines = doctor(env, "--model-id", PROFILE, *flags)
    assert code == 0, "\n".join(lines)
    bucket = line(lines, "bucket")
    assert bucket.startswith("WARN") and "eu-west-1" in bucket


def test_the_saved_defaults_are_used_and_json_is_offered(
    env: dict[str, str], served: Served, tmp_path: Path
) -> None:
    flags = dict(zip(*[iter(setup_like(served, "doc-saved"))] * 2, strict=True))
    entry = SavedDefaults("default", ACCOUNT, "us-east-1", flags["--role-arn"],
                          flags["--input-uri"], flags["--output-uri"], "doc-saved")  # fmt: skip
    save_defaults(entry, tmp_path / "config.json")
    code, lines = doctor(env, "--model-id", PROFILE, "--json")
    report = json.loads("\n".join(lines))
    assert code == 0 and report["ok"], lines
    assert report["defaults"]["roleArn"]["value"] == flags["--role-arn"]
    assert "configuration file" in report["defaults"]["roleArn"]["source"]
    code, lines = doctor({**env, "AWS_DEFAULT_REGION": "us-west-2"}, "--model-id", PROFILE)
    assert code == 2  # the entry is for us-east-1: not used in us-west-2, and said
    assert "not used" in line(lines, "defaults")


def test_an_unknown_profile_is_one_line_and_exit_2(env: dict[str, str]) -> None:
    proc = cli_in_process(env, "doctor", "--profile", "no-such-profile")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "no-such-profile" in proc.stderr


def test_doctor_has_help_with_examples(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [*cli_command(), "doctor", "--help"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    assert "examples:" in proc.stdout and "bedrock-batch doctor --model-id" in proc.stdout
    assert "exit codes" in proc.stdout and "--no-probe" in proc.stdout


def test_no_credentials_and_no_region_are_named_and_the_rest_cannot_tell(env: dict[str, str]) -> None:  # fmt: skip
    bare = {k: v for k, v in env.items() if not k.startswith(("AWS_ACCESS", "AWS_SECRET", "AWS_SESSION", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONTAINER", "AWS_PROFILE"))}  # fmt: skip
    bare["AWS_EC2_METADATA_DISABLED"] = "true"
    code, lines = doctor(bare, "--model-id", PROFILE)
    assert code == 2
    assert line(lines, "credentials").startswith("FAIL") and "aws configure" in lines[0]
    assert line(lines, "region").startswith("FAIL") and "--region" in line(lines, "region")
    for name in ("model", "bucket", "role", "role trust"):
        assert line(lines, name).startswith("CANNOT TELL"), line(lines, name)

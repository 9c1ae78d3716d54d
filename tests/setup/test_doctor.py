"""``bedrock_batch.doctor`` end to end on the in-process Local Bedrock (IAM, STS, S3 and
Organizations from moto): every check passes for a role built from ``bedrock_batch.iam``, and
each broken piece is named with its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch
from bedrock_batch import DoctorReport, doctor, iam
from bedrock_batch._setup._config import (
    ENV_INPUT_URI,
    ENV_OUTPUT_URI,
    ENV_ROLE_ARN,
    SavedDefaults,
    save_defaults,
)
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU
from .roles import ACCOUNT, EC2_TRUST, make_bucket, make_role, permissions, without

PROFILE = f"us.{HAIKU}"
IN, OUT = "s3://doc/in/", "s3://doc/out/"
ROLE_NAME = "BedrockBatchDoctor"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (ENV_ROLE_ARN, ENV_INPUT_URI, ENV_OUTPUT_URI):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDROCK_BATCH_CONFIG", str(tmp_path / "config.json"))


@pytest.fixture
def sess(local: LocalBedrock) -> Any:
    session = local.session()
    make_bucket(session, "doc")
    return session


def run(session: Any, model: str | None = PROFILE, **kwargs: Any) -> DoctorReport:
    kwargs.setdefault("input_uri", IN)
    kwargs.setdefault("output_uri", OUT)
    kwargs.setdefault("role_arn", f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}")
    return doctor(model, session=session, **kwargs)


def problems(report: DoctorReport) -> dict[str, str]:
    return {c.name: c.verdict for c in report.checks if c.verdict != "pass"}


@pytest.mark.parametrize("model", [PROFILE, HAIKU])
@pytest.mark.parametrize("managed", [False, True])
def test_a_role_from_bedrock_batch_iam_passes_every_check(sess: Any, model: str, managed: bool) -> None:  # fmt: skip
    make_role(sess, ROLE_NAME, model, IN, OUT, managed=managed)
    report = run(sess, model)
    assert problems(report) == {}, "\n".join(report.lines())
    assert report.ok and report.exit_code == 0
    assert report.account == ACCOUNT and report.region == "us-east-1"
    invoke = report["role invokes model"].summary
    if model == PROFILE:  # the profile and every foundation-model ARN it lists
        assert "inference-profile/" + PROFILE in invoke and "us-west-2" in invoke
        assert "through inference profile" in report["model"].summary
    else:
        assert "directly" in report["model"].summary
    # the catalogue's data, never a claim that the model supports batch
    assert "catalogue lists batch support" in report["model"].summary
    assert "from service-quotas" in report["quotas"].summary


def test_the_write_probe_leaves_nothing_behind(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    report = run(sess)
    assert "wrote and deleted" in report["bucket writable"].summary
    assert sess.client("s3").list_objects_v2(Bucket="doc").get("KeyCount") == 0
    assert "not checked" in run(sess, probe=False)["bucket writable"].summary


def test_a_role_without_the_trust_policy_is_named_with_its_fix(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT, trust=EC2_TRUST)
    report = run(sess)
    assert problems(report) == {"role trust": "fail"}
    check = report["role trust"]
    assert "does not let bedrock.amazonaws.com assume it" in check.summary
    assert check.fix and "update-assume-role-policy" in check.fix and ROLE_NAME in check.fix
    assert report.exit_code == 2


def test_a_trust_policy_for_another_account_fails(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT, trust=iam.trust_policy("999999999999"))
    assert problems(run(sess)) == {"role trust": "fail"}


def test_a_role_without_read_access_to_the_input_prefix_is_named(sess: Any) -> None:
    policy = without(permissions(PROFILE, IN, OUT), "ReadInputs")
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT, permissions=policy)
    report = run(sess)
    assert problems(report) == {"role reads inputs": "fail"}
    check = report["role reads inputs"]
    assert "s3:GetObject on arn:aws:s3:::doc/in/*" in check.summary
    assert check.fix and "s3:GetObject on arn:aws:s3:::doc/in/*" in check.fix


def test_read_access_to_another_prefix_does_not_count(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, "s3://doc/elsewhere/", OUT)
    assert problems(run(sess)) == {"role reads inputs": "fail"}


def test_a_profile_role_needs_every_routed_region(sess: Any) -> None:
    one_region = iam.service_role_policy(
        PROFILE, IN, OUT, account_id=ACCOUNT, region="us-east-1", routed_regions=["us-east-1"]
    )
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT, permissions=one_region)
    report = run(sess)
    assert problems(report) == {"role invokes model": "fail"}
    assert "us-west-2::foundation-model/" + HAIKU in report["role invokes model"].summary


@pytest.mark.parametrize(
    ("model", "region", "fix"),
    [
        # offered in us-east-1 only, and through no profile
        ("amazon.nova-2-multimodal-embeddings-v1:0", "us-west-2", "region where the model"),
        # an EU profile is not usable from a US region; the US one is
        (f"eu.{HAIKU}", "us-east-1", f"--model-id us.{HAIKU}"),
        # a model reached only through a profile, named by its bare id
        (
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "us-east-1",
            "--model-id us.anthropic.claude-haiku-4-5",
        ),
    ],
)
def test_a_model_not_reachable_in_the_region_is_named_with_its_fix(
    sess: Any, model: str, region: str, fix: str
) -> None:
    make_role(sess, ROLE_NAME, model, IN, OUT, region=region)
    report = run(sess, model, region=region)
    assert report["model"].verdict == "fail", report["model"].line()
    assert region in report["model"].summary
    assert fix in (report["model"].fix or "")
    assert report["role invokes model"].verdict == "cannot tell"
    assert report.exit_code == 2


def test_a_bucket_in_another_region_is_a_warning(sess: Any) -> None:
    make_bucket(sess, "doc-eu", region="eu-west-1")
    make_role(sess, ROLE_NAME, PROFILE, "s3://doc-eu/in/", "s3://doc-eu/out/")
    report = run(sess, input_uri="s3://doc-eu/in/", output_uri="s3://doc-eu/out/")
    assert problems(report) == {"bucket": "warn"}
    assert "eu-west-1" in report["bucket"].summary and report.exit_code == 0


def test_a_missing_bucket_and_a_missing_role_fail(sess: Any) -> None:
    report = run(sess, input_uri="s3://nope-nope/in/", output_uri="s3://nope-nope/out/")
    assert report["bucket"].verdict == "fail" and "does not exist" in report["bucket"].summary
    assert report["role"].verdict == "fail" and "setup" in (report["role"].fix or "")
    assert report["role trust"].verdict == "cannot tell"


def test_a_permissions_boundary_or_an_organization_is_cannot_tell(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    client = sess.client("iam")
    boundary = client.create_policy(
        PolicyName="boundary",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    client.put_role_permissions_boundary(RoleName=ROLE_NAME, PermissionsBoundary=boundary)
    report = run(sess)
    for name in ("role reads inputs", "role writes outputs", "role invokes model"):
        assert report[name].verdict == "cannot tell" and boundary in report[name].summary
    client.delete_role_permissions_boundary(RoleName=ROLE_NAME)
    assert run(sess).ok
    sess.client("organizations").create_organization(FeatureSet="ALL")
    report = run(sess)
    assert report["role reads inputs"].verdict == "cannot tell"
    assert "service control policies" in report["role reads inputs"].summary


def test_a_bucket_policy_with_a_deny_is_cannot_tell(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    other = f"arn:aws:iam::{ACCOUNT}:role/Other"
    deny = {"Effect": "Deny", "Principal": {"AWS": other}, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::doc/in/private/*"}  # fmt: skip
    sess.client("s3").put_bucket_policy(Bucket="doc", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))  # fmt: skip
    report = run(sess)
    assert report["role reads inputs"].verdict == "cannot tell"
    assert "bucket policy of doc" in report["role reads inputs"].summary


def test_defaults_come_from_the_environment_then_the_saved_entry(
    sess: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    role = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
    save_defaults(SavedDefaults("default", ACCOUNT, "us-east-1", role, IN, OUT, "doc"))
    report = doctor(PROFILE, session=sess)
    assert report.ok, "\n".join(report.lines())
    assert report.role_arn.value == role and "configuration file" in report.role_arn.source
    monkeypatch.setenv(ENV_OUTPUT_URI, "s3://doc/elsewhere/")
    report = doctor(PROFILE, session=sess)
    assert report.output_uri.source == ENV_OUTPUT_URI
    assert report["role writes outputs"].verdict == "fail"


def test_a_saved_entry_for_another_account_is_not_used_and_said(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    save_defaults(SavedDefaults("default", "999999999999", "us-east-1", "arn:aws:iam::999999999999:role/x", IN, OUT, "doc"))  # fmt: skip
    report = doctor(PROFILE, session=sess)
    assert report["defaults"].verdict == "fail"
    assert "999999999999" in report["defaults"].summary and "not used" in report["defaults"].summary
    report = run(sess)  # explicit arguments: usable, and the unused entry is still mentioned
    assert report["defaults"].verdict == "warn" and report.ok


def test_a_broken_config_file_is_a_failed_check(sess: Any) -> None:
    from bedrock_batch._setup._config import config_path

    path = config_path()  # the emulator's private file, under Local Bedrock
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    report = run(sess, role_arn=None)  # the role would come from the file: it cannot
    assert report["defaults"].verdict == "fail" and str(path) in report["defaults"].summary
    # given all three, a job never reads the file: a warning, and the rest is checked
    report = run(sess)
    assert report["defaults"].verdict == "warn" and str(path) in report["defaults"].summary
    role = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
    with bedrock_batch.BatchJob(HAIKU, role, IN, OUT, session=sess) as job:
        job.add_prompt("the premise: such a job plans without the file", max_tokens=5)
        assert job.plan().records == 1
    assert (
        report["role"].verdict == "fail"
    )  # the explicit role is still checked (it does not exist)


def test_without_a_model_the_model_checks_warn() -> None:
    with LocalBedrock(clock="manual") as local:
        sess = local.session()
        make_bucket(sess, "doc")
        make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
        report = run(sess, model=None)
    assert problems(report) == {"model": "warn", "role invokes model": "warn", "quotas": "warn"}
    assert report.exit_code == 0


def test_doctor_is_public_and_lazy() -> None:
    assert bedrock_batch.doctor is doctor
    assert "doctor" in dir(bedrock_batch)


def test_a_customer_kms_key_on_the_bucket_is_cannot_tell(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    key = sess.client("kms").create_key()["KeyMetadata"]["Arn"]
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    }
    sess.client("s3").put_bucket_encryption(
        Bucket="doc", ServerSideEncryptionConfiguration={"Rules": [rule]}
    )
    report = run(sess)
    for name in ("role reads inputs", "role writes outputs"):
        assert report[name].verdict == "cannot tell" and key in report[name].summary
    assert report["role invokes model"].verdict == "pass"


def test_doctor_creates_no_job_invokes_nothing_and_writes_only_the_probe(sess: Any) -> None:
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}:{model.name}")

    sess.events.register("before-call", record)
    assert run(sess, probe=False).ok
    writes = [c for c in calls if c.split(":")[1].startswith(("Create", "Put", "Delete", "Update", "Attach", "Stop"))]  # fmt: skip
    assert writes == [] and not any(c.startswith("bedrock-runtime") for c in calls), calls
    calls.clear()
    assert run(sess).ok
    writes = [c for c in calls if c.split(":")[1].startswith(("Create", "Put", "Delete", "Update", "Attach", "Stop"))]  # fmt: skip
    assert writes == ["s3:PutObject", "s3:DeleteObject"]


def test_bad_inputs_and_unexpected_aws_errors_are_lines_not_crashes(sess: Any) -> None:
    report = run(sess, input_uri="not-a-uri", role_arn="not-an-arn")
    assert report["bucket"].verdict == "fail" and "input_uri" in report["bucket"].summary
    assert report["role"].verdict == "fail" and "not an IAM role ARN" in report["role"].summary
    assert report["role reads inputs"].verdict == "cannot tell"

    from botocore.exceptions import EndpointConnectionError

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/")

    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)
    sess.events.register("before-call.iam.ListRolePolicies", unreachable)
    report = run(sess)
    failed = [c for c in report.checks if c.verdict == "cannot tell"]
    assert [c.name for c in failed] == ["role checks"] and "EndpointConnectionError" in failed[
        0
    ].summary
    assert report["role trust"].verdict == "pass" and report["quotas"].verdict == "pass"
    assert report.exit_code == 2


def test_model_arns_are_checked_like_their_ids(sess: Any) -> None:
    fm = f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
    profile = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{PROFILE}"
    make_role(sess, ROLE_NAME, PROFILE, IN, OUT)  # InvokeModel on the profile and its models
    direct, routed = run(sess, fm), run(sess, profile)
    assert direct.ok and "directly" in direct["model"].summary
    assert routed.ok and "through inference profile" in routed["model"].summary

"""``bedrock_batch.setup()`` against the in-process Local Bedrock (IAM, STS and S3 from moto):
what it creates, that a second run changes nothing, that ``dry_run`` writes nothing (counted at
botocore's boundary), that ``update`` changes only the role's policies, and its errors."""

from __future__ import annotations

import json
import stat
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import bedrock_batch
from bedrock_batch import BatchJob, PollConfig, SetupError
from bedrock_batch._setup._calls import WRITE_OPERATIONS
from bedrock_batch._setup._config import config_path, find_saved
from bedrock_batch._setup._role import POLICY_NAME
from bedrock_batch.iam import trust_policy
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU, track

ACCOUNT = "123456789012"
BUCKET_NAME = f"bedrock-batch-{ACCOUNT}-us-east-1"
ROLE_NAME = "BedrockBatchServiceRole"
NOVA = "amazon.nova-lite-v1:0"


class Calls:
    """Every operation a session's clients make (botocore's ``before-call`` event)."""

    def __init__(self, session: Any) -> None:
        self.made: Counter[str] = Counter()
        session.events.register("before-call", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        self.made[model.name] += 1

    @property
    def writes(self) -> Counter[str]:
        """Calls that change something (everything not a Get/Head/List read)."""
        return Counter({k: v for k, v in self.made.items() if not k.startswith(("Get", "Head", "List"))})  # fmt: skip

    def reset(self) -> None:
        self.made.clear()


def fail(session: Any, operation: str, code: str, status: int = 403) -> None:
    """Answer ``operation`` with an error (the call never reaches moto)."""

    def before_call(model: Any, **_: Any) -> Any:
        if model.name == operation:
            err = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}  # fmt: skip
            return SimpleNamespace(status_code=status, headers={}, content=b""), err
        return None

    session.events.register_first("before-call", before_call)


@pytest.fixture
def sess(local: LocalBedrock) -> Any:
    return local.session()


def test_setup_then_a_job_with_only_the_model_runs_120_records(local: LocalBedrock, sess: Any) -> None:  # fmt: skip
    report = bedrock_batch.setup(session=sess)
    assert [(s.what, s.outcome) for s in report.steps] == [
        ("bucket", "created"), ("role", "created"), ("IAM", "waited"), ("config file", "saved"),
    ]  # fmt: skip
    assert report.bucket == BUCKET_NAME and report.input_uri == f"s3://{BUCKET_NAME}/inputs/"
    assert report.role_arn == f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
    assert HAIKU in report.models and "us.anthropic.claude-sonnet-4-5-20250929-v1:0" in report.models  # fmt: skip
    job = track(BatchJob(HAIKU, session=sess, sleep=local.advance, poll=PollConfig(initial=30, max_interval=600, jitter=0)))  # fmt: skip
    for i in range(120):
        job.add_prompt(f"question {i}")
    results = list(job.run())
    assert len(results) == 120 and all(r.ok for r in results)
    assert job.describe().status == "Completed"
    assert job.role_arn == report.role_arn and job.output_uri == report.output_uri


def test_the_bucket_and_role_are_as_documented(sess: Any) -> None:
    report = bedrock_batch.setup(session=sess, model_ids=[HAIKU])
    s3, iam = sess.client("s3"), sess.client("iam")
    block = s3.get_public_access_block(Bucket=report.bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rule = s3.get_bucket_encryption(Bucket=report.bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]  # fmt: skip
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    with pytest.raises(ClientError, match="NoSuchLifecycleConfiguration"):  # nothing expires
        s3.get_bucket_lifecycle_configuration(Bucket=report.bucket)
    role = iam.get_role(RoleName=ROLE_NAME)["Role"]
    assert role["AssumeRolePolicyDocument"] == trust_policy(ACCOUNT, "us-east-1")
    doc = iam.get_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)["PolicyDocument"]
    by_sid = {st["Sid"]: st["Resource"] for st in doc["Statement"]}
    assert by_sid["InvokeModel"] == [f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"]
    assert by_sid["ReadInputs"] == [f"arn:aws:s3:::{report.bucket}/inputs/*"]
    assert by_sid["WriteOutputs"] == [f"arn:aws:s3:::{report.bucket}/outputs/*"]


def test_a_second_setup_finds_everything_and_writes_nothing(sess: Any) -> None:
    first = bedrock_batch.setup(session=sess)
    calls = Calls(sess)
    second = bedrock_batch.setup(session=sess)
    assert {s.outcome for s in second.steps} == {"found, unchanged"}
    assert not second.changed and first.changed
    assert calls.writes == Counter() and calls.made["HeadBucket"] == 1
    assert (second.role_arn, second.input_uri) == (first.role_arn, first.input_uri)


def test_dry_run_makes_no_write_call_and_saves_nothing(sess: Any) -> None:
    calls = Calls(sess)
    plan = bedrock_batch.setup(session=sess, dry_run=True)
    assert calls.writes == Counter() and sum(calls.made.values()) >= 3  # the hook sees calls
    assert [s.outcome for s in plan.steps] == ["would create", "would create", "would save"]
    assert not config_path().exists()
    assert sess.client("s3").list_buckets()["Buckets"] == []
    assert "dry run: nothing was changed" in str(plan)
    bedrock_batch.setup(session=sess, model_ids=[HAIKU])
    calls.reset()
    plan = bedrock_batch.setup(session=sess, model_ids=[NOVA], dry_run=True, update=True)
    assert calls.writes == Counter()
    assert ("role", "would update") in [(s.what, s.outcome) for s in plan.steps]


def test_update_changes_only_the_policies(sess: Any) -> None:
    bedrock_batch.setup(session=sess, model_ids=[HAIKU])
    calls = Calls(sess)
    kept = bedrock_batch.setup(session=sess, model_ids=[NOVA])  # differs, but no --update
    assert calls.writes == Counter()
    role_step = next(s for s in kept.steps if s.what == "role")
    assert role_step.outcome == "found, unchanged" and "setup --update" in role_step.detail
    iam = sess.client("iam")
    doc = iam.get_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)["PolicyDocument"]
    assert HAIKU in json.dumps(doc) and NOVA not in json.dumps(doc)
    updated = bedrock_batch.setup(session=sess, model_ids=[NOVA], update=True)
    assert calls.writes == Counter({"PutRolePolicy": 1})
    assert [(s.what, s.outcome) for s in updated.steps][:2] == [("bucket", "found, unchanged"), ("role", "updated")]  # fmt: skip
    doc = iam.get_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)["PolicyDocument"]
    assert NOVA in json.dumps(doc) and HAIKU not in json.dumps(doc)
    calls.reset()
    again = bedrock_batch.setup(session=sess, model_ids=[NOVA], update=True)
    assert calls.writes == Counter() and not again.changed
    iam.update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps(trust_policy("999999999999")))  # fmt: skip
    calls.reset()
    bedrock_batch.setup(session=sess, model_ids=[NOVA], update=True)
    assert calls.writes == Counter({"UpdateAssumeRolePolicy": 1})
    assert set(calls.writes) <= WRITE_OPERATIONS


def test_a_new_or_changed_role_waits_the_settle_time(sess: Any) -> None:
    slept: list[float] = []
    report = bedrock_batch.setup(session=sess, model_ids=[HAIKU], settle_seconds=7, sleep=slept.append)  # fmt: skip
    assert slept == [7] and report.settle_seconds == 7
    assert "eventually consistent" in str(report)
    slept.clear()
    bedrock_batch.setup(session=sess, model_ids=[HAIKU], settle_seconds=7, sleep=slept.append)
    assert slept == []  # found, unchanged: nothing to wait for


def test_the_config_file_is_private_and_no_secret_is_printed_or_saved(local: LocalBedrock) -> None:
    key, secret = "AKIAFAKEKNOWNKEY0001", "fAkEsEcReT/knownvalue+0123456789abcdefXYZ"
    sess = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")  # fmt: skip
    report = bedrock_batch.setup(session=sess, model_ids=[HAIKU])
    path = config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for text in (path.read_text(), str(report), json.dumps(report.to_json())):
        assert key not in text and secret not in text and "fAkE" not in text
    entry = find_saved(ACCOUNT, "us-east-1")
    assert entry is not None and entry.role_arn == report.role_arn


def test_location_constraint_only_outside_us_east_1(local: LocalBedrock) -> None:
    seen: list[dict[str, Any]] = []
    for region in ("us-east-1", "us-west-2"):
        sess = local.session(region=region)
        sess.events.register("provide-client-params.s3.CreateBucket", lambda params, **_: seen.append(dict(params)))  # fmt: skip
        report = bedrock_batch.setup(session=sess, model_ids=[HAIKU], role_name=f"R-{region}")
        assert report.bucket == f"bedrock-batch-{ACCOUNT}-{region}"
    assert "CreateBucketConfiguration" not in seen[0]
    assert seen[1]["CreateBucketConfiguration"] == {"LocationConstraint": "us-west-2"}
    where = local.session().client("s3").get_bucket_location(Bucket=f"bedrock-batch-{ACCOUNT}-us-west-2")  # fmt: skip
    assert where["LocationConstraint"] == "us-west-2"
    assert find_saved(ACCOUNT, "us-west-2") is not None and find_saved(ACCOUNT, "us-east-1") is not None  # fmt: skip


def test_a_bucket_owned_by_another_account_is_refused(sess: Any) -> None:
    """moto answers HeadBucket without looking at ExpectedBucketOwner, so the request is pinned
    with a Stubber: it must carry this account, and S3's 403 must stop setup before any write."""
    s3 = sess.client("s3")
    stub = Stubber(s3)
    stub.add_client_error(
        "head_bucket", service_error_code="403", http_status_code=403,
        expected_params={"Bucket": "someone-elses", "ExpectedBucketOwner": ACCOUNT},
    )  # fmt: skip
    real_client = sess.client
    sess.client = lambda name, **kw: s3 if name == "s3" else real_client(name, **kw)
    with stub, pytest.raises(SetupError, match="account 123456789012 does not own it") as caught:
        bedrock_batch.setup(session=sess, bucket="someone-elses", model_ids=[HAIKU])
    stub.assert_no_pending_responses()
    assert "--bucket" in str(caught.value)
    assert sess.client("iam").list_roles()["Roles"] == [] and not config_path().exists()


def test_a_taken_bucket_name_is_refused(sess: Any) -> None:
    fail(sess, "CreateBucket", "BucketAlreadyExists", 409)
    with pytest.raises(SetupError, match="taken by another account"):
        bedrock_batch.setup(session=sess, bucket="taken-name", model_ids=[HAIKU])


@pytest.mark.parametrize(
    ("operation", "action"),
    [("CreateRole", "iam:CreateRole"), ("PutRolePolicy", "iam:PutRolePolicy"),
     ("CreateBucket", "s3:CreateBucket"), ("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
     ("GetRole", "iam:GetRole")],
)  # fmt: skip
def test_a_missing_permission_names_the_iam_action(sess: Any, operation: str, action: str) -> None:
    fail(sess, operation, "AccessDenied")
    with pytest.raises(SetupError, match=f"setup needs {action} ") as caught:
        bedrock_batch.setup(session=sess, model_ids=[HAIKU])
    assert caught.value.action == action


def test_bad_parameters_are_refused_before_any_call(sess: Any) -> None:
    calls = Calls(sess)
    with pytest.raises(bedrock_batch.ValidationError) as caught:
        bedrock_batch.setup(
            session=sess, bucket="Bad_Name", model_ids=["no.such-model"], input_prefix="data/",
            output_prefix="data/out/",
        )  # fmt: skip
    fields = {p.field for p in caught.value.problems}
    assert fields == {"bucket", "model_ids", "output_prefix"}
    assert set(calls.made) == {"GetCallerIdentity"}


def test_the_report_and_config_path_stay_inside_the_emulator(tmp_path: Path, sess: Any) -> None:
    assert "bedrock-batch-local-" in str(config_path())
    report = bedrock_batch.setup(session=sess, model_ids=[HAIKU])
    assert report.config_path == str(config_path())


def test_the_wait_is_announced_before_it_starts(sess: Any) -> None:
    said: list[str] = []
    slept: list[float] = []
    bedrock_batch.setup(session=sess, model_ids=[HAIKU], settle_seconds=3, sleep=lambda s: slept.append(s) or None, progress=lambda line: said.append(f"{line} after {len(slept)} sleeps"))  # fmt: skip
    assert said == ["waiting 3s for IAM to propagate the role BedrockBatchServiceRole (eventually consistent) after 0 sleeps"]  # fmt: skip


@pytest.mark.parametrize("role_name", ["bad/role", "", "r" * 65, "naïve"])
def test_a_role_name_iam_would_refuse_is_refused_before_any_write(sess: Any, role_name: str) -> None:  # fmt: skip
    # a name IAM refuses would otherwise be saved in the config as a role ARN no job can use
    calls = Calls(sess)
    with pytest.raises(bedrock_batch.ValidationError) as caught:
        bedrock_batch.setup(session=sess, role_name=role_name, model_ids=[HAIKU])
    assert {p.field for p in caught.value.problems} == {"role_name"}
    assert set(calls.made) == {"GetCallerIdentity"}


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, True])
def test_a_settle_time_that_is_not_seconds_is_refused_before_any_write(
    sess: Any, seconds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nan was taken as 0 (no wait), inf crashed time.sleep after the role was created
    calls = Calls(sess)
    with pytest.raises(bedrock_batch.ValidationError, match="settle_seconds"):
        bedrock_batch.setup(session=sess, settle_seconds=seconds, model_ids=[HAIKU])
    monkeypatch.setenv("BEDROCK_BATCH_IAM_SETTLE_SECONDS", "inf")
    with pytest.raises(bedrock_batch.ValidationError, match="BEDROCK_BATCH_IAM_SETTLE_SECONDS"):
        bedrock_batch.setup(session=sess, model_ids=[HAIKU])
    assert set(calls.made) == {"GetCallerIdentity"}


def test_one_model_id_as_a_string_is_one_model(sess: Any) -> None:
    # not 39 "'a' is not a model" problems, one per character
    report = bedrock_batch.setup(session=sess, model_ids=HAIKU, dry_run=True)
    assert [s.outcome for s in report.steps if s.what == "role"] == ["would create"]
    statement = bedrock_batch.setup(session=sess, model_ids=HAIKU).steps
    assert any(s.what == "role" and s.outcome == "created" for s in statement)
    policy = sess.client("iam").get_role_policy(RoleName="BedrockBatchServiceRole", PolicyName=POLICY_NAME)  # fmt: skip
    assert HAIKU in str(policy["PolicyDocument"])

"""A job's role and S3 prefixes when left out: argument, else environment, else the entry setup
saved for this profile, account and region; resolved at plan/submit, never guessed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import BatchJob, ValidationError
from bedrock_batch._setup._config import (
    CONFIG_ENV,
    ENV_INPUT_URI,
    ENV_OUTPUT_URI,
    ENV_ROLE_ARN,
    SavedDefaults,
    config_path,
    save_defaults,
)
from bedrock_batch._setup._defaults import resolve_defaults
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, track

ACCOUNT = "123456789012"  # moto's
NAMES = ("role_arn", "input_uri", "output_uri")
ENV = dict(zip(NAMES, (ENV_ROLE_ARN, ENV_INPUT_URI, ENV_OUTPUT_URI), strict=True))


def saved(path: Path, region: str = "us-east-1", *, bucket: str = "saved-bkt") -> SavedDefaults:
    entry = SavedDefaults(
        profile="default", account=ACCOUNT, region=region, role_arn=f"arn:aws:iam::{ACCOUNT}:role/Saved",
        input_uri=f"s3://{bucket}/inputs/", output_uri=f"s3://{bucket}/outputs/", bucket=bucket,
    )  # fmt: skip
    save_defaults(entry, path)
    return entry


@given(st.lists(st.sampled_from(["argument", "env", "file"]), min_size=3, max_size=3))
def test_each_value_comes_from_the_first_place_that_has_it(where: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.json"
        entry = saved(path)
        given_ = {n: (f"arg-{n}" if w == "argument" else None) for n, w in zip(NAMES, where, strict=True)}  # fmt: skip
        # an argument hides the variable, a variable hides the file
        environ = {ENV[n]: f"env-{n}" for n, w in zip(NAMES, where, strict=True) if w != "file"}
        asked: list[int] = []

        def identity() -> tuple[str, str | None]:
            asked.append(1)
            return ACCOUNT, None

        got = resolve_defaults(given_, region="us-east-1", identity=identity, environ=environ, path=path)  # fmt: skip
        for name, w in zip(NAMES, where, strict=True):
            expected = {"argument": f"arg-{name}", "env": f"env-{name}", "file": getattr(entry, name)}[w]  # fmt: skip
            assert getattr(got, name) == expected
            source = dict(got.sources)[name]
            assert source.startswith({"argument": "argument", "env": "environment", "file": "config file"}[w])  # fmt: skip
        assert bool(asked) == ("file" in where)  # STS only when the file is needed


def test_missing_everywhere_names_the_argument_the_variable_and_setup(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        resolve_defaults(
            {"role_arn": ROLE, "input_uri": None, "output_uri": None}, region="us-east-1",
            identity=lambda: pytest.fail("no file: no STS call"), environ={},
            path=tmp_path / "none.json",
        )  # fmt: skip
    fields = {p.field for p in caught.value.problems}
    assert fields == {"input_uri", "output_uri"}
    text = str(caught.value)
    for word in ("input_uri=", "--input-uri", ENV_INPUT_URI, ENV_OUTPUT_URI, "bedrock-batch setup"):  # fmt: skip
        assert word in text


def test_an_entry_for_another_account_region_or_profile_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    saved(path, region="us-east-1")
    nothing = dict.fromkeys(NAMES)
    for region, identity in [
        ("us-west-2", lambda: (ACCOUNT, None)),
        ("us-east-1", lambda: ("999999999999", None)),
        ("us-east-1", lambda: (ACCOUNT, "work")),
    ]:
        with pytest.raises(ValidationError, match="has no entry for profile"):
            resolve_defaults(nothing, region=region, identity=identity, environ={}, path=path)


def test_init_does_no_io_and_attach_ignores_the_defaults(
    local: LocalBedrock, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    job = track(BatchJob(HAIKU, session=session))
    assert calls == [] and job.role_arn is None
    job = track(BatchJob(HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=session))  # fmt: skip
    for i in range(3):
        job.add_prompt(f"q{i}")
    job.submit()
    assert "GetCallerIdentity" not in calls  # all given: no STS call, no file read
    handle = job.state_uri
    assert handle is not None
    monkeypatch.setenv(ENV_ROLE_ARN, f"arn:aws:iam::{ACCOUNT}:role/Other")
    monkeypatch.setenv(ENV_INPUT_URI, "s3://elsewhere/in/")
    again = track(BatchJob.attach(handle, session=session))
    assert (again.role_arn, again.input_uri) == (ROLE, f"s3://{BUCKET}/in/")


def test_plan_says_where_each_came_from(
    local: LocalBedrock, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_path()
    assert "bedrock-batch-local-" in str(path)  # Local Bedrock's own, empty file
    saved(path, bucket=BUCKET)
    monkeypatch.setenv(ENV_OUTPUT_URI, f"s3://{BUCKET}/env-out/")
    job = track(BatchJob(HAIKU, role_arn=ROLE, session=session))
    job.add_prompt("hello")
    plan = job.plan()
    sources = dict(plan.sources)
    assert sources["role_arn"] == "argument"
    assert sources["output_uri"] == f"environment ({ENV_OUTPUT_URI})"
    assert sources["input_uri"].startswith(f"config file {path}")
    assert job.input_uri == f"s3://{BUCKET}/inputs/" and job.output_uri == f"s3://{BUCKET}/env-out/"  # fmt: skip
    assert f"input_uri from config file {path}" in str(plan)
    explicit = track(BatchJob(HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=session))  # fmt: skip
    explicit.add_prompt("hello")
    assert " from " not in str(explicit.plan()).split("\n", 2)[-1].split("quotas from")[0]


def test_missing_defaults_fail_at_plan_before_any_upload(local: LocalBedrock, session: Any) -> None:
    job = track(BatchJob(HAIKU, session=session))
    job.add_prompt("hello")
    with pytest.raises(ValidationError, match="bedrock-batch setup") as caught:
        job.submit()
    assert {p.field for p in caught.value.problems} == set(NAMES)
    assert session.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_media_outside_the_defaulted_input_bucket_is_refused_at_plan(
    local: LocalBedrock, session: Any
) -> None:
    from bedrock_batch import S3Media

    saved(config_path(), bucket=BUCKET)
    nova = "amazon.nova-lite-v1:0"
    inside = track(BatchJob(nova, session=session))
    inside.add_prompt("describe", videos=[S3Media(f"s3://{BUCKET}/videos/a.mp4", "mp4")])
    assert inside.plan().records == 1
    outside = track(BatchJob(nova, session=session))
    outside.add_prompt("describe", videos=[S3Media("s3://another-bucket/a.mp4", "mp4")])
    with pytest.raises(ValidationError, match="must be in the job's input bucket"):
        outside.plan()


def test_the_user_config_is_never_read_under_local_bedrock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "user-config.json"
    saved(users, bucket="users-real-bucket")
    before = users.read_bytes()
    monkeypatch.setenv(CONFIG_ENV, str(users))
    monkeypatch.setenv(ENV_ROLE_ARN, "arn:aws:iam::123456789012:role/UsersRealRole")
    with LocalBedrock(clock="manual") as lb:
        assert config_path() != users
        job = track(BatchJob(HAIKU, session=lb.session()))
        job.add_prompt("hello")
        with pytest.raises(ValidationError) as caught:
            job.plan()
        assert {p.field for p in caught.value.problems} == set(NAMES)
        import bedrock_batch

        bedrock_batch.setup(session=lb.session(), model_ids=[HAIKU])
        assert config_path().exists()
        inner = config_path()
    assert config_path() == users and users.read_bytes() == before
    assert not inner.exists()  # removed with the emulator


FIXTURE_TESTS = """
import json
import os

import bedrock_batch
from bedrock_batch import BatchJob

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def test_setup_then_a_job_with_only_the_model(local_bedrock, tmp_path):
    users = os.environ["USERS_CONFIG"]
    assert os.environ["BEDROCK_BATCH_CONFIG"] != users
    report = bedrock_batch.setup(model_ids=[MODEL])
    with BatchJob(MODEL) as job:
        job.add_prompt("hello")
        plan = job.plan()
    assert dict(plan.sources)["role_arn"].startswith("config file")
    assert job.role_arn == report.role_arn
"""


def test_the_local_bedrock_fixture_gives_setup_a_private_file(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.json"
    saved(users, bucket="users-real-bucket")
    before = users.read_bytes()
    monkeypatch.setenv(CONFIG_ENV, str(users))
    monkeypatch.setenv("USERS_CONFIG", str(users))
    pytester.makepyfile(test_fixture_setup=FIXTURE_TESTS)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert users.read_bytes() == before

"""Shared fixtures: Local Bedrock in-process (manual clock) with moto S3, and in server mode."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from bedrock_batch import BatchJob, PollConfig
from bedrock_batch._common._codec import encode_line
from bedrock_batch._records._store import RecordStore
from bedrock_batch.local import LocalBedrock

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.load_profile("default")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Opt-in tests (``bigmem``, ``live``) run only when ``-m`` names them; otherwise they are
    deselected (reported as such), never skipped."""
    wanted = config.getoption("markexpr") or ""
    keep, drop = [], []
    for item in items:
        opt_in = [m for m in ("bigmem", "live") if item.get_closest_marker(m)]
        (drop if any(m not in wanted for m in opt_in) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
_OPEN: list[BatchJob] = []


def track(job: BatchJob) -> BatchJob:
    """Close this job (its local copy of the records) when the test ends."""
    _OPEN.append(job)
    return job


@pytest.fixture(autouse=True)
def _close_jobs() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
BUCKET = "bkt"


def claude_body(text: str, max_tokens: int = 200) -> dict[str, Any]:
    """A valid Anthropic Messages body."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    }


def jsonl(records: list[dict[str, Any]]) -> bytes:
    """Encode input lines."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


@pytest.fixture
def local() -> Iterator[LocalBedrock]:
    """An in-process Local Bedrock on a manual clock (time moves only when told)."""
    with LocalBedrock(clock="manual") as lb:
        yield lb


@pytest.fixture
def session(local: LocalBedrock) -> Any:
    """A boto3 session wired to the emulator, with the test bucket created."""
    sess = local.session()
    sess.client("s3").create_bucket(Bucket=BUCKET)
    return sess


@pytest.fixture
def s3(session: Any) -> Any:
    return session.client("s3")


@pytest.fixture
def bedrock(session: Any) -> Any:
    return session.client("bedrock")


@pytest.fixture
def make_job(local: LocalBedrock, session: Any) -> Callable[..., BatchJob]:
    """A BatchJob factory whose waits advance the emulated clock instead of sleeping."""

    def make(model_id: str = HAIKU, **kwargs: Any) -> BatchJob:
        kwargs.setdefault("session", session)
        kwargs.setdefault("sleep", lambda s: local.advance(s))
        kwargs.setdefault("poll", PollConfig(initial=30, max_interval=600, jitter=0))
        role = kwargs.pop("role_arn", ROLE)
        input_uri = kwargs.pop("input_uri", f"s3://{BUCKET}/in/")
        output_uri = kwargs.pop("output_uri", f"s3://{BUCKET}/out/")
        return track(BatchJob(model_id, role, input_uri, output_uri, **kwargs))

    return make


def create_job(bedrock: Any, **overrides: Any) -> str:
    """CreateModelInvocationJob with sensible defaults; returns the ARN."""
    params: dict[str, Any] = {
        "jobName": "job-1",
        "roleArn": ROLE,
        "modelId": HAIKU,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
    }
    params.update(overrides)
    return str(bedrock.create_model_invocation_job(**params)["jobArn"])


def put_records(s3: Any, n: int, key: str = "in/data.jsonl", start: int = 0) -> list[str]:
    """Upload n valid Claude records; returns their ids."""
    ids = [f"rec{start + i:05d}" for i in range(n)]
    s3.put_object(
        Bucket=BUCKET,
        Key=key,
        Body=jsonl([{"recordId": r, "modelInput": claude_body(f"question {r}")} for r in ids]),
    )
    return ids


def store_of(n: int, prefix: str = "q") -> RecordStore:
    """A record store of n valid Claude lines, ids R0, R1, ... (the caller closes it)."""
    store = RecordStore()
    for i in range(n):
        store.append_line(
            f"R{i}",
            encode_line({"recordId": f"R{i}", "modelInput": claude_body(f"{prefix}{i}", 40)}),
        )
    return store


def read_out(s3: Any, key: str) -> list[dict[str, Any]]:
    """Parse an output .jsonl.out (split on \\n only)."""
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return [json.loads(line) for line in body.split(b"\n") if line.strip()]


def job_on(local: LocalBedrock, model_id: str = HAIKU, **kwargs: Any) -> BatchJob:
    """A BatchJob on an emulator (test bucket created), whose waits advance the emulated clock."""
    session = local.session()
    s3 = session.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    kwargs.setdefault("sleep", local.advance)
    kwargs.setdefault("poll", PollConfig(initial=30, max_interval=600, jitter=0))
    return track(
        BatchJob(
            model_id, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=session, **kwargs
        )
    )


def endpoint_env(url: str) -> dict[str, str]:
    """Environment for a subprocess that talks to a Local Bedrock server."""
    import os

    return {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }

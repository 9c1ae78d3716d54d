"""A create that cannot connect to Bedrock ends ``wait()`` within a bounded time with an error
naming the endpoint, instead of being retried without end (the announced job is looked up,
the lookup cannot connect either, and so on)."""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bedrock_batch import BatchJob, PollConfig, ServiceError
from bedrock_batch.local import LocalBedrock, LocalBedrockServer

from ..conftest import BUCKET, HAIKU, ROLE, serving, track


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _batch(s3: object, bedrock: object, **kwargs: object) -> BatchJob:
    job = track(
        BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", s3_client=s3,
            bedrock_client=bedrock, use_service_quotas=False, mode="batch",
            poll=PollConfig(initial=0.01, max_interval=0.05, jitter=0, timeout=20), **kwargs,
        )
    )  # fmt: skip
    for i in range(100):
        job.add_prompt(f"question {i}", max_tokens=20)
    return job


def test_a_create_that_cannot_connect_ends_the_wait_naming_the_endpoint() -> None:
    """Outside Local Bedrock (a served emulator for S3, Bedrock's endpoint closed): botocore
    retries each call (once here), the wait tries a bounded number of steps, then raises."""
    port = _closed_port()
    with serving(bucket=BUCKET) as server:
        server_s3 = _client(server, "s3")
        bedrock = _client(server, "bedrock", endpoint_url=f"http://127.0.0.1:{port}")
        job = _batch(server_s3, bedrock)
        attempts = _count_attempts(bedrock)
        with pytest.raises(ServiceError) as raised:
            job.run()
    assert 1 <= len(attempts) <= 12, len(attempts)  # bounded: a few steps, each retried once
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert raised.value.code == "EndpointConnectionError"
    assert not raised.value.transient
    assert "steps in a row" in str(raised.value)


def test_under_an_in_process_emulator_an_unreachable_endpoint_fails_at_once(
    local: LocalBedrock,
) -> None:
    """Under Local Bedrock, with botocore's default retries (8 attempts, about a minute), a
    create against a closed loopback port ends the wait in seconds, naming the endpoint."""
    port = _closed_port()
    session = local.session()
    session.client("s3").create_bucket(Bucket=BUCKET)
    bedrock = boto3.Session().client("bedrock", endpoint_url=f"http://127.0.0.1:{port}")
    job = _batch(session.client("s3"), bedrock)
    attempts = _count_attempts(bedrock)
    with pytest.raises(ConnectionRefusedError, match=f"127.0.0.1:{port}"):
        job.run()
    assert len(attempts) == 1  # at once: neither botocore's retries nor the wait's steps


def _count_attempts(client: Any) -> list[str]:
    """Every HTTP attempt ``client`` makes (botocore's retries included)."""
    seen: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: seen.append(request.url))
    return seen


def _client(server: LocalBedrockServer, service: str, **kwargs: object) -> object:
    params: dict[str, object] = {
        "endpoint_url": server.endpoint_url, "region_name": "us-east-1",
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
        "config": Config(retries={"mode": "standard", "max_attempts": 1}),
    }  # fmt: skip
    params.update(kwargs)
    return boto3.session.Session().client(service, **params)  # type: ignore[call-overload]

"""Local Bedrock and model ids it does not list: refused like the service by default; with
``accept_unknown_models`` (``local serve --accept-unknown-models``) an id of a provider with one
body format is answered in that family's shape, by the emulator's own prefix table."""

from __future__ import annotations

import argparse
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bedrock_batch.local import LocalBedrock
from bedrock_batch.local._serve_cli import add_arguments, build

from ..conftest import BUCKET, ROLE, claude_body, jsonl

REFUSAL = "Batch inference is not supported for the requested model."
NEW_CLAUDE = "anthropic.claude-sonnet-9-9-20300101-v1:0"
NEW_QWEN = "qwen.something-new"


def _create(bedrock: Any, model_id: str) -> str:
    return str(
        bedrock.create_model_invocation_job(
            jobName="unknown", roleArn=ROLE, modelId=model_id,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
        )["jobArn"]
    )  # fmt: skip


def _clients(endpoint: str) -> tuple[Any, Any, Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return tuple(session.client(s, endpoint_url=endpoint) for s in ("s3", "bedrock", "bedrock-runtime"))  # type: ignore[return-value]  # fmt: skip


def _serve(flags: list[str]) -> Any:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return build(parser.parse_args(["--time-scale", "100000", *flags])).serve(port=0)


@pytest.mark.parametrize(
    "model_id", [NEW_CLAUDE, NEW_QWEN, "amazon.something-new", "acme.model-x-v1:0"]
)
def test_an_unknown_id_is_refused_by_default_with_the_services_message(model_id: str) -> None:
    with _serve([]) as server:
        s3, bedrock, runtime = _clients(server.endpoint_url)
        s3.create_bucket(Bucket=BUCKET)
        with pytest.raises(ClientError) as err:
            _create(bedrock, model_id)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert err.value.response["Error"]["Message"] == REFUSAL
        with pytest.raises(ClientError) as err:
            runtime.invoke_model(modelId=model_id, body=json.dumps(claude_body("hi")))
        assert err.value.response["Error"]["Message"] == "The provided model identifier is invalid."


def test_the_serve_flag_accepts_one_format_providers_in_their_familys_shape() -> None:
    with _serve(["--accept-unknown-models", "--min-records", "1"]) as server:
        s3, bedrock, runtime = _clients(server.endpoint_url)
        s3.create_bucket(Bucket=BUCKET)
        # Claude's shape for an anthropic. id (and through a profile)
        for model_id in (NEW_CLAUDE, f"us.{NEW_CLAUDE}"):
            answer = json.loads(
                runtime.invoke_model(modelId=model_id, body=json.dumps(claude_body("hi")))["body"].read()
            )  # fmt: skip
            assert answer["type"] == "message" and answer["content"][0]["text"]
        # the rules of the assumed family apply: a chat body is not a Claude body
        with pytest.raises(ClientError):
            runtime.invoke_model(
                modelId=NEW_CLAUDE,
                body=json.dumps({"messages": [{"role": "user", "content": "x"}]}),
            )
        # OpenAI chat completions for a qwen. id
        chat = {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 32}
        answer = json.loads(
            runtime.invoke_model(modelId=NEW_QWEN, body=json.dumps(chat))["body"].read()
        )
        assert answer["choices"][0]["message"]["content"] and answer["usage"]["prompt_tokens"] > 0
        # a batch job for the new Claude id runs and answers every record
        s3.put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=jsonl(
            [{"recordId": f"r{i}", "modelInput": claude_body(f"q{i}")} for i in range(3)]
        ))  # fmt: skip
        arn = _create(bedrock, NEW_CLAUDE)
        for _ in range(200):
            job = bedrock.get_model_invocation_job(jobIdentifier=arn)
            if job["status"] in ("Completed", "PartiallyCompleted", "Failed"):
                break
            import time

            time.sleep(0.05)
        assert job["status"] == "Completed", job
        # other providers stay refused even with the knob: no one body format to answer in
        for model_id in ("amazon.something-new", "deepseek.r1-v9:0", "acme.model-x-v1:0"):
            with pytest.raises(ClientError) as err:
                _create(bedrock, model_id)
            assert err.value.response["Error"]["Message"] == REFUSAL


def test_the_api_knob_is_the_same_in_process() -> None:
    with LocalBedrock(clock="manual", accept_unknown_models=True) as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        assert _create(local.client("bedrock"), f"us.{NEW_QWEN}")
    with LocalBedrock(clock="manual") as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        with pytest.raises(ClientError, match="not supported for the requested model"):
            _create(local.client("bedrock"), f"us.{NEW_QWEN}")

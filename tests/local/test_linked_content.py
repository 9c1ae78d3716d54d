"""Local Bedrock's side of linked content (facts §1): a job's input location holds its JSONL
*and* the objects its records link (``s3Location``), in the same bucket and folder. A record
linking an object outside the folder, or a missing one, is errored alone (an error line, not
a failed job); ``linked_content_in_folder=False`` (``local serve --linked-content-anywhere``)
checks only that the object exists in the input bucket."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bedrock_batch.local import LocalBedrock
from bedrock_batch.local._families._answers import LINKED_CONTENT
from bedrock_batch.local._serve_cli import add_arguments, build

from ..conftest import BUCKET, ROLE, jsonl, read_out

NOVA_LITE = "amazon.nova-lite-v1:0"


def video_body(uri: str) -> dict[str, Any]:
    video = {"video": {"format": "mp4", "source": {"s3Location": {"uri": uri}}}}
    return {
        "schemaVersion": "messages-v1",
        "messages": [{"role": "user", "content": [video, {"text": "What happens?"}]}],
        "inferenceConfig": {"maxTokens": 100},
    }


def run_job(local: LocalBedrock, uris: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One Nova job over ``in/job/`` whose record ``r{i}`` links ``uris[i]``; (its description,
    its output lines by record id)."""
    s3 = local.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/job/media/clip.mp4", Body=b"\x00\x00\x00\x18ftypmp42")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/clip.mp4", Body=b"\x00\x00\x00\x18ftypmp42")
    records = [{"recordId": f"r{i}", "modelInput": video_body(u)} for i, u in enumerate(uris)]
    s3.put_object(Bucket=BUCKET, Key="in/job/data.jsonl", Body=jsonl(records))
    bedrock = local.client("bedrock")
    arn = bedrock.create_model_invocation_job(
        jobName="videos", roleArn=ROLE, modelId=NOVA_LITE,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/job/"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
    )["jobArn"]  # fmt: skip
    local.run_until_idle()
    desc = bedrock.get_model_invocation_job(jobIdentifier=arn)
    lines = read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/data.jsonl.out")
    return desc, {line["recordId"]: line for line in lines}


INSIDE = f"s3://{BUCKET}/in/job/media/clip.mp4"
OUTSIDE = f"s3://{BUCKET}/elsewhere/clip.mp4"
MISSING = f"s3://{BUCKET}/in/job/media/gone.mp4"


def test_only_the_record_linking_outside_the_folder_is_errored() -> None:
    with LocalBedrock(clock="manual") as local:
        desc, lines = run_job(local, [INSIDE] * 98 + [OUTSIDE, MISSING])
    assert desc["status"] == "Completed"
    assert (desc["successRecordCount"], desc["errorRecordCount"]) == (98, 2)
    assert lines["r98"]["error"]["errorMessage"] == LINKED_CONTENT.format(
        uri=OUTSIDE, folder=f"s3://{BUCKET}/in/job/"
    )
    assert "does not exist" in lines["r99"]["error"]["errorMessage"]
    assert "modelOutput" in lines["r0"]


def test_the_knob_off_accepts_objects_anywhere_in_the_input_bucket() -> None:
    with LocalBedrock(clock="manual", linked_content_in_folder=False) as local:
        desc, lines = run_job(local, [INSIDE] * 98 + [OUTSIDE, MISSING])
    assert (desc["successRecordCount"], desc["errorRecordCount"]) == (99, 1)
    assert "modelOutput" in lines["r98"]


@pytest.mark.parametrize(
    ("flags", "expected"), [([], True), (["--linked-content-anywhere"], False)]
)
def test_local_serve_has_the_flag(flags: list[str], expected: bool) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    emulator = build(parser.parse_args(flags))
    assert emulator.backend.data.linked_content_in_folder is expected

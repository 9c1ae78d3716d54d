"""Local Bedrock's data plane: what lands in S3, compared with real examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import Faults, LocalBedrock, Quotas, RecordContext, RecordError, constant

from ..conftest import BUCKET, claude_body, create_job, jsonl, put_records, read_out

DATA = Path(__file__).parents[1] / "data"


def sample(name: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def finish(local: LocalBedrock, bedrock: Any, arn: str) -> dict[str, Any]:
    local.run_until_idle()
    return dict(bedrock.get_model_invocation_job(jobIdentifier=arn))


def shape(obj: Any) -> Any:
    """The key structure of a JSON value (types of leaves, keys of objects)."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shape(obj[0])] if obj else []
    return type(obj).__name__


def test_layout_manifest_and_claude_line_shape_match_real_sample(
    local: LocalBedrock, s3: Any, bedrock: Any
) -> None:
    ids = put_records(s3, 120)
    arn = create_job(bedrock)
    assert finish(local, bedrock, arn)["status"] == "Completed"
    job_id = arn.rsplit("/", 1)[1]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"])
    assert keys == [f"out/{job_id}/data.jsonl.out", f"out/{job_id}/manifest.json.out"]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[1])["Body"].read())
    assert set(manifest) == {
        "totalRecordCount",
        "processedRecordCount",
        "successRecordCount",
        "errorRecordCount",
        "inputTokenCount",
        "outputTokenCount",
    }
    assert manifest["totalRecordCount"] == manifest["successRecordCount"] == 120
    raw = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    first = raw.split(b"\n", 1)[0]
    assert b": " not in first[:40]  # compact separators, like the real line
    lines = read_out(s3, keys[0])
    assert sorted(line["recordId"] for line in lines) == ids
    assert [line["recordId"] for line in lines] != ids  # shuffled
    real = sample("claude3_haiku_output.jsonl")[0]
    assert list(lines[0]) == list(real)  # modelInput, modelOutput, recordId
    assert shape(lines[0]["modelOutput"]) == shape(real["modelOutput"]) | {
        "stop_sequence": "NoneType"
    }
    assert lines[0]["modelOutput"]["id"].startswith("msg_bdrk_")
    assert (
        sum(line["modelOutput"]["usage"]["output_tokens"] for line in lines)
        == manifest["outputTokenCount"]
    )


def test_raw_utf8_and_u2028_survive(local: LocalBedrock, s3: Any, bedrock: Any) -> None:
    text = "日本の仏教\u2028ceremony\u0085next"
    s3.put_object(
        Bucket=BUCKET,
        Key="in/a.jsonl",
        Body=jsonl([{"recordId": f"r{i}", "modelInput": claude_body(text)} for i in range(100)]),
    )
    arn = create_job(bedrock)
    finish(local, bedrock, arn)
    raw = s3.get_object(Bucket=BUCKET, Key=f"out/{arn.rsplit('/', 1)[1]}/a.jsonl.out")[
        "Body"
    ].read()
    assert "日本の仏教\u2028ceremony".encode() in raw  # raw, not \\u escapes
    assert raw.count(b"\n") == 100


def test_titan_text_error_and_success_lines_match_docs_sample() -> None:
    def responder(ctx: RecordContext) -> dict[str, Any]:
        if ctx.record_id == "bad":
            raise RecordError(400, "bad request")
        from bedrock_batch.local import synthetic

        return synthetic(ctx)

    with LocalBedrock(
        clock="manual", responder=responder, default_quotas=Quotas(min_records_per_job=1)
    ) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(
            Bucket=BUCKET,
            Key="in/t.jsonl",
            Body=jsonl(
                [
                    {"recordId": "good", "modelInput": {"inputText": "Roses are red, violets are"}},
                    {"recordId": "bad", "modelInput": {"inputText": "Hello world"}},
                ]
            ),
        )
        bedrock = local.client("bedrock")
        arn = create_job(bedrock, modelId="amazon.titan-text-express-v1")
        finish(local, bedrock, arn)
        lines = {
            line["recordId"]: line
            for line in read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/t.jsonl.out")
        }
    ok_real, err_real = sample("titan_text_output.jsonl")
    assert shape(lines["good"]["modelOutput"]) == shape(ok_real["modelOutput"])
    assert set(err_real["error"]) <= set(lines["bad"]["error"])
    assert lines["bad"]["error"]["errorCode"] == 400 and "modelOutput" not in lines["bad"]


def test_converse_output_matches_reconstructed_real_line(
    local: LocalBedrock, s3: Any, bedrock: Any
) -> None:
    real_ok, real_err, real_manifest = sample("converse_output_error_manifest.jsonl")
    body = {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 500},
    }
    recs = [{"recordId": f"c{i}", "modelInput": body} for i in range(100)]
    recs[0] = {"recordId": "c0", "modelInput": {**body, "toolConfig": {"tools": []}}}
    s3.put_object(Bucket=BUCKET, Key="in/c.jsonl", Body=jsonl(recs))
    arn = create_job(bedrock, modelInvocationType="Converse")
    d = finish(local, bedrock, arn)
    assert d["status"] == "Completed" and d["errorRecordCount"] == 1
    job_id = arn.rsplit("/", 1)[1]
    lines = {line["recordId"]: line for line in read_out(s3, f"out/{job_id}/c.jsonl.out")}
    out = lines["c1"]["modelOutput"]
    real = real_ok["modelOutput"]
    assert set(out) == set(real)
    assert set(out["output"]["message"]["content"][0]) == set(
        real["output"]["message"]["content"][1]
    )
    assert set(out["usage"]) == set(real["usage"])
    assert set(lines["c0"]["error"]) == set(real_err["error"])
    manifest = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"out/{job_id}/manifest.json.out")["Body"].read()
    )
    assert set(manifest) == set(real_manifest)


def test_all_records_failing_still_completed(local: LocalBedrock, s3: Any, bedrock: Any) -> None:
    converse_body = {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 50},
    }
    s3.put_object(
        Bucket=BUCKET,
        Key="in/a.jsonl",
        Body=jsonl([{"recordId": f"r{i}", "modelInput": converse_body} for i in range(100)]),
    )
    arn = create_job(bedrock)  # InvokeModel job with Converse bodies
    d = finish(local, bedrock, arn)
    assert d["status"] == "Completed"
    assert d["successRecordCount"] == 0 and d["errorRecordCount"] == 100
    line = read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/a.jsonl.out")[0]
    assert line["error"] == {
        "errorCode": 400,
        "errorMessage": "anthropic_version: Field required",
        "expired": False,
        "retryable": False,
    }


def test_generated_record_ids_and_nested_folders(
    local: LocalBedrock, s3: Any, bedrock: Any
) -> None:
    s3.put_object(
        Bucket=BUCKET,
        Key="in/a.jsonl",
        Body=jsonl([{"modelInput": claude_body(str(i))} for i in range(60)]),
    )
    s3.put_object(
        Bucket=BUCKET,
        Key="in/sub/b.jsonl",
        Body=jsonl([{"modelInput": claude_body(str(i))} for i in range(60)]),
    )
    s3.put_object(Bucket=BUCKET, Key="in/sub/video.mp4", Body=b"\x00")
    arn = create_job(bedrock, inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in"}})
    assert finish(local, bedrock, arn)["totalRecordCount"] == 120
    job_id = arn.rsplit("/", 1)[1]
    lines = read_out(s3, f"out/{job_id}/a.jsonl.out") + read_out(
        s3, f"out/{job_id}/sub/b.jsonl.out"
    )
    ids = [line["recordId"] for line in lines]
    assert len(set(ids)) == 120
    assert all(len(i) == 11 and i.isalnum() for i in ids)


def test_single_object_input_and_basename_outputs() -> None:
    with LocalBedrock(clock="manual", output_paths="basename") as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 100, key="in/deep/x.jsonl")
        put_records(s3, 100, key="in/other.jsonl", start=100)
        bedrock = local.client("bedrock")
        arn = create_job(
            bedrock,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/deep/x.jsonl"}},
        )
        assert finish(local, bedrock, arn)["totalRecordCount"] == 100
        assert len(read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/x.jsonl.out")) == 100


def test_nova_s3_location_must_exist_in_input_bucket(
    local: LocalBedrock, s3: Any, bedrock: Any
) -> None:
    s3.put_object(Bucket=BUCKET, Key="in/videos/v1.mp4", Body=b"video")

    def video(uri: str) -> dict[str, Any]:
        return {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "Describe"},
                        {
                            "video": {
                                "format": "mp4",
                                "source": {
                                    "s3Location": {"uri": uri, "bucketOwner": "123456789012"}
                                },
                            }
                        },
                    ],
                }
            ]
        }

    recs = [
        {"recordId": f"v{i}", "modelInput": video(f"s3://{BUCKET}/in/videos/v1.mp4")}
        for i in range(100)
    ]
    recs[1]["modelInput"] = video(f"s3://{BUCKET}/in/videos/missing.mp4")
    recs[2]["modelInput"] = video("s3://other-bucket/v1.mp4")
    s3.put_object(Bucket=BUCKET, Key="in/nova.jsonl", Body=jsonl(recs))
    arn = create_job(bedrock, modelId="amazon.nova-lite-v1:0")
    d = finish(local, bedrock, arn)
    assert (d["successRecordCount"], d["errorRecordCount"]) == (98, 2)
    lines = {
        line["recordId"]: line
        for line in read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/nova.jsonl.out")
    }
    assert "does not exist" in lines["v1"]["error"]["errorMessage"]
    assert "input bucket" in lines["v2"]["error"]["errorMessage"]


def test_record_faults_are_seeded_logged_and_retryable_flagged() -> None:
    faults = Faults(
        record_error_rate=0.1, retryable_record_error_rate=0.1, record_error_ids={"rec00003"}
    )
    with LocalBedrock(clock="manual", faults=faults, seed=5) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 300)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        d = finish(local, bedrock, arn)
        lines = read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/data.jsonl.out")
        errors = [line for line in lines if "error" in line]
        assert d["errorRecordCount"] == len(errors) == len(local.fault_log)
        assert 20 < len(errors) < 100
        assert any(e["error"]["retryable"] for e in errors) and any(
            not e["error"]["retryable"] for e in errors
        )
        assert "rec00003" in {e["recordId"] for e in errors}


def test_custom_responder_and_output_encryption() -> None:
    with LocalBedrock(
        clock="manual",
        responder=constant(
            {
                "generation": "canned",
                "prompt_token_count": 1,
                "generation_token_count": 1,
                "stop_reason": "stop",
            }
        ),
    ) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(
            Bucket=BUCKET,
            Key="in/l.jsonl",
            Body=jsonl(
                [
                    {"recordId": f"l{i}", "modelInput": {"prompt": "hi", "max_gen_len": 10}}
                    for i in range(100)
                ]
            ),
        )
        bedrock = local.client("bedrock")
        arn = create_job(
            bedrock,
            modelId="meta.llama3-1-8b-instruct-v1:0",
            outputDataConfig={
                "s3OutputDataConfig": {
                    "s3Uri": f"s3://{BUCKET}/out/",
                    "s3EncryptionKeyId": "alias/k",
                }
            },
        )
        finish(local, bedrock, arn)
        key = f"out/{arn.rsplit('/', 1)[1]}/l.jsonl.out"
        assert {line["modelOutput"]["generation"] for line in read_out(s3, key)} == {"canned"}
        assert s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "aws:kms"


@pytest.mark.parametrize("window", [1, 7, 10_000])
def test_every_record_written_once_whatever_the_shuffle_window(window: int) -> None:
    with LocalBedrock(clock="manual", shuffle_window=window) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        ids = put_records(s3, 150)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        finish(local, bedrock, arn)
        got = [
            line["recordId"] for line in read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/data.jsonl.out")
        ]
        assert sorted(got) == ids

"""The reader part on its own: a broken output line and S3 errors while reading, against real
boto3 clients on Local Bedrock with S3 from moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bedrock_batch import ServiceError
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, job_on
from ..support import S3Faults


def test_a_lone_surrogate_in_model_output_is_reported_not_fatal(
    local: LocalBedrock, session: Any, tmp_path: Any
) -> None:
    job = job_on(local)
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=30)
    job.run()
    s3 = session.client("s3")
    key = next(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"] if o["Key"].endswith(".jsonl.out"))  # fmt: skip
    lines = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().split(b"\n")
    first = json.loads(lines[0])
    first["modelOutput"]["content"][0]["text"] = "broken \ud83d half"  # JSON escapes it: \ud83d
    lines[0] = json.dumps(first).encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\n".join(lines))
    results = job.results()
    got = {r.record_id: r for r in results}
    assert len(got) == 100 and got[first["recordId"]].text == "broken \ufffd half"
    assert [a.kind for a in results.anomalies] == ["invalid_unicode"]
    counts = results.to_jsonl(str(tmp_path / "out.jsonl"))  # writing it never crashes
    assert counts["succeeded"] == 100


def test_s3_errors_while_reading_are_errors_not_missing_records(
    local: LocalBedrock, session: Any
) -> None:
    job = job_on(local)
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=30)
    job.run()
    faults = S3Faults(session)
    outputs = lambda p: str(p.get("Key", "")).endswith(".jsonl.out")  # noqa: E731
    faults.fail("GetObject", when=outputs, times=99, code="AccessDenied", status=403)
    fresh = type(job).attach(job.job_arn or "", session=session)
    with pytest.raises(ServiceError, match="AccessDenied"):
        list(fresh.results())
    faults.clear()
    s3 = session.client("s3")
    for obj in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket(Bucket=BUCKET)
    with pytest.raises(ServiceError, match="NoSuchBucket"):
        list(job.results())

"""The uploader part on its own: jobs and files planned within every quota, and the
content-addressed upload, against real boto3 clients on Local Bedrock with S3 from moto."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_batch import ServiceError
from bedrock_batch._batch._sharding import Shard, plan_parts
from bedrock_batch._common._codec import encode_line
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._records._store import RecordStore
from bedrock_batch._uploader._uploader import Uploader

from ..conftest import BUCKET, claude_body, examples, store_of
from ..support import S3Faults


@given(
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=300),
    per_job=st.integers(1, 120),
    per_file=st.integers(1, 60),
    file_bytes=st.integers(400, 5000),
)
def test_jobs_cover_every_record_once_within_every_quota(
    sizes: list[int], per_job: int, per_file: int, file_bytes: int
) -> None:
    job_bytes = max(file_bytes, sum(sizes) // 3 + 400)
    parts = plan_parts(sizes, max_records_per_job=per_job, max_job_bytes=job_bytes,
                       max_records_per_file=per_file, max_file_bytes=file_bytes)  # fmt: skip
    covered = [i for p in parts for s in p.shards for i in range(s.start, s.end)]
    assert covered == list(range(len(sizes)))
    for p in parts:
        assert p.records <= per_job and p.size <= job_bytes
        assert all(
            s.records <= per_file and (s.size <= file_bytes or s.records == 1) for s in p.shards
        )
    counts = [p.records for p in parts]
    assert max(counts) - min(counts) <= 1 or any(p.size > job_bytes // 2 for p in parts)


def test_upload_is_content_addressed_by_path_and_skips_identical_files(session: Any) -> None:
    s3 = S3Access(session.client("s3"))
    store = store_of(30)
    files = (Shard(0, 0, 10, 0), Shard(1, 10, 30, 0))
    uploader = Uploader(s3)
    uploader.upload_files(f"s3://{BUCKET}/in/x/", files, store)
    assert s3.calls["PutObject"] == 2 and s3.calls["Upload"] == 0  # small: one PUT each
    uploader.upload_files(f"s3://{BUCKET}/in/x/", files, store)
    assert s3.calls["PutObject"] == 2  # already there: only HEADs
    assert s3.calls["HeadObject"] == 4
    body = (
        session.client("s3").get_object(Bucket=BUCKET, Key="in/x/part-00001.jsonl")["Body"].read()
    )
    assert body == b"".join(store.iter_lines(10, 30))
    store.close()


def test_a_failed_multipart_upload_leaves_no_parts_behind(session: Any) -> None:
    from boto3.s3.transfer import TransferConfig

    faults = S3Faults(session)
    s3 = S3Access(session.client("s3"), transfer_config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20, max_concurrency=1))  # fmt: skip
    store = RecordStore()
    big = "x" * 20_000
    for i in range(600):  # ~12 MB: three parts
        store.append_line(
            f"R{i}", encode_line({"recordId": f"R{i}", "modelInput": claude_body(big)})
        )
    faults.fail("UploadPart", times=50, code="AccessDenied", status=403)
    with pytest.raises(ServiceError, match="AccessDenied"):
        Uploader(s3).upload_files(f"s3://{BUCKET}/in/y/", (Shard(0, 0, 600, 0),), store)
    assert faults.injected["UploadPart"] >= 1
    assert session.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    store.close()


def test_files_up_to_the_threshold_go_up_in_one_put_and_larger_ones_in_parts(
    session: Any,
) -> None:
    from boto3.s3.transfer import TransferConfig

    raw = session.client("s3")
    config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
    s3 = S3Access(raw, transfer_config=config, upload_extra_args={"ContentType": "application/jsonl"})  # fmt: skip
    assert s3.single_put_max == 5 << 20
    assert S3Access(raw).single_put_max == 64 << 20  # the default without a transfer config
    store = RecordStore()
    big = "x" * 20_000
    for i in range(400):  # ~8 MB: over the 5 MiB threshold in total, each half under it
        store.append_line(f"R{i}", encode_line({"recordId": f"R{i}", "modelInput": claude_body(big)}))  # fmt: skip
    files = (Shard(0, 0, 200, 0), Shard(1, 200, 400, 0), Shard(2, 0, 400, 0))
    Uploader(s3).upload_files(f"s3://{BUCKET}/in/t/", files, store)
    assert s3.calls["PutObject"] == 2 and s3.calls["Upload"] == 1
    for shard in files:
        head = raw.head_object(Bucket=BUCKET, Key=f"in/t/{shard.name}")
        want = b"".join(store.iter_lines(shard.start, shard.end))
        assert head["ContentLength"] == len(want)
        assert head["Metadata"]["sha256"] == hashlib.sha256(want).hexdigest()
        assert head["ContentType"] == "application/jsonl"  # extra args on both paths
        multipart = "-" in head["ETag"]
        assert multipart == (len(want) > 5 << 20)
    store.close()


@settings(max_examples=examples(25))
@given(lines=st.lists(st.binary(min_size=0, max_size=40), max_size=40), limit=st.integers(1, 300))
def test_generated_lines_are_uploaded_whole_on_either_side_of_the_threshold(
    session: Any, lines: list[bytes], limit: int
) -> None:
    from boto3.s3.transfer import TransferConfig

    raw = session.client("s3")
    s3 = S3Access(raw, transfer_config=TransferConfig(multipart_threshold=limit))
    key = f"gen/{uuid.uuid4().hex}"
    Uploader(s3).upload_lines(S3Uri(BUCKET, key), iter(lines))
    body = raw.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == b"".join(lines)
    assert s3.calls["PutObject"] + s3.calls["Upload"] == 1
    assert s3.calls["Upload"] == (len(body) > limit)

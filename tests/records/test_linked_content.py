"""The client's side of linked content (facts §1): each job's input folder holds its JSONL and
the videos its records link. ``add_prompt(..., videos=[...])`` keeps the caller's URIs in the
batch's records; as each input file is uploaded, the videos are copied server-side into that
job's folder and the uploaded bodies point at the copies. Local Bedrock errors a record whose
video is outside its job's folder (its default), so these batches succeed only through the
copies; a video that cannot be copied refuses the submit before any job is created."""

from __future__ import annotations

import hashlib
import json
import tempfile
from typing import Any

import pytest

from bedrock_batch import ValidationError
from bedrock_batch._common._codec import encode_line
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._uploader._media import MEDIA_FOLDER, with_linked_content
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, job_on

NOVA_LITE = "amazon.nova-lite-v1:0"
CLIP = f"s3://{BUCKET}/videos/clip.mp4"
OTHER = f"s3://{BUCKET}/videos/other.mov"


def put_videos(local: LocalBedrock, *keys: str) -> None:
    s3 = local.session().client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"\x00\x00\x00\x18ftypmp42" + key.encode())


def uploaded_lines(local: LocalBedrock, folder: str) -> list[dict[str, Any]]:
    s3 = local.session().client("s3")
    prefix = folder.split("/", 3)[3]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
    lines = []
    for key in sorted(k for k in keys if k.endswith(".jsonl")):
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        lines += [json.loads(line) for line in body.splitlines()]
    return lines


def locations(body: Any) -> list[str]:
    if isinstance(body, dict):
        loc = body.get("s3Location")
        here = [loc["uri"]] if isinstance(loc, dict) else []
        return here + [u for v in body.values() for u in locations(v)]
    if isinstance(body, list):
        return [u for v in body for u in locations(v)]
    return []


def test_each_jobs_folder_holds_the_videos_its_records_link(local: LocalBedrock) -> None:
    job = job_on(local, NOVA_LITE)
    put_videos(local, "videos/clip.mp4", "videos/other.mov")
    for i in range(100):
        job.add_prompt(f"What happens in clip {i}?", max_tokens=100, videos=[CLIP if i % 2 else OTHER])  # fmt: skip
    plan = job.plan()
    results = job.run()
    assert results.counts["succeeded"] == 100, [r.error for r in results][:2]
    folder = plan.job_input_uri
    lines = uploaded_lines(local, folder)
    uris = {u for line in lines for u in locations(line["modelInput"])}
    assert len(uris) == 2 and all(u.startswith(f"{folder}{MEDIA_FOLDER}/") for u in uris)
    s3 = local.session().client("s3")
    for uri in uris:  # real copies: the same bytes as their sources
        copy = s3.get_object(Bucket=BUCKET, Key=uri.split("/", 3)[3])["Body"].read()
        assert copy.endswith(b"videos/clip.mp4") or copy.endswith(b"videos/other.mov")
    # the batch's own records keep the caller's URIs
    first = json.loads(next(job._records.store.iter_lines(0, 1)))["modelInput"]
    assert locations(first) == [OTHER]


def test_a_copy_already_there_is_not_made_again(local: LocalBedrock) -> None:
    """An upload interrupted and done again (a resumed submit) finds its copies in place."""
    put_videos(local, "videos/clip.mp4")
    s3 = S3Access(local.session().client("s3"))
    folder = S3Uri.parse(f"s3://{BUCKET}/in/x/runs/p000/")
    line = encode_line({"recordId": "r0", "modelInput": {"video": {"source": {"s3Location": {"uri": CLIP}}}}})  # fmt: skip
    results = []
    for _ in range(2):
        with tempfile.TemporaryFile() as fh:
            fh.write(line)
            fh.flush()
            size, sha = with_linked_content(s3, fh, folder, len(line), "x")
            fh.seek(0)
            results.append((size, sha, fh.read()))
    assert s3.calls["CopyObject"] == 1
    assert results[0] == results[1] and results[0][1] == hashlib.sha256(results[0][2]).hexdigest()
    assert f"{folder}{MEDIA_FOLDER}/".encode() in results[0][2]


def test_a_missing_video_refuses_the_submit_before_any_job(local: LocalBedrock) -> None:
    put_videos(local, "videos/clip.mp4")
    job = job_on(local, NOVA_LITE)
    for i in range(100):
        job.add_prompt(f"Clip {i}?", max_tokens=100, videos=[CLIP if i != 7 else f"s3://{BUCKET}/videos/gone.mp4"])  # fmt: skip
    with pytest.raises(ValidationError, match=r"gone\.mp4.*does not exist") as err:
        job.submit()
    assert err.value.problems[0].record_id == job._records.store.index.id_at(7)
    bedrock = local.session().client("bedrock")
    assert bedrock.list_model_invocation_jobs()["invocationJobSummaries"] == []


def test_a_video_in_another_bucket_is_refused_when_added(local: LocalBedrock) -> None:
    job = job_on(local, NOVA_LITE)
    with pytest.raises(ValidationError, match="input bucket"):
        job.add_prompt("Clip?", max_tokens=100, videos=["s3://another-bucket/clip.mp4"])


def test_records_without_linked_content_upload_unchanged(local: LocalBedrock) -> None:
    job = job_on(local, NOVA_LITE)
    for i in range(100):
        job.add_prompt(f"Question {i}?", max_tokens=100)
    plan = job.plan()
    job.submit()
    stored = b"".join(job._records.store.iter_lines())
    assert [json.dumps(x) for x in uploaded_lines(local, plan.job_input_uri)] == [
        json.dumps(json.loads(line)) for line in stored.splitlines()
    ]


def test_a_retry_job_gets_its_own_copies() -> None:
    """A retry's inputs are read back from the first job's files (pointing at its copies) and
    copied again into the retry's own folder, where Local Bedrock requires them."""
    from bedrock_batch.local import Faults, Quotas

    quotas = Quotas(min_records_per_job=5)
    failing = {f"r{i:02d}" for i in range(5)}
    with LocalBedrock(clock="manual", default_quotas=quotas, faults=Faults(record_error_ids=failing)) as lb:  # fmt: skip
        put_videos(lb, "videos/clip.mp4")
        job = job_on(lb, NOVA_LITE, quotas=quotas)
        for i in range(10):
            job.add_prompt(f"Clip {i}?", max_tokens=100, videos=[CLIP], record_id=f"r{i:02d}")
        job.submit()
        job.wait(raise_on_failure=False)
        assert job.results().counts["errored"] == 5
        lb.backend.faults.record_error_ids = frozenset()
        assert job.retry(mode="batch", include_non_retryable=True) == 5
        job.wait()
        results = job.results()
        assert results.counts["succeeded"] == 10
        retry_folder = job.ledger.attempts[1].jobs[0].input_uri  # type: ignore[union-attr]
        uris = {u for line in uploaded_lines(lb, retry_folder) for u in locations(line["modelInput"])}  # fmt: skip
        assert len(uris) == 1 and next(iter(uris)).startswith(f"{retry_folder}{MEDIA_FOLDER}/")

"""Building and uploading a batch, each case in its own process (``run.py`` runs them).

Cases:
  per-record  ``add_prompt`` / ``add_records`` / ``add_jsonl`` of N Claude records, full
              validation: CPU microseconds per record (no network).
  ours        ``add_prompt`` x N then ``submit()`` (shard, content-address, upload, create the
              job) against a Local Bedrock server: CPU, wall, peak RSS; prints the state URI.
  naive       the seed's way: ``json.dumps`` per record into a file, then ``upload_file``.
  floor       the physical floor: a ready file of the same bytes sent by a bare ``upload_file``
              and by a bare ``put_object``.
  idle        the process floor: boto3 and bedrock_batch imported, clients made.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
from typing import Any

from _common import CREDS, HAIKU, ROLE, Clock, claude_body, client, emit, measured, prompt, rss_mib

BIG = {"max_records_per_job": 10**7, "max_records_per_file": 10**7, "max_job_bytes": 10**12}


def make_job(url: str | None, bucket: str) -> Any:
    from bedrock_batch import BatchJob, PollConfig, Quotas

    kwargs: dict[str, Any] = {}
    if url is not None:
        kwargs = {"bedrock_client": client(url, "bedrock"), "s3_client": client(url, "s3")}
    else:
        import boto3

        kwargs = {"session": boto3.session.Session(**CREDS)}
    return BatchJob(
        HAIKU,
        ROLE,
        f"s3://{bucket}/in/",
        f"s3://{bucket}/out/",
        quotas=Quotas(**BIG),
        poll=PollConfig(initial=0.2, max_interval=1.0, jitter=0),
        **kwargs,
    )


def per_record(api: str, n: int) -> dict[str, Any]:
    job = make_job(None, "bench")
    if api == "add_prompt":
        clock = Clock()
        for i in range(n):
            job.add_prompt(prompt(i), max_tokens=300)
    elif api == "add_records":
        bodies = [{"modelInput": claude_body(i)} for i in range(n)]
        clock = Clock()
        job.add_records(bodies)
    elif api == "add_jsonl":
        data = b"".join(
            json.dumps(
                {"recordId": f"R{i:09d}", "modelInput": claude_body(i)}, ensure_ascii=False
            ).encode()
            + b"\n"
            for i in range(n)
        )
        clock = Clock()
        job.add_jsonl(io.BytesIO(data))
    else:
        raise SystemExit(f"unknown api {api}")
    cpu, wall = clock.lap()
    assert len(job) == n
    job.close()
    return {"us_per_record": cpu / n * 1e6, "cpu_s": cpu, "wall_s": wall, "rss_mib": rss_mib()}


def ours(url: str, n: int, bucket: str) -> dict[str, Any]:
    client(url, "s3").create_bucket(Bucket=bucket)
    state: list[str] = []

    def go() -> None:
        job = make_job(url, bucket)
        for i in range(n):
            job.add_prompt(prompt(i), max_tokens=300)
        job.submit()
        state.append(job.state_uri)
        job.close()

    figures = measured(go)
    return {**figures, "state_uri": state[0]}


def naive_file(n: int) -> str:
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
        for i in range(n):
            line = {"recordId": f"R{i:010d}", "modelInput": claude_body(i)}
            fh.write((json.dumps(line, ensure_ascii=False) + "\n").encode())
    return fh.name


def naive(url: str, n: int, bucket: str) -> dict[str, Any]:
    s3 = client(url, "s3")
    s3.create_bucket(Bucket=bucket)

    def go() -> None:
        path = naive_file(n)
        try:
            s3.upload_file(path, bucket, f"raw/{time.time_ns()}.jsonl")
        finally:
            os.unlink(path)

    return measured(go)


def floor(url: str, n: int, bucket: str) -> dict[str, Any]:
    s3 = client(url, "s3")
    s3.create_bucket(Bucket=bucket)
    path = naive_file(n)
    try:
        clock = Clock()
        s3.upload_file(path, bucket, "floor/upload_file.jsonl")
        upload = clock.lap()
        with open(path, "rb") as fh:
            data = fh.read()
        clock.lap()
        s3.put_object(Bucket=bucket, Key="floor/put_object.jsonl", Body=data)
        put = clock.lap()
    finally:
        os.unlink(path)
    return {
        "upload_file_wall_s": upload[1],
        "put_object_wall_s": put[1],
        "bytes": len(data),
    }


def idle(url: str | None) -> dict[str, Any]:
    import bedrock_batch  # noqa: F401

    if url:
        for name in ("s3", "bedrock"):
            client(url, name)
    make_job(url, "idle")
    return {"rss_mib": rss_mib()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["per-record", "ours", "naive", "floor", "idle"])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--api", default="add_prompt")
    ap.add_argument("--endpoint")
    ap.add_argument("--bucket", default=f"bench-{time.time_ns() % 10**12}")
    args = ap.parse_args()
    if args.case == "per-record":
        emit(per_record(args.api, args.records))
    elif args.case == "ours":
        emit(ours(args.endpoint, args.records, args.bucket))
    elif args.case == "naive":
        emit(naive(args.endpoint, args.records, args.bucket))
    elif args.case == "floor":
        emit(floor(args.endpoint, args.records, args.bucket))
    else:
        emit(idle(args.endpoint))


if __name__ == "__main__":
    main()

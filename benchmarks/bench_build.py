"""Building and uploading a batch, each case in its own process (``run.py`` runs them).

Cases:
  per-record  ``add_prompt`` / ``add_records`` / ``add_jsonl`` of N Claude records, full
              validation: CPU microseconds per record (no network); ``--ids`` default (none
              given) or explicit (``R00000001``, ``R00000002``, ...).
  template    the per-record floor: each line from a byte template and the escaped prompt.
  ours        ``add_prompt`` x N then ``submit()`` (shard, content-address, upload, create the
              job) against a Local Bedrock server: CPU, wall, peak RSS, the calls it made;
              ``--ids`` default, sequential (explicit, counting) or random (explicit).
  naive       the seed's way: ``json.dumps`` per record into a file, then ``upload_file``.
  careful     a careful hand-written script: a byte template per line, one ``put_object``.
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
from collections.abc import Iterator
from typing import Any

from _common import CREDS, HAIKU, ROLE, Clock, claude_body, client, emit, measured, prompt, rss_mib

BIG = {"max_records_per_job": 10**7, "max_records_per_file": 10**7, "max_job_bytes": 10**12}


def make_job(url: str | None, bucket: str, clients: dict[str, Any] | None = None) -> Any:
    from bedrock_batch import BatchJob, PollConfig, Quotas

    kwargs: dict[str, Any] = {}
    if clients is not None:
        kwargs = {"bedrock_client": clients["bedrock"], "s3_client": clients["s3"]}
    elif url is not None:
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


def explicit_id(i: int, ids: str) -> str | None:
    """The record id of record ``i``: None (generated), counting, or random-looking."""
    if ids == "default":
        return None
    if ids == "random":
        return f"{(i * 0x9E3779B97F4A7C15) % 2**64:016x}"  # distinct, no order, no runs
    return f"R{i + 1:08d}"


def per_record(api: str, n: int, ids: str) -> dict[str, Any]:
    job = make_job(None, "bench")
    if api == "add_prompt":
        clock = Clock()
        for i in range(n):
            job.add_prompt(prompt(i), max_tokens=300, record_id=explicit_id(i, ids))
    elif api == "add_records":
        bodies = []
        for i in range(n):
            rec: dict[str, Any] = {"modelInput": claude_body(i)}
            rid = explicit_id(i, ids)
            if rid is not None:
                rec["recordId"] = rid
            bodies.append(rec)
        clock = Clock()
        job.add_records(bodies)
    elif api == "add_jsonl":
        lines = []
        for i in range(n):
            rid = explicit_id(i, ids)
            line = {"modelInput": claude_body(i)} if rid is None else {"recordId": rid, "modelInput": claude_body(i)}  # fmt: skip
            lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")  # fmt: skip
        data = b"".join(lines)
        del lines
        clock = Clock()
        job.add_jsonl(io.BytesIO(data))
    else:
        raise SystemExit(f"unknown api {api}")
    cpu, wall = clock.lap()
    assert len(job) == n
    job.close()
    return {"us_per_record": cpu / n * 1e6, "cpu_s": cpu, "wall_s": wall, "rss_mib": rss_mib()}


def template_lines(n: int) -> Iterator[bytes]:
    """Claude lines from a byte template and the escaped prompt (the hand-written floor)."""
    from json.encoder import encode_basestring

    head = b'{"recordId":"R'
    middle = b'","modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":300,"messages":[{"role":"user","content":[{"type":"text","text":'  # fmt: skip
    tail = b"}]}]}}\n"
    for i in range(n):
        yield b"".join((head, b"%010d" % i, middle, encode_basestring(prompt(i)).encode(), tail))  # fmt: skip


def template(n: int) -> dict[str, Any]:
    clock = Clock()
    size = sum(len(line) for line in template_lines(n))
    cpu, wall = clock.lap()
    return {"us_per_record": cpu / n * 1e6, "cpu_s": cpu, "wall_s": wall, "bytes": size}


def ours(url: str, n: int, bucket: str, ids: str = "default") -> dict[str, Any]:
    import bedrock_batch  # noqa: F401  (imported before the clock, as the baselines' json is)

    clients = {"s3": client(url, "s3"), "bedrock": client(url, "bedrock")}
    clients["s3"].create_bucket(Bucket=bucket)
    out: dict[str, Any] = {}

    def go() -> None:  # clients made before the clock starts, as the baselines' are
        job = make_job(url, bucket, clients)
        for i in range(n):
            job.add_prompt(prompt(i), max_tokens=300, record_id=explicit_id(i, ids))
        job.submit()
        out["state_uri"] = job.state_uri
        assert job._batch is not None
        out["s3_calls"] = dict(job._batch.store.s3.calls)
        out["control_calls"] = dict(job.calls)
        job.close()

    figures = measured(go)
    return {**figures, **out}


def careful(url: str, n: int, bucket: str) -> dict[str, Any]:
    s3 = client(url, "s3")
    s3.create_bucket(Bucket=bucket)

    def go() -> None:
        data = b"".join(template_lines(n))
        s3.put_object(Bucket=bucket, Key=f"careful/{time.time_ns()}.jsonl", Body=data)

    return measured(go)


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
    ap.add_argument("case", choices=["per-record", "template", "ours", "naive", "careful", "floor", "idle"])  # fmt: skip
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--api", default="add_prompt")
    ap.add_argument("--ids", default="default", choices=["default", "explicit", "sequential", "random"])  # fmt: skip
    ap.add_argument("--endpoint")
    ap.add_argument("--bucket", default=f"bench-{time.time_ns() % 10**12}")
    args = ap.parse_args()
    if args.case == "per-record":
        emit(per_record(args.api, args.records, args.ids))
    elif args.case == "template":
        emit(template(args.records))
    elif args.case == "ours":
        emit(ours(args.endpoint, args.records, args.bucket, args.ids))
    elif args.case == "naive":
        emit(naive(args.endpoint, args.records, args.bucket))
    elif args.case == "careful":
        emit(careful(args.endpoint, args.records, args.bucket))
    elif args.case == "floor":
        emit(floor(args.endpoint, args.records, args.bucket))
    else:
        emit(idle(args.endpoint))


if __name__ == "__main__":
    main()

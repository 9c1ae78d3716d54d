"""Reading a finished batch, each case in its own process (``run.py`` runs them).

Cases:
  prepare   build, submit and wait for N Claude records (Local Bedrock server); prints the
            batch's state URI and its jobs' output folder.
  ours      ``BatchJob.attach(state_uri).results()``: read + join every record by recordId,
            touching ids and status only (``--touch status``) or reading text and usage.
  naive     download every output file, ``json.loads`` each line, join by a dict of ids.
  arrow     ``results().to_arrow()``: peak RSS against the table's own size.
  pandas    ``results().to_pandas()``: the same for the DataFrame.
  batches   ``iter_arrow_batches()`` consumed and dropped: peak RSS (flat in N).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from _common import Clock, client, emit, measured, prompt, rss_mib


def attach(url: str, state_uri: str) -> Any:
    from bedrock_batch import BatchJob

    return BatchJob.attach(state_uri, bedrock_client=client(url, "bedrock"), s3_client=client(url, "s3"))  # fmt: skip


def prepare(url: str, n: int, bucket: str) -> dict[str, Any]:
    from bench_build import make_job

    client(url, "s3").create_bucket(Bucket=bucket)
    job = make_job(url, bucket)
    for i in range(n):
        job.add_prompt(prompt(i), max_tokens=300)
    job.submit()
    job.wait()
    job_id = (job.job_arn or "").rsplit("/", 1)[1]
    return {"state_uri": job.state_uri, "bucket": bucket, "prefix": f"out/{job_id}/"}


def ours(url: str, state_uri: str, n: int, touch: str = "status") -> dict[str, Any]:
    """Iterate the results touching ids and status only, or reading text and usage too."""
    job = attach(url, state_uri)
    got: list[int] = []

    def go() -> None:
        count = 0
        for r in job.results():
            if touch == "text":
                count += r.text is not None and r.usage.input_tokens >= 0 and bool(r.record_id)
            else:
                count += r.status == "succeeded" and bool(r.record_id)
        got.append(count)

    figures = measured(go)
    assert got[0] == n, got
    return figures


def naive(url: str, bucket: str, prefix: str, n: int) -> dict[str, Any]:
    s3 = client(url, "s3")
    got: list[int] = []

    def go() -> None:
        where = {f"R{i:010d}": i for i in range(n)}  # the ids the batch was built with
        joined: list[Any] = [None] * n
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
            if obj["Key"].endswith(".jsonl.out"):
                data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                for line in data.split(b"\n"):
                    if line:
                        answer = json.loads(line)
                        joined[where[answer["recordId"]]] = answer
        got.append(sum(a is not None and "modelOutput" in a for a in joined))

    figures = measured(go)
    assert got[0] == n, got
    return figures


def frame(url: str, state_uri: str, n: int, kind: str) -> dict[str, Any]:
    import pandas  # noqa: F401  (the libraries' own footprint is not the conversion's)
    import pyarrow  # noqa: F401

    job = attach(url, state_uri)
    before = rss_mib()
    clock = Clock()
    if kind == "arrow":
        table = job.results().to_arrow()
        size = table.nbytes
        rows = table.num_rows
    elif kind == "pandas":
        df = job.results().to_pandas()
        size = int(df.memory_usage(deep=True).sum())
        rows = len(df)
    else:  # batches, dropped as they come: nothing should accumulate
        size = rows = 0
        for batch in job.results().iter_arrow_batches():
            rows += batch.num_rows
            size = max(size, batch.nbytes)
    cpu, wall = clock.lap()
    assert rows == n, rows
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "rss_mib": rss_mib(),
        "rss_before_mib": before,
        "data_mib": size / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["prepare", "ours", "naive", "arrow", "pandas", "batches"])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--state-uri")
    ap.add_argument("--bucket", default="bench-read")
    ap.add_argument("--prefix")
    ap.add_argument("--touch", default="status", choices=["status", "text"])
    args = ap.parse_args()
    if args.case == "prepare":
        emit(prepare(args.endpoint, args.records, args.bucket))
    elif args.case == "ours":
        emit(ours(args.endpoint, args.state_uri, args.records, args.touch))
    elif args.case == "naive":
        emit(naive(args.endpoint, args.bucket, args.prefix, args.records))
    else:
        emit(frame(args.endpoint, args.state_uri, args.records, args.case))


if __name__ == "__main__":
    main()

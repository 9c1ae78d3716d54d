"""Reading a finished batch, each case in its own process (``run.py`` runs them).

Cases:
  prepare   build, submit and wait for N Claude records (Local Bedrock server); prints the
            batch's state URI and its jobs' output folder.
  ours      ``BatchJob.attach(state_uri).results()``: read + join every record by recordId;
            ``--touch ids`` reads each result's id and status only, ``--touch text`` its
            text and usage too.
  naive     download every output file, ``json.loads`` each line and join them in a dict by
            recordId (``--touch text``: read each record's text and usage from the dict too).
  scan      µs per output line of each way of finding a line's recordId and status, on the
            batch's own lines, in this process (``json.loads``, ``orjson.loads``, the msgspec
            typed decode, the byte scan): no download.
  compare   the whole comparison, interleaved: a Local Bedrock server, a batch of N, then
            rounds of (naive, ours ids, ours text) per codec, each case in a fresh process,
            A B A B; medians of wall and CPU seconds, and the ratios to naive.
  arrow     ``results().to_arrow()``: peak RSS against the table's own size.
  pandas    ``results().to_pandas()``: the same for the DataFrame.
  batches   ``iter_arrow_batches()`` consumed and dropped: peak RSS (flat in N).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

from _common import Clock, client, emit, measured, prompt, rss_mib, run_case, server


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


def ours(url: str, state_uri: str, n: int, touch: str = "ids") -> dict[str, Any]:
    job = attach(url, state_uri)
    got: list[int] = []

    def go() -> None:
        count = 0
        tokens = 0
        for r in job.results():
            if r.status == "succeeded" and r.record_id:
                count += 1
                if touch == "text":
                    tokens += r.usage.output_tokens + len(r.text or "")
        got.append(count)

    figures = measured(go)
    assert got[0] == n, got
    return figures


def naive(url: str, bucket: str, prefix: str, n: int, touch: str = "ids") -> dict[str, Any]:
    s3 = client(url, "s3")
    got: list[int] = []

    def go() -> None:
        by_id: dict[str, Any] = {}
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
            if obj["Key"].endswith(".jsonl.out"):
                data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                for line in data.split(b"\n"):
                    if line:
                        record = json.loads(line)
                        by_id[record["recordId"]] = record
        count = tokens = 0
        for record in by_id.values():
            if "modelOutput" in record:
                count += 1
                if touch == "text":
                    out = record["modelOutput"]
                    tokens += out["usage"]["output_tokens"] + len(out["content"][0]["text"])
        got.append(count)

    figures = measured(go)
    assert got[0] == n, got
    return figures


def scan_costs(url: str, bucket: str, prefix: str, limit: int = 50_000) -> dict[str, Any]:
    """µs per line of each way to find a line's recordId and status (no download timed)."""
    from bedrock_batch._common import _codec
    from bedrock_batch._reader import _scan

    s3 = client(url, "s3")
    lines: list[bytes] = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        if obj["Key"].endswith(".jsonl.out"):
            data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines += [line for line in data.split(b"\n") if line][: limit - len(lines)]
    ways: dict[str, Any] = {"json.loads": json.loads, "codec decode": _codec.decode}
    try:
        import orjson

        ways["orjson.loads"] = orjson.loads
    except ImportError:
        pass
    typed = _scan._msgspec_scanner()
    if typed is not None:
        ways["msgspec typed decode"] = typed
    ways["byte scan"] = _scan.scan_bytes
    out: dict[str, Any] = {"lines": len(lines), "bytes_per_line": sum(map(len, lines)) // max(1, len(lines))}  # fmt: skip
    for name, fn in ways.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for line in lines:
                fn(line)
            best = min(best, time.perf_counter() - start)
        out[f"{name} us"] = round(best / len(lines) * 1e6, 3)
    return out


def compare(n: int, rounds: int, codecs: list[str], before: str | None = None) -> None:
    """Interleaved rounds, each case in a fresh process; prints medians and ratios."""
    quotas = ["--max-records-per-job", str(10**7), "--max-records-per-file", str(10**7)]
    with server("--time-scale", "100000", *quotas) as url:
        read = ["--endpoint", url]
        prep = run_case("bench_read.py", "prepare", *read, "--records", str(n), "--bucket", "cmp")
        where = ["--bucket", prep["bucket"], "--prefix", prep["prefix"], "--records", str(n)]
        cases: list[tuple[str, list[str], dict[str, str]]] = []
        for touch in ("ids", "text"):
            cases.append((f"naive {touch}", ["naive", *where, "--touch", touch], {}))
            for codec in codecs:
                env = {"BEDROCK_BATCH_JSON": codec}
                args = ["ours", "--state-uri", prep["state_uri"], "--records", str(n), "--touch", touch]  # fmt: skip
                cases.append((f"ours {touch} {codec}", args, env))
                if before:  # the same case on another checkout of the library
                    cases.append((f"before {touch} {codec}", args, {**env, "PYTHONPATH": before}))
        got: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in cases}
        for r in range(rounds):
            for name, args, env in cases:
                got[name].append(run_case("bench_read.py", *args, *read, env=env))
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
        for codec in codecs:
            env = {"BEDROCK_BATCH_JSON": codec}
            costs = run_case("bench_read.py", "scan", *read, *where, env=env)
            print(f"scan, codec {codec}: {json.dumps(costs)}")
    med = {name: {k: statistics.median(x[k] for x in runs) for k in ("wall_s", "cpu_s")} for name, runs in got.items()}  # fmt: skip
    spread = {name: (min(x["wall_s"] for x in runs), max(x["wall_s"] for x in runs)) for name, runs in got.items()}  # fmt: skip
    print(f"{n:,} records, {rounds} interleaved rounds, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'case':22} {'wall s':>8} {'cpu s':>8} {'wall range':>14} {'wall/naive':>11} {'cpu/naive':>10}"
    )
    for name, m in med.items():
        base = med["naive " + name.split()[1]]
        lo, hi = spread[name]
        print(f"{name:22} {m['wall_s']:8.2f} {m['cpu_s']:8.2f} {lo:6.2f}-{hi:<7.2f} {m['wall_s'] / base['wall_s']:11.2f} {m['cpu_s'] / base['cpu_s']:10.2f}")  # fmt: skip


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
    ap.add_argument("case", choices=["prepare", "ours", "naive", "scan", "compare", "arrow", "pandas", "batches"])  # fmt: skip
    ap.add_argument("--endpoint")
    ap.add_argument("--touch", choices=["ids", "text"], default="ids")
    ap.add_argument("--rounds", type=int, default=5, help="compare: interleaved rounds")
    ap.add_argument("--codecs", default="json,orjson", help="compare: codecs of ours")
    ap.add_argument("--before", help="compare: also run ours from this checkout (PYTHONPATH)")
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--state-uri")
    ap.add_argument("--bucket", default="bench-read")
    ap.add_argument("--prefix")
    args = ap.parse_args()
    if args.case == "prepare":
        emit(prepare(args.endpoint, args.records, args.bucket))
    elif args.case == "ours":
        emit(ours(args.endpoint, args.state_uri, args.records, args.touch))
    elif args.case == "naive":
        emit(naive(args.endpoint, args.bucket, args.prefix, args.records, args.touch))
    elif args.case == "scan":
        emit(scan_costs(args.endpoint, args.bucket, args.prefix))
    elif args.case == "compare":
        compare(args.records, args.rounds, args.codecs.split(","), args.before)
    else:
        emit(frame(args.endpoint, args.state_uri, args.records, args.case))


if __name__ == "__main__":
    main()

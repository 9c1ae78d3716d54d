"""Run every benchmark and print each goal's figure beside its baseline, for each JSON codec.

    python benchmarks/run.py            # 200k records, the 1M campaign, codecs json and orjson
    python benchmarks/run.py --quick    # 10x smaller
    python benchmarks/run.py --big      # adds building and reading 1M records

Every case runs in a fresh process (CPU of that process, no tracing; peak RSS per process) and
every time is set against a raw baseline measured in the same run. The table goes to
``benchmarks/results/latest.md`` (and ``.json``). Nothing here is a test: nothing asserts on
time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from typing import Any

from _common import run_case, server

HERE = os.path.dirname(os.path.abspath(__file__))


class Table:
    """Goals as rows, codecs as columns."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def put(self, goal: str, codec: str, value: Any, target: str, baseline: str = "") -> None:
        row = self.rows.setdefault(goal, {"target": target, "baseline": ""})
        row[codec] = value
        if baseline:
            row["baseline"] = baseline

    def markdown(self, columns: list[str]) -> str:
        head = ["goal", *columns, "target", "baseline (same run)"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for goal, row in self.rows.items():
            cells = [goal, *(str(row.get(c, "")) for c in columns), row["target"], row["baseline"]]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def available(codecs: list[str]) -> list[str]:
    out = []
    for name in codecs:
        try:
            if name != "json":
                __import__(name)
        except ImportError:
            print(f"(codec {name} is not installed: skipped)", file=sys.stderr)
        else:
            out.append(name)
    return out


class Bench:
    """The cases of one run: two Local Bedrock servers (builds on one whose jobs stay
    Submitted, so no record processing competes for the cores; reads on one that answers at
    once)."""

    def __init__(self, args: argparse.Namespace, build_url: str, read_url: str) -> None:
        scale = 10 if args.quick else 1
        self.n, self.small, self.million = 200_000 // scale, 50_000 // scale, 1_000_000 // scale
        self.runs = args.runs
        self.big = args.big
        self.build = ["--endpoint", build_url]
        self.read = ["--endpoint", read_url]
        self.table = Table()

    def case(self, script: str, *args: str, codec: str | None = None) -> dict[str, Any]:
        return run_case(script, *args, env={"BEDROCK_BATCH_JSON": codec} if codec else None)

    def repeated(self, script: str, *args: str, codec: str | None = None) -> list[dict[str, Any]]:
        return [self.case(script, *args, codec=codec) for _ in range(self.runs)]

    def prepare(self) -> None:
        n, put = str(self.n), self.table.put
        self.floor = self.case("bench_build.py", "floor", "--records", n, *self.build)
        self.idle = self.case("bench_build.py", "idle", *self.build)
        prep = ["bench_read.py", "prepare", *self.read]
        self.batches = {self.n: self.case(*prep, "--records", n, "--bucket", "read-n")}
        self.batches[self.small] = self.case(*prep, "--records", str(self.small), "--bucket", "read-s")  # fmt: skip
        if self.big:
            self.batches[self.million] = self.case(*prep, "--records", str(self.million), "--bucket", "read-m")  # fmt: skip
        put("process floor: boto3 + bedrock_batch imported, clients made: RSS MiB", "any", round(self.idle["rss_mib"]), "")  # fmt: skip

    def building(self, codec: str) -> None:
        n, put = self.n, self.table.put
        for api in ("add_prompt", "add_records", "add_jsonl"):
            got = self.repeated("bench_build.py", "per-record", "--api", api, "--records", str(n), codec=codec)  # fmt: skip
            put(f"{api}: µs per Claude record, fully checked", codec, round(median(got, "us_per_record"), 2), "≤ 3")  # fmt: skip
        ours = self.repeated(
            "bench_build.py", "ours", "--records", str(n), *self.build, codec=codec
        )
        naive = self.repeated("bench_build.py", "naive", "--records", str(n), *self.build)
        ours_s, naive_s = median(ours, "wall_s"), median(naive, "wall_s")
        floor = f"upload_file {self.floor['upload_file_wall_s']:.2f} s, put_object {self.floor['put_object_wall_s']:.2f} s"  # fmt: skip
        put(f"build+shard+upload {n:,}: time / naive", codec, round(ours_s / naive_s, 2), "≤ 0.7",
            f"naive {naive_s:.2f} s (ours {ours_s:.2f} s; floor: {floor})")  # fmt: skip
        put(f"build+submit {n:,}: peak RSS MiB", codec, round(max(o["rss_mib"] for o in ours)), "≤ 120",
            f"naive script {max(o['rss_mib'] for o in naive):.0f}")  # fmt: skip
        big = self.case("bench_build.py", "ours", "--records", str(self.million), *self.build, codec=codec)  # fmt: skip
        put(f"build+submit {self.million:,}: peak RSS MiB", codec, round(big["rss_mib"]), "≤ 120, flat")  # fmt: skip

    def reading(self, codec: str) -> None:
        n, put, prep = self.n, self.table.put, self.batches[self.n]
        args = ["--state-uri", prep["state_uri"], "--records", str(n), *self.read]
        ours = self.repeated("bench_read.py", "ours", *args, codec=codec)
        naive = self.repeated("bench_read.py", "naive", "--bucket", prep["bucket"], "--prefix", prep["prefix"], "--records", str(n), *self.read)  # fmt: skip
        ours_s, naive_s = median(ours, "wall_s"), median(naive, "wall_s")
        put(f"read+join {n:,}: time / naive", codec, round(ours_s / naive_s, 2), "≤ 0.2",
            f"download+json.loads {naive_s:.2f} s (ours {ours_s:.2f} s)")  # fmt: skip
        for size, batch in sorted(self.batches.items()):
            got = self.case("bench_read.py", "ours", "--state-uri", batch["state_uri"], "--records", str(size), *self.read, codec=codec)  # fmt: skip
            put(f"read+join {size:,}: peak RSS MiB", codec, round(got["rss_mib"]), "flat",
                f"naive {max(o['rss_mib'] for o in naive):.0f} at {n:,}" if size == n else "")  # fmt: skip
        for kind in ("arrow", "pandas"):
            got = self.case("bench_read.py", kind, *args, codec=codec)
            grown = got["rss_mib"] - got["rss_before_mib"]
            put(f"to_{kind}() {n:,}: RSS growth / its data", codec, round(grown / got["data_mib"], 2), "≤ 1.3",
                f"data {got['data_mib']:.0f} MiB; RSS {got['rss_before_mib']:.0f} → {got['rss_mib']:.0f} MiB")  # fmt: skip
        got = self.case("bench_read.py", "batches", *args, codec=codec)
        put(f"iter_arrow_batches() {n:,}: RSS growth MiB", codec, round(got["rss_mib"] - got["rss_before_mib"]), "flat")  # fmt: skip

    def campaign(self, codec: str) -> None:
        million, put = self.million, self.table.put
        got = self.case("bench_many_jobs.py", "--records", str(million), "--per-job", str(million // 20), codec=codec)  # fmt: skip
        phases = " / ".join(f"{k} {got[f'cpu_{k}_s']:.1f}" for k in ("build", "submit", "wait", "read"))  # fmt: skip
        put(f"campaign {million:,} records, {got['jobs']} jobs: client CPU s", codec, round(got["cpu_total_s"], 1), "≤ 15", phases)  # fmt: skip
        put(f"campaign {million:,}: peak RSS MiB", codec, round(got["rss_mib"]), "≤ 150",
            f"{got['list_calls_waiting']} List and {got['get_calls_waiting']} Get calls waiting")  # fmt: skip

    def importing(self) -> None:
        got, put = self.case("bench_import.py"), self.table.put
        put("import bedrock_batch: ms added to import boto3", "any", round(got["added_ms"], 1), "≤ 50",
            f"boto3 {got['boto3_ms']:.0f} ms; first BatchJob use +{got['added_first_use_ms']:.0f} ms")  # fmt: skip
        put("bedrock-batch --help imports boto3", "any", "yes" if got["help_imports_boto3"] else "no", "no")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="10x smaller sizes")
    ap.add_argument("--big", action="store_true", help="also build and read 1M records")
    ap.add_argument("--codecs", default="json,orjson", help="json, orjson, msgspec (comma-separated)")  # fmt: skip
    ap.add_argument("--runs", type=int, default=3, help="runs per timed case (median)")
    ap.add_argument("--no-campaign", action="store_true", help="skip the 1M-record campaign")
    args = ap.parse_args()
    codecs = available(args.codecs.split(","))
    quotas = ["--max-records-per-job", str(10**7), "--max-records-per-file", str(10**7)]
    with server("--time-scale", "1", *quotas) as build_url, server("--time-scale", "100000", *quotas) as read_url:  # fmt: skip
        bench = Bench(args, build_url, read_url)
        bench.prepare()
        for codec in codecs:
            print(f"== codec {codec}", flush=True)
            bench.building(codec)
            bench.reading(codec)
    if not args.no_campaign:
        for codec in codecs:
            print(f"== campaign, codec {codec}", flush=True)
            bench.campaign(codec)
    bench.importing()
    text = bench.table.markdown([*codecs, "any"])
    stamp = f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, {os.cpu_count()} cores"  # fmt: skip
    text += f"\n\n_{stamp}: `python benchmarks/run.py {' '.join(sys.argv[1:])}`_\n"
    print("\n" + text)
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(out, "latest.json"), "w") as fh:
        json.dump(bench.table.rows, fh, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()

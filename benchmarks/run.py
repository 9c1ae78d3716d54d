"""Run the benchmarks round by round and print each goal's figure beside its same-run baseline,
for each JSON codec.

    nice python benchmarks/run.py                 # 200k / 100k records, 3 rounds (minutes)
    python benchmarks/run.py --quick              # 10x smaller
    python benchmarks/run.py --records 500000 --rounds 5 --big

**Interleaved.** Each round runs every timed case once, ours and its baselines one after the
other (A B A B ...), each in a fresh process, so a change in the machine's load hits both sides
of a ratio alike. A ratio is the median over rounds of the per-round ratio; the spread
(min-max over rounds) is printed beside it. **CPU beside wall.** Each case reports its own
process's CPU time; the Local Bedrock server runs in another process and its CPU time during the
case is read from ``/proc/<pid>/stat``, so client and server CPU are separate. **Both codecs.**
Our cases run once per codec (``BEDROCK_BATCH_JSON=json`` forces the standard library even
where orjson is installed); the baselines use the standard library. The machine's load average
is printed at the start and the end. The table goes to ``benchmarks/results/latest.md`` (and
``.json``). Nothing here is a test: nothing asserts on time.
"""

# ruff: noqa: E501, RUF001
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from typing import Any

from _common import SERVER_PIDS, proc_cpu, run_case, server

HERE = os.path.dirname(os.path.abspath(__file__))

#: Why each call of one ``submit()`` is made (printed beside the counts the ``ours`` case saw).
CALL_REASONS = {
    "GetObject": "ledger reads: the ledger (and version 0.1's place) before planning, and "
    "again before each change is fenced by its ETag",
    "PutObject": "index.jsonl, one per input file (up to 64 MiB), and the ledger's writes "
    "(created; uploaded; creating; created): each state is stored before it is acted on",
    "HeadObject": "one per uploaded object: identical content already there is not sent again "
    "(a resumed submit uploads nothing)",
    "Upload": "files over the single-PUT threshold (boto3 multipart)",
    "CreateModelInvocationJob": "one per Bedrock job",
    "GetModelInvocationJob": "the status submit() returns",
    "ListServiceQuotas": "the model's quotas (not made when quotas are given)",
}


def spread(values: list[float], digits: int = 2) -> str:
    """``median (min-max)``."""
    if not values:
        return ""
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


class Table:
    """Goals as rows, codecs as columns."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def put(self, goal: str, codec: str, value: Any, target: str, baseline: str = "") -> None:
        row = self.rows.setdefault(goal, {"target": target, "baseline": ""})
        row[codec] = value
        if baseline:
            row["baseline"] = f"{row['baseline']}; {codec}: {baseline}" if row["baseline"] and codec != "any" else baseline  # fmt: skip

    def markdown(self, columns: list[str]) -> str:
        head = ["goal", *columns, "target", "baseline and detail (same run)"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for goal, row in self.rows.items():
            cells = [goal, *(str(row.get(c, "")) for c in columns), row["target"], row["baseline"]]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


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


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


class Bench:
    """The cases of one run against two Local Bedrock servers: builds on one whose jobs stay
    Submitted (no record processing competes for the cores), reads on one that answers at once."""

    def __init__(self, args: argparse.Namespace, build_url: str, read_url: str, codecs: list[str]) -> None:  # fmt: skip
        scale = 10 if args.quick else 1
        self.n = args.records // scale
        self.small = args.small // scale
        self.per_record = args.per_record // scale
        self.campaign_n = (1_000_000 if args.big else args.campaign_records) // scale
        self.rounds = args.rounds
        self.codecs = codecs
        self.build_url, self.read_url = build_url, read_url
        self.table = Table()
        self.samples: dict[str, list[dict[str, Any]]] = {}
        self.log: list[str] = []

    # -- running one case ------------------------------------------------------------------

    def case(self, label: str, script: str, *args: str, codec: str | None = None, url: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Run one case in a fresh process; its figures, with the server's CPU during it."""
        pid = SERVER_PIDS.get(url or "")
        before = proc_cpu(pid) if pid else 0.0
        got = run_case(script, *args, env={"BEDROCK_BATCH_JSON": codec} if codec else None)
        if pid:
            got["server_cpu_s"] = proc_cpu(pid) - before
        self.samples.setdefault(label, []).append(got)
        print(f"  {label}: {({k: v for k, v in got.items() if isinstance(v, float)})}", flush=True)  # fmt: skip
        return got

    def values(self, label: str, key: str) -> list[float]:
        return [float(s[key]) for s in self.samples.get(label, []) if key in s]

    def ratios(self, ours: str, base: str, key: str = "wall_s") -> list[float]:
        a, b = self.values(ours, key), self.values(base, key)
        return [x / y for x, y in zip(a, b, strict=False) if y]

    # -- one round ---------------------------------------------------------------------------

    def round(self) -> None:
        n, small, per = str(self.n), str(self.small), str(self.per_record)
        build = ["--endpoint", self.build_url]
        for codec in self.codecs:
            for api in ("add_prompt", "add_records", "add_jsonl"):
                self.case(f"{api}/{codec}", "bench_build.py", "per-record", "--api", api, "--ids", "explicit", "--records", per, codec=codec)  # fmt: skip
        self.case("template", "bench_build.py", "template", "--records", per)
        for size in (n, small):
            for codec in self.codecs:  # A B A B: ours, then the baselines, per codec
                self.case(f"ours{size}/{codec}", "bench_build.py", "ours", "--records", size, *build, codec=codec, url=self.build_url)  # fmt: skip
                self.case(f"naive{size}/{codec}", "bench_build.py", "naive", "--records", size, *build, codec="json", url=self.build_url)  # fmt: skip
            self.case(f"careful{size}", "bench_build.py", "careful", "--records", size, *build, url=self.build_url)  # fmt: skip
            self.case(f"floor{size}", "bench_build.py", "floor", "--records", size, *build, url=self.build_url)  # fmt: skip
        prep = self.prepared
        read = ["--records", n, "--endpoint", self.read_url]
        for codec in self.codecs:
            for touch in ("ids", "text"):
                self.case(f"read-{touch}/{codec}", "bench_read.py", "ours", "--state-uri", prep["state_uri"], "--touch", touch, *read, codec=codec, url=self.read_url)  # fmt: skip
                self.case(f"read-naive-{touch}/{codec}", "bench_read.py", "naive", "--bucket", prep["bucket"], "--prefix", prep["prefix"], "--touch", touch, *read, codec="json", url=self.read_url)  # fmt: skip

    def prepare(self) -> None:
        self.prepared = self.case("prepare", "bench_read.py", "prepare", "--records", str(self.n), "--bucket", "read-n", "--endpoint", self.read_url)  # fmt: skip
        self.idle = self.case("idle", "bench_build.py", "idle", "--endpoint", self.build_url)

    # -- once per run ------------------------------------------------------------------------

    # fmt: off
    def memory(self) -> None:
        put = self.table.put
        sizes = [self.n] + ([self.campaign_n] if self.campaign_n > self.n else [])
        for codec in self.codecs:
            for size in sizes:
                for ids in ("default", "sequential", "random"):
                    got = self.case(f"rss{size}-{ids}/{codec}", "bench_build.py", "ours", "--records", str(size), "--ids", ids, "--endpoint", self.build_url, codec=codec, url=self.build_url)
                    put(f"build+submit {size:,}, {ids} ids: peak RSS MiB", codec, round(got["rss_mib"]), "≤ 100 at 1M, flat",
                        f"process floor {self.idle['rss_mib']:.0f}")

    # fmt: on
    # fmt: off
    def frames(self) -> None:
        put, prep = self.table.put, self.prepared
        args = ["--state-uri", prep["state_uri"], "--records", str(self.n), "--endpoint", self.read_url]
        for codec in self.codecs:
            for kind in ("arrow", "pandas"):
                got = self.case(f"{kind}/{codec}", "bench_read.py", kind, *args, codec=codec)
                grown = got["rss_mib"] - got["rss_before_mib"]
                put(f"to_{kind}() {self.n:,}: RSS growth / its data", codec, round(grown / got["data_mib"], 2), "≤ 1.3",
                    f"data {got['data_mib']:.0f} MiB; RSS {got['rss_before_mib']:.0f} → {got['rss_mib']:.0f} MiB")

    # fmt: on
    # fmt: off
    def campaign(self) -> None:
        put, m = self.table.put, self.campaign_n
        for codec in self.codecs:
            got = self.case(f"campaign/{codec}", "bench_many_jobs.py", "--records", str(m), "--per-job", str(max(1, m // 20)), codec=codec)
            phases = " / ".join(f"{k} {got[f'cpu_{k}_s']:.1f}" for k in ("build", "submit", "wait", "read"))
            put(f"campaign {m:,} records, {got['jobs']} jobs: client CPU s", codec, round(got["cpu_total_s"], 1), "≤ 8 (at 1M)", f"build / submit / wait / read: {phases}")

    # fmt: on
    # fmt: off
    def importing(self) -> None:
        got, put = self.case("import", "bench_import.py"), self.table.put
        put("import bedrock_batch: ms added to import boto3", "any", round(got["added_ms"], 1), "≤ 50",
            f"boto3 {got['boto3_ms']:.0f} ms; first BatchJob use +{got['added_first_use_ms']:.0f} ms")

    # -- the table -----------------------------------------------------------------------------

    # fmt: on
    # fmt: off
    def summarise(self) -> None:
        put = self.table.put
        v = self.values
        template = spread(v("template", "us_per_record"))
        for codec in self.codecs:
            for api in ("add_prompt", "add_records", "add_jsonl"):
                put(f"{api}: µs per Claude record, explicit ids, fully checked", codec, spread(v(f"{api}/{codec}", "us_per_record")), "≤ 3", f"byte template with an escaped prompt {template} µs")
        for size, target in ((self.n, "≤ 0.5"), (self.small, "≤ 0.7")):
            careful = spread(v(f"careful{size}", "wall_s"))
            floor = spread(v(f"floor{size}", "put_object_wall_s"))
            for codec in self.codecs:
                ours, naive = f"ours{size}/{codec}", f"naive{size}/{codec}"
                put(f"build+shard+upload {size:,}: wall time / naive", codec, spread(self.ratios(ours, naive)), target,
                    f"naive {spread(v(naive, 'wall_s'))} s, ours {spread(v(ours, 'wall_s'))} s; careful script {careful} s; put_object of the ready bytes {floor} s")
                put(f"build+shard+upload {size:,}: client CPU s (server CPU s)", codec, f"{spread(v(ours, 'cpu_s'))} ({spread(v(ours, 'server_cpu_s'))})", "",
                    f"naive {spread(v(naive, 'cpu_s'))} ({spread(v(naive, 'server_cpu_s'))})")
        for codec in self.codecs:
            for touch, target in (("ids", "≤ 0.35"), ("text", "≤ 0.5")):
                ours, naive = f"read-{touch}/{codec}", f"read-naive-{touch}/{codec}"
                what = "ids and status" if touch == "ids" else "text and usage"
                put(f"read+join {self.n:,} touching {what}: wall / naive", codec, spread(self.ratios(ours, naive)), target,
                    f"naive (download, json.loads, dict join) {spread(v(naive, 'wall_s'))} s; ours {spread(v(ours, 'wall_s'))} s, client CPU {spread(v(ours, 'cpu_s'))} s, server CPU {spread(v(ours, 'server_cpu_s'))} s")

    # fmt: on
    def calls(self) -> str:
        seen = self.samples.get(f"ours{self.n}/{self.codecs[0]}", [{}])[-1]
        lines = [f"Calls of one submit() of {self.n:,} records (one job, one input file):", ""]
        for group in ("s3_calls", "control_calls"):
            for op, count in sorted(seen.get(group, {}).items()):
                lines.append(f"- {op} × {count}: {CALL_REASONS.get(op, '')}")
        return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--records", type=int, default=200_000, help="records of the main cases")
    ap.add_argument("--small", type=int, default=100_000, help="records of the smaller build case")  # fmt: skip
    ap.add_argument("--per-record", type=int, default=100_000, help="records of the µs/record cases")  # fmt: skip
    ap.add_argument("--campaign-records", type=int, default=200_000, help="records of the many-jobs campaign (1M with --big)")  # fmt: skip
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians over them)")
    ap.add_argument("--quick", action="store_true", help="10x smaller sizes")
    ap.add_argument("--big", action="store_true", help="the campaign and an RSS row at 1M records")
    ap.add_argument("--codecs", default="json,orjson", help="json, orjson, msgspec (comma-separated)")  # fmt: skip
    ap.add_argument("--no-campaign", action="store_true", help="skip the many-jobs campaign")
    args = ap.parse_args()
    codecs = available(args.codecs.split(","))
    started, load_start = datetime.datetime.now(), load()
    print(f"load average at start (1/5/15 min): {load_start}", flush=True)
    quotas = ["--max-records-per-job", str(10**7), "--max-records-per-file", str(10**7)]
    # builds: a clock so slow that no job leaves Submitted (no record processing in the server
    # while later cases run); reads: jobs answered at once
    with server("--time-scale", "0.001", *quotas) as build_url, server("--time-scale", "100000", *quotas) as read_url:  # fmt: skip
        bench = Bench(args, build_url, read_url, codecs)
        bench.prepare()
        for number in range(bench.rounds):
            print(f"== round {number + 1} of {bench.rounds} (load {load()})", flush=True)
            bench.round()
        bench.summarise()
        bench.memory()
        bench.frames()
    if not args.no_campaign:
        bench.campaign()
    bench.importing()
    minutes = (datetime.datetime.now() - started).total_seconds() / 60
    text = bench.table.markdown([*codecs, "any"])
    stamp = (
        f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; load average (1/5/15 min) {load_start} at the start, {load()} "
        f"at the end; {bench.rounds} interleaved rounds, {minutes:.1f} min"
    )
    text += (
        f"\n\n_{stamp}: `python benchmarks/run.py {' '.join(sys.argv[1:])}`_\n\n{bench.calls()}\n"
    )
    print("\n" + text)
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(out, "latest.json"), "w") as fh:
        json.dump({"rows": bench.table.rows, "samples": bench.samples}, fh, indent=1, ensure_ascii=False)  # fmt: skip


if __name__ == "__main__":
    main()

"""Driver memory of ``bedrock_batch.dask.submit_dataframe``: 200,000 rows made on a 2-worker
``distributed.LocalCluster`` of processes, against ``bedrock-batch local serve`` in its own
process (so the emulator's in-memory S3 is not counted as the driver's).

Run: ``python benchmarks/bench_dask_inputs.py [rows]``. Prints the driver's resident memory
before, at its peak during ``submit_dataframe``, and at its peak through ``wait()`` and reading
every result (checked: every record exactly once, its key the row's)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any


def main(n: int = 200_000, per: int = 20_000) -> None:
    import boto3
    import dask.dataframe as dd
    import distributed
    import pandas as pd
    import psutil

    from bedrock_batch import BatchJob, PollConfig, Quotas
    from bedrock_batch.dask import submit_dataframe

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }  # fmt: skip
    os.environ.update(env)
    server = subprocess.Popen(
        [sys.executable, "-m", "bedrock_batch", "local", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--time-scale", "100000", "--max-records-per-file", "10000"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    proc = psutil.Process()
    peak = [proc.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak.append(proc.memory_info().rss)

    def part(a: int) -> Any:
        return pd.DataFrame({"q": [f"question {i}" for i in range(a, a + per)], "k": range(a, a + per)})  # fmt: skip

    try:
        session = boto3.Session()
        for _ in range(100):
            try:
                session.client("s3").create_bucket(Bucket="bkt")
                break
            except Exception:  # the server is starting
                time.sleep(0.2)
        quotas = Quotas(min_records_per_job=100, max_records_per_job=50_000, max_records_per_file=10_000)  # fmt: skip
        with (
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address="127.0.0.1:0") as lc,
            distributed.Client(lc),
        ):  # fmt: skip
            ddf = dd.from_map(part, list(range(0, n, per)))
            job = BatchJob(
                "anthropic.claude-3-haiku-20240307-v1:0", "arn:aws:iam::123456789012:role/R",
                "s3://bkt/in/", "s3://bkt/out/", session=session, quotas=quotas,
                poll=PollConfig(initial=1, max_interval=2, jitter=0),
            )  # fmt: skip
            before = proc.memory_info().rss
            threading.Thread(target=sample, daemon=True).start()
            started = time.perf_counter()
            submit_dataframe(ddf, job, prompt="q", key="k", max_tokens=20)
            submitted = time.perf_counter() - started
            at_submit = max(peak)
            job.wait()
            seen = bytearray(n)
            for r in job.results():
                i = int(r.record_id[1:])
                assert not seen[i]
                assert r.key == i
                assert r.status == "succeeded"
                seen[i] = 1
            assert seen.count(1) == n
            done.set()
            mb = 1 << 20
            print(
                f"{n:,} rows, {len(job.job_arns)} jobs; submit_dataframe {submitted:.1f} s; driver "
                f"RSS {before / mb:.0f} MB before, peak {at_submit / mb:.0f} MB during submit, "
                f"{max(peak) / mb:.0f} MB through wait() and results()"
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)

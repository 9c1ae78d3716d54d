"""Only Bedrock's own output files are read: ``{jobId}/{name}.out`` for each input file the ledger
uploaded. Another ``.out`` in the job's output folder (written by anyone who can write the
bucket) is reported as a ``foreign_output_file`` anomaly and never joined."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bedrock_batch import BatchJob

from ..conftest import BUCKET

Make = Callable[..., BatchJob]


def finished(make_job: Make, n: int = 100) -> tuple[BatchJob, str]:
    job = make_job()
    for i in range(n):
        job.add_prompt(f"q{i}", max_tokens=50, key=i)
    job.run()
    return job, f"out/{(job.job_arn or '').rsplit('/', 1)[1]}/"


def test_a_foreign_out_file_is_an_anomaly_not_results(make_job: Make, s3: Any) -> None:
    job, folder = finished(make_job)
    own = s3.get_object(Bucket=BUCKET, Key=f"{folder}part-00000.jsonl.out")["Body"].read()
    texts = {r.record_id: r.text for r in job.results()}
    forged = []
    for line in own.split(b"\n"):
        if line:
            record = json.loads(line)
            record["modelOutput"]["content"][0]["text"] = "FORGED"
            forged.append(json.dumps(record).encode())
    # sorts before Bedrock's own file, and a nested one: neither is an input file of the batch
    for key in (f"{folder}aaa.jsonl.out", f"{folder}x/part-00000.jsonl.out"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"\n".join(forged))
    results = job.results()
    got = {r.record_id: r.text for r in results}
    assert got == texts and "FORGED" not in got.values()
    foreign = [a for a in results.anomalies if a.kind == "foreign_output_file"]
    assert sorted(a.file for a in foreign) == [f"{folder}aaa.jsonl.out", f"{folder}x/part-00000.jsonl.out"]  # fmt: skip
    assert not [a for a in results.anomalies if a.kind == "duplicate_id"]
    assert job.summary().succeeded == 100


def test_nested_input_names_accept_both_spellings() -> None:
    from bedrock_batch._reader._results import output_spellings

    assert output_spellings("part-00000.jsonl.out") == ("part-00000.jsonl.out",)
    assert set(output_spellings("a/b.jsonl.out")) == {"a/b.jsonl.out", "b.jsonl.out"}

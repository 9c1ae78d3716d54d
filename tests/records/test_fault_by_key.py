"""Aiming a Local Bedrock record fault at one record by the caller's key: the job maps key →
record id on the client side (``record_ids_for``); the key never travels in the uploaded lines."""

from __future__ import annotations

import json

import pytest

from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, job_on


def test_a_fault_aimed_by_key_hits_that_record_only(local: LocalBedrock) -> None:
    job = job_on(local)  # 120 records: a batch job (below 100 they are answered on demand)
    ids = [
        job.add_prompt(f"question {i}", key={"topic": f"t{i}"}, max_tokens=30) for i in range(120)
    ]
    target = job.record_ids_for([{"topic": "t7"}])
    assert target == [ids[7]]
    # tuples compare as the JSON lists keys are stored as; several keys keep their order
    other = job_on(local)
    tuple_ids = [other.add_prompt(f"q{i}", key=("k", i), max_tokens=30) for i in range(3)]
    assert other.record_ids_for([("k", 2), ["k", 0]]) == [tuple_ids[2], tuple_ids[0]]
    with pytest.raises(KeyError, match="t999"):
        job.record_ids_for([{"topic": "t999"}])

    local.faults.record_error_ids = frozenset(target)
    errored = {r.key["topic"] for r in job.run() if r.error is not None}
    assert errored == {"t7"}

    s3 = local.session().client("s3")
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="in/")["Contents"]:
        if not obj["Key"].endswith(".jsonl") or "index" in obj["Key"]:
            continue
        for raw in s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().splitlines():
            line = json.loads(raw)
            assert set(line) == {"recordId", "modelInput"}, line
            assert b"topic" not in raw

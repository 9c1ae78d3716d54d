"""The answer cache's layout: entries sharded by key, read one shard at a time, only the shards
of the keys asked for; publishing never rewrites an object."""

from __future__ import annotations

import hashlib
from typing import Any

from bedrock_batch._common._s3 import S3Access
from bedrock_batch._reuse._cache import Entry, Refusals, candidates, publish, shard_prefix
from bedrock_batch._reuse._keys import content_key, shard_of
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU

CACHE = f"s3://{BUCKET}/c/"


def key(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def entry(n: int, job: str = "job1") -> Entry:
    return Entry(key(n), f"arn:aws:bedrock:us-east-1:1:model-invocation-job/{job}", "b", "s3://x/y", '"e"', f"r{n}")  # fmt: skip


def test_a_lookup_reads_only_the_shards_of_the_keys_asked_for(local: LocalBedrock) -> None:
    client: Any = local.session().client("s3")
    client.create_bucket(Bucket=BUCKET)
    shards: dict[str, list[Entry]] = {}
    for n in range(400):  # a cache of 400 answers over most of the 256 shards, two jobs
        shards.setdefault(shard_of(key(n)), []).append(entry(n, f"job{n % 2}"))
    for shard, entries in shards.items():
        for job in ("job0", "job1"):
            lines = b"".join(e.line() for e in entries if e.job_arn.endswith(job))
            uri = shard_prefix(CACHE, shard).join(f"{job}.jsonl")
            client.put_object(Bucket=uri.bucket, Key=uri.key, Body=lines)
    s3 = S3Access(client)
    wanted_keys = [key(3), key(7), key(10_000)]  # two cached, one not
    wanted: dict[str, set[bytes]] = {}
    for k in wanted_keys:
        wanted.setdefault(shard_of(k), set()).add(k)
    found = list(candidates(s3, CACHE, wanted))
    assert sorted(e.record_id for es in found for e in es) == ["r3", "r7"]
    assert s3.calls["ListObjectsV2"] == len(wanted)  # one listing per shard asked for
    assert s3.calls["GetObject"] <= 2 * len(wanted)  # that shard's objects, nothing else


def test_a_key_ignores_ids_keys_and_json_key_order() -> None:
    a = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    b = {"max_tokens": 5, "messages": [{"content": "hi", "role": "user"}]}
    assert content_key(HAIKU, "InvokeModel", a) == content_key(HAIKU, "InvokeModel", b)
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
    assert content_key(arn, "InvokeModel", a) == content_key(HAIKU, "InvokeModel", a)
    assert content_key(HAIKU, "Converse", a) != content_key(HAIKU, "InvokeModel", a)
    assert content_key(HAIKU, "InvokeModel", {**a, "max_tokens": 6}) != content_key(HAIKU, "InvokeModel", a)  # fmt: skip


def test_a_cache_line_that_is_not_an_entry_is_skipped() -> None:
    assert Entry.parse(entry(1).line()) == entry(1)
    for bad in (b"{}", b"not json", b'{"k": "zz", "job": 1}', b'{"k": "00", "job": "j", "batch": "b", "out": "o", "etag": 5, "rid": "r"}'):  # fmt: skip
        assert Entry.parse(bad) is None


def test_publishing_in_chunks_again_writes_nothing_and_keeps_every_entry(local: LocalBedrock) -> None:  # fmt: skip
    client: Any = local.session().client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="out/job9/a.jsonl.out", Body=b"{}\n")
    out = f"s3://{BUCKET}/out/job9/a.jsonl.out"
    job = "arn:aws:bedrock:us-east-1:1:model-invocation-job/job9"
    answers = [(f"r{n}", job, out, {"q": n % 5}) for n in range(12)]  # 5 distinct requests
    s3 = S3Access(client)
    assert publish(s3, CACHE, "b", HAIKU, "InvokeModel", answers, chunk=2) == 5
    assert publish(s3, CACHE, "b", HAIKU, "InvokeModel", answers, chunk=2) == 0  # never rewritten
    keys = {content_key(HAIKU, "InvokeModel", {"q": q}) for q in range(5)}
    wanted: dict[str, set[bytes]] = {}
    for k in keys:
        wanted.setdefault(shard_of(k), set()).add(k)
    found = [e for es in candidates(s3, CACHE, wanted) for e in es]
    assert sorted(e.record_id for e in found) == [f"r{n}" for n in range(5)]
    assert {e.etag for e in found} == {client.head_object(Bucket=BUCKET, Key="out/job9/a.jsonl.out")["ETag"]}  # fmt: skip


def test_refusals_keep_counts_by_reason_and_a_bounded_number_of_examples() -> None:
    refused = Refusals()
    for n in range(1000):
        refused.add(entry(n), "no such job" if n % 4 else "the current schema rejects it: value")
    assert len(refused) == 1000 and len(list(refused)) == Refusals.EXAMPLES
    assert refused.by_reason == {"no such job": 750, "the current schema rejects it": 250}
    assert refused.summary().startswith("1000 answer cache entries not served")
    assert "750 no such job; 250 the current schema rejects it" in refused.summary()

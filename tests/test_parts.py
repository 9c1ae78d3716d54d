"""The uploader, lifecycle, reader and on-demand parts on their own, each against real boto3
clients on Local Bedrock with S3 from moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import ServiceError
from bedrock_batch._common._codec import encode_line
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._ledger._ledger import Attempt, JobEntry, Ledger, OnDemandEntry
from bedrock_batch._ledger._ledgerstore import LedgerStore
from bedrock_batch._lifecycle._lifecycle import Lifecycle
from bedrock_batch._lifecycle._ondemand import OnDemandRunner
from bedrock_batch._records._store import RecordStore
from bedrock_batch._uploader._quotas import Quotas
from bedrock_batch._uploader._sharding import Shard, plan_parts
from bedrock_batch._uploader._spec import JobSpec
from bedrock_batch._uploader._uploader import Uploader
from bedrock_batch.local import LocalBedrock

from .conftest import BUCKET, HAIKU, ROLE, claude_body, job_on
from .support import RuntimeCalls, S3Faults

SPEC = JobSpec(HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/")


def store_of(n: int, prefix: str = "q") -> RecordStore:
    store = RecordStore()
    for i in range(n):
        store.append_line(
            f"R{i}",
            encode_line({"recordId": f"R{i}", "modelInput": claude_body(f"{prefix}{i}", 40)}),
        )
    return store


# -- uploader ----------------------------------------------------------------------------------


@given(
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=300),
    per_job=st.integers(1, 120),
    per_file=st.integers(1, 60),
    file_bytes=st.integers(400, 5000),
)
def test_jobs_cover_every_record_once_within_every_quota(
    sizes: list[int], per_job: int, per_file: int, file_bytes: int
) -> None:
    job_bytes = max(file_bytes, sum(sizes) // 3 + 400)
    parts = plan_parts(sizes, max_records_per_job=per_job, max_job_bytes=job_bytes,
                       max_records_per_file=per_file, max_file_bytes=file_bytes)  # fmt: skip
    covered = [i for p in parts for s in p.shards for i in range(s.start, s.end)]
    assert covered == list(range(len(sizes)))
    for p in parts:
        assert p.records <= per_job and p.size <= job_bytes
        assert all(
            s.records <= per_file and (s.size <= file_bytes or s.records == 1) for s in p.shards
        )
    counts = [p.records for p in parts]
    assert max(counts) - min(counts) <= 1 or any(p.size > job_bytes // 2 for p in parts)


def test_upload_is_content_addressed_by_path_and_skips_identical_files(session: Any) -> None:
    s3 = S3Access(session.client("s3"))
    store = store_of(30)
    files = (Shard(0, 0, 10, 0), Shard(1, 10, 30, 0))
    uploader = Uploader(s3)
    uploader.upload_files(f"s3://{BUCKET}/in/x/", files, store)
    assert s3.calls["Upload"] == 2
    uploader.upload_files(f"s3://{BUCKET}/in/x/", files, store)
    assert s3.calls["Upload"] == 2  # already there: only HEADs
    body = (
        session.client("s3").get_object(Bucket=BUCKET, Key="in/x/part-00001.jsonl")["Body"].read()
    )
    assert body == b"".join(store.iter_lines(10, 30))
    store.close()


def test_a_failed_multipart_upload_leaves_no_parts_behind(session: Any) -> None:
    from boto3.s3.transfer import TransferConfig

    faults = S3Faults(session)
    s3 = S3Access(session.client("s3"), transfer_config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20, max_concurrency=1))  # fmt: skip
    store = RecordStore()
    big = "x" * 20_000
    for i in range(600):  # ~12 MB: three parts
        store.append_line(
            f"R{i}", encode_line({"recordId": f"R{i}", "modelInput": claude_body(big)})
        )
    faults.fail("UploadPart", times=50, code="AccessDenied", status=403)
    with pytest.raises(ServiceError, match="AccessDenied"):
        Uploader(s3).upload_files(f"s3://{BUCKET}/in/y/", (Shard(0, 0, 600, 0),), store)
    assert faults.injected["UploadPart"] >= 1
    assert session.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    store.close()


# -- lifecycle ---------------------------------------------------------------------------------


def _ledger(n_jobs: int, quotas: Quotas) -> Ledger:
    jobs = tuple(
        JobEntry(
            f"p{i:03d}",
            f"life-p{i:03d}",
            f"tok{i}",
            f"s3://{BUCKET}/in/life/runs/p{i:03d}/",
            100,
            1,
            (Shard(0, i * 100, (i + 1) * 100, 1),),
            "uploaded",
        )
        for i in range(n_jobs)
    )
    return Ledger("life" + "0" * 20, "id", SPEC, "batch", quotas, "override", 100 * n_jobs, 1, (Attempt(0, 100 * n_jobs, None, jobs),))  # fmt: skip


def _put_inputs(session: Any, n_jobs: int) -> None:
    s3 = session.client("s3")
    for i in range(n_jobs):
        lines = b"".join(encode_line({"recordId": f"R{i}-{k}", "modelInput": claude_body(f"q{k}", 20)}) for k in range(100))  # fmt: skip
        s3.put_object(Bucket=BUCKET, Key=f"in/life/runs/p{i:03d}/part-00000.jsonl", Body=lines)


def _lifecycle(session: Any, ledger: Ledger) -> Lifecycle:
    from collections import Counter

    s3 = S3Access(session.client("s3"))
    store = LedgerStore(s3, S3Uri.parse(f"s3://{BUCKET}/in/life/bedrock-batch.json"))
    store.create(ledger)
    runner = OnDemandRunner(
        lambda: session.client("bedrock-runtime"), s3, model_id=HAIKU, converse=False
    )
    return Lifecycle(session.client("bedrock"), store, runner, calls=Counter())


def test_jobs_are_created_within_the_concurrency_quota(local: LocalBedrock, session: Any) -> None:
    _put_inputs(session, 3)
    life = _lifecycle(session, _ledger(3, Quotas(max_concurrent_jobs=2)))
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 2 and len(life.last) == 2
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 2  # no slot yet
    local.advance(hours=2)
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 3
    assert [j.phase for _, j in life.ledger.refresh().jobs()] == ["created"] * 3


def test_an_announced_create_whose_answer_was_lost_is_found_not_repeated(
    local: LocalBedrock, session: Any
) -> None:
    _put_inputs(session, 1)
    ledger = _ledger(1, Quotas())
    life = _lifecycle(session, ledger)
    job = ledger.find_job("p000")
    life.ledger.transition(lambda lg: lg.with_job("p000", phase="creating"))
    request = ledger.spec.request(job.name, job.input_uri, job.token)
    arn = session.client("bedrock").create_model_invocation_job(**request)["jobArn"]
    # ... and the process died before recording the ARN; Bedrock's idempotency window may be over.
    life.advance()
    assert life.calls["CreateModelInvocationJob"] == 0 and life.ledger.ledger is not None
    assert life.ledger.ledger.find_job("p000").job_arn == arn


# -- reader ------------------------------------------------------------------------------------


def test_a_lone_surrogate_in_model_output_is_reported_not_fatal(
    local: LocalBedrock, session: Any, tmp_path: Any
) -> None:
    job = job_on(local)
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=30)
    job.run()
    s3 = session.client("s3")
    key = next(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"] if o["Key"].endswith(".jsonl.out"))  # fmt: skip
    lines = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().split(b"\n")
    first = json.loads(lines[0])
    first["modelOutput"]["content"][0]["text"] = "broken \ud83d half"  # JSON escapes it: \ud83d
    lines[0] = json.dumps(first).encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\n".join(lines))
    results = job.results()
    got = {r.record_id: r for r in results}
    assert len(got) == 100 and got[first["recordId"]].text == "broken \ufffd half"
    assert [a.kind for a in results.anomalies] == ["invalid_unicode"]
    counts = results.to_jsonl(str(tmp_path / "out.jsonl"))  # writing it never crashes
    assert counts["succeeded"] == 100


def test_s3_errors_while_reading_are_errors_not_missing_records(
    local: LocalBedrock, session: Any
) -> None:
    job = job_on(local)
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=30)
    job.run()
    faults = S3Faults(session)
    outputs = lambda p: str(p.get("Key", "")).endswith(".jsonl.out")  # noqa: E731
    faults.fail("GetObject", when=outputs, times=99, code="AccessDenied", status=403)
    fresh = type(job).attach(job.job_arn or "", session=session)
    with pytest.raises(ServiceError, match="AccessDenied"):
        list(fresh.results())
    faults.clear()
    s3 = session.client("s3")
    for obj in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket(Bucket=BUCKET)
    with pytest.raises(ServiceError, match="NoSuchBucket"):
        list(job.results())


# -- on demand ---------------------------------------------------------------------------------


def _run_entry(session: Any, n: int) -> tuple[OnDemandEntry, S3Access]:
    s3 = S3Access(session.client("s3"))
    store = store_of(n, prefix="od")
    Uploader(s3).upload_files(f"s3://{BUCKET}/in/od/runs/od000/", (Shard(0, 0, n, 0),), store)
    store.close()
    return OnDemandEntry("od000", f"s3://{BUCKET}/in/od/runs/od000/", n, 0, (Shard(0, 0, n, 0),), 20, "running"), s3  # fmt: skip


def test_a_live_claim_is_respected_and_a_stale_one_taken_over(
    local: LocalBedrock, session: Any
) -> None:
    entry, s3 = _run_entry(session, 40)
    calls = RuntimeCalls(session)
    now = [1000.0]
    runtime = session.client("bedrock-runtime")
    other = OnDemandRunner(
        lambda: runtime, s3, model_id=HAIKU, converse=False, clock=lambda: now[0]
    )
    assert other._claim(entry, 0) is not None  # another process holds slice 0 ... then dies
    mine = OnDemandRunner(lambda: runtime, s3, model_id=HAIKU, converse=False, claim_ttl=300, clock=lambda: now[0])  # fmt: skip
    progress = mine.run(entry, active=lambda: True)
    assert progress.held_by_others == 1 and progress.answered == 20 and calls.total == 20
    now[0] += 301  # the claim went stale
    progress = mine.run(entry, active=lambda: True)
    assert progress.done and calls.total == 40 and calls.paid_twice == []


def test_answers_that_could_not_be_saved_are_saved_by_the_next_call(
    local: LocalBedrock, session: Any
) -> None:
    entry, _ = _run_entry(session, 20)
    calls = RuntimeCalls(session)
    faults = S3Faults(session)
    runner = OnDemandRunner(lambda: session.client("bedrock-runtime"), S3Access(session.client("s3")), model_id=HAIKU, converse=False, chunk_records=5)  # fmt: skip
    faults.fail("PutObject", times=10, when=lambda p: "/answers/" in p["Key"], code="SlowDown", status=503)  # fmt: skip
    with pytest.raises(ServiceError, match="SlowDown"):
        runner.run(entry, active=lambda: True)
    asked = calls.total
    faults.clear()
    assert runner.run(entry, active=lambda: True).done
    assert calls.paid_twice == [] and calls.total == 20 >= asked
    assert runner.progress(entry).answered == 20


# -- the facade's own promises -----------------------------------------------------------------


def test_every_s3_call_carries_the_bucket_owner(make_job: Any, session: Any) -> None:
    seen: list[tuple[str, Any]] = []
    session.events.register(
        "provide-client-params.s3",
        lambda params, model, **_: seen.append((model.name, params.get("ExpectedBucketOwner"))),
    )
    job = make_job(bucket_owner="123456789012")
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=20)
    job.run()
    attached = type(job).attach(job.job_arn or "", session=session)
    assert len(list(attached.results())) == 100 and attached.summary().consistent
    assert {op for op, _ in seen} >= {"PutObject", "GetObject", "HeadObject", "ListObjectsV2"}
    assert [op for op, owner in seen if owner != "123456789012"] == []


def test_wait_timeout_is_a_deadline() -> None:
    from bedrock_batch import PollConfig, PollTimeoutError
    from bedrock_batch.local import Faults, JobFault

    slept: list[float] = []
    with LocalBedrock(clock="manual", faults=Faults(jobs=[JobFault("stall")])) as local:
        job = job_on(local, sleep=lambda s: (slept.append(s), local.advance(s)),
                     poll=PollConfig(initial=5, max_interval=60, jitter=0))  # fmt: skip
        for i in range(100):
            job.add_prompt(f"q{i}", max_tokens=20)
        job.submit()
        with pytest.raises(PollTimeoutError):
            job.wait(timeout=6)
    assert sum(slept) == pytest.approx(6) and slept == [5, 1]


def test_a_job_is_a_context_manager_that_releases_its_records(local: LocalBedrock) -> None:
    from bedrock_batch import StateError

    with job_on(local) as job:
        job.add_prompt("hello")
        assert len(job) == 1 and job.plan().records == 1  # the lines went to the store's file
        assert job._records.store._handle is not None
    assert job._records.store.closed and job._records.store._handle is None
    with pytest.raises(StateError, match="closed"):
        job.add_prompt("again")


def test_unreadable_service_quotas_are_said_loudly(caplog: pytest.LogCaptureFixture) -> None:
    from botocore.config import Config

    from bedrock_batch.local import Faults

    faults = Faults(throttle_rate=1.0, operations=frozenset({"ListServiceQuotas"}))
    with LocalBedrock(clock="manual", faults=faults) as local:
        quotas = local.session().client("service-quotas", config=Config(retries={"total_max_attempts": 1}))  # fmt: skip
        job = job_on(local, quotas_client=quotas)
        for i in range(120):
            job.add_prompt(f"q{i}")
        with caplog.at_level("WARNING", logger="bedrock_batch"):
            plan = job.plan()
    assert plan.quota_source.startswith("defaults (Service Quotas unreadable")
    assert plan.quota_warning is not None and "ThrottlingException" in plan.quota_warning
    assert "WARNING" in str(plan) and "ThrottlingException" in caplog.text

"""The ledger on its own: transitions as data, the stored format, conditional writes between
processes, dirty state, and batches written by version 0.1 (format ``bedrock-batch/2``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import BatchJob, LedgerError, PollConfig, Quotas, ServiceError, StateError
from bedrock_batch._batch._sharding import Shard
from bedrock_batch._batch._spec import JobSpec, VpcConfig
from bedrock_batch._common._codec import encode_line
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._ledger._ledger import (
    JOB_TRANSITIONS,
    RUN_TRANSITIONS,
    Attempt,
    JobEntry,
    Ledger,
    OnDemandEntry,
    move_job,
)
from bedrock_batch._ledger._ledgerstore import LedgerStore, dump, parse
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import BUCKET, HAIKU, track
from ..support import S3Faults

DATA = Path(__file__).parents[1] / "data"
SPEC = JobSpec(
    HAIKU, "arn:aws:iam::123456789012:role/R", f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/"
)


def ledger_with(*jobs: JobEntry, run: OnDemandEntry | None = None) -> Ledger:
    attempt = Attempt(0, sum(j.records for j in jobs), None, jobs, run)
    return Ledger(
        "c" * 24, "i" * 24, SPEC, "batch", Quotas(), "override", attempt.records, 10, (attempt,)
    )


def entry(part: str, phase: str = "planned", **kw: Any) -> JobEntry:
    return JobEntry(part, f"name-{part}", f"tok{part}", f"s3://{BUCKET}/in/cccccccccccccccccccccccc/runs/{part}/", 10, 100, (Shard(0, 0, 10, 100),), phase, **kw)  # type: ignore[arg-type]  # fmt: skip


# -- transitions as data -----------------------------------------------------------------------


@pytest.mark.parametrize("source", list(JOB_TRANSITIONS))
@pytest.mark.parametrize("target", list(JOB_TRANSITIONS))
def test_job_phases_move_only_along_the_table(source: str, target: str) -> None:
    ledger = ledger_with(entry("p000", source))
    if target == source or target in JOB_TRANSITIONS[source]:
        assert ledger.with_job("p000", phase=target).find_job("p000").phase == target
    else:
        with pytest.raises(StateError, match=f"cannot go from {source} to {target}"):
            ledger.with_job("p000", phase=target)


@pytest.mark.parametrize("source", list(RUN_TRANSITIONS))
@pytest.mark.parametrize("target", list(RUN_TRANSITIONS))
def test_run_phases_move_only_along_the_table(source: str, target: str) -> None:
    run = OnDemandEntry("od000", f"s3://{BUCKET}/in/cccccccccccccccccccccccc/runs/od000/", 5, 50, (Shard(0, 0, 5, 50),), phase=source)  # type: ignore[arg-type]  # fmt: skip
    ledger = ledger_with(run=run)
    if target == source or target in RUN_TRANSITIONS[source]:
        assert ledger.with_run("od000", phase=target).find_run("od000").phase == target
    else:
        with pytest.raises(StateError):
            ledger.with_run("od000", phase=target)


def test_stop_cancels_everything_not_yet_created_or_answered() -> None:
    """... except a create already sent: its job may exist (only the answer was lost), so the
    entry stays ``creating``, unresolved, to be looked for (issue 18, problem 1)."""
    run = OnDemandEntry(
        "od000",
        f"s3://{BUCKET}/in/cccccccccccccccccccccccc/runs/od000/",
        5,
        50,
        (),
        phase="running",
    )
    ledger = ledger_with(entry("p000", "created", job_arn="arn:x"), entry("p001", "creating"), entry("p002", "planned"), run=run)  # fmt: skip
    assert ledger.unresolved == []  # not stopped: a resume sends the create again
    stopped = ledger.stop()
    assert stopped.stopped
    assert [j.phase for _, j in stopped.jobs()] == ["created", "creating", "cancelled"]
    assert [j.part for j in stopped.unresolved] == ["p001"]
    assert stopped.find_job("p001").creating_at is None  # no time given: none invented
    at = "2026-01-02T03:04:05+00:00"  # an older version stored no time: the stop's is taken
    assert ledger.stop(at).find_job("p001").creating_at == at
    sent = ledger.with_job("p001", creating_at="2026-01-01T00:00:00+00:00")
    assert sent.stop(at).find_job("p001").creating_at == "2026-01-01T00:00:00+00:00"
    assert (
        sent.with_job("p001", phase="created", job_arn="arn:y").find_job("p001").creating_at is None
    )
    assert stopped.find_run("od000").phase == "cancelled"
    retried = stopped.with_attempt(Attempt(1, 3, "runs/t.txt"), frozenset({"p000"}))
    assert not retried.stopped and retried.find_job("p000").superseded


# -- the stored format -------------------------------------------------------------------------

shards = st.lists(st.builds(Shard, st.integers(0, 99), st.integers(0, 9), st.integers(10, 99), st.integers(1, 10**9)), max_size=3)  # fmt: skip
jobs = st.builds(
    JobEntry, st.text(min_size=1, max_size=8), st.text(max_size=20), st.text(max_size=20),
    st.text(max_size=30), st.integers(0, 10**6), st.integers(0, 10**9), shards.map(tuple),
    st.sampled_from(list(JOB_TRANSITIONS)), st.none() | st.text(max_size=40), st.booleans(),
    st.none() | st.text(max_size=32),
)  # fmt: skip
runs = st.none() | st.builds(
    OnDemandEntry, st.text(min_size=1, max_size=8), st.text(max_size=30), st.integers(0, 10**6),
    st.integers(0, 10**9), shards.map(tuple), st.integers(1, 100), st.sampled_from(list(RUN_TRANSITIONS)),
)  # fmt: skip
attempts = st.builds(Attempt, st.integers(0, 5), st.integers(0, 10**6), st.none() | st.text(max_size=20), st.lists(jobs, max_size=3).map(tuple), runs)  # fmt: skip
specs = st.builds(
    JobSpec, st.text(max_size=30), st.text(max_size=30), st.text(max_size=30), st.text(max_size=30),
    st.sampled_from(["InvokeModel", "Converse"]), st.none() | st.text(max_size=10),
    st.none() | st.integers(24, 168), st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=2).map(tuple),
    st.none() | st.builds(VpcConfig, st.lists(st.text(max_size=5), min_size=1, max_size=2).map(tuple), st.lists(st.text(max_size=5), min_size=1, max_size=2).map(tuple)),
)  # fmt: skip
ledgers = st.builds(
    Ledger, st.text(max_size=24), st.text(max_size=24), specs, st.sampled_from(["batch", "on_demand"]),
    st.builds(Quotas, st.integers(1, 1000)), st.text(max_size=30), st.integers(0, 10**6),
    st.integers(0, 10**9), st.lists(attempts, max_size=3).map(tuple), st.sampled_from(["active", "stopped"]),
    st.integers(0, 100),
)  # fmt: skip


@given(ledgers)
def test_every_ledger_survives_its_stored_form(ledger: Ledger) -> None:
    assert parse(json.loads(dump(ledger)), "s3://b/k") == ledger


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.update(format="bedrock-batch/9"), "unknown format"),
        (lambda d: d.pop("attempts"), "malformed"),
        (lambda d: d["attempts"][0]["jobs"][0].update(phase="flying"), "unknown phase"),
        (lambda d: d["attempts"][0]["jobs"][0].update(records="many"), "malformed"),
        (lambda d: d.update(phase="paused"), "unknown batch phase"),
    ],
)
def test_a_malformed_ledger_is_refused_naming_the_object(mutate: Any, reason: str) -> None:
    data = json.loads(dump(ledger_with(entry("p000"))))
    mutate(data)
    with pytest.raises(LedgerError, match=reason) as info:
        parse(data, "s3://bkt/in/cccccccccccccccccccccccc/bedrock-batch.json")
    assert info.value.uri == "s3://bkt/in/cccccccccccccccccccccccc/bedrock-batch.json"


# -- writing between processes -----------------------------------------------------------------


@pytest.fixture
def stores(session: Any) -> tuple[LedgerStore, LedgerStore]:
    uri = S3Uri.parse(f"s3://{BUCKET}/in/cccccccccccccccccccccccc/bedrock-batch.json")
    a = LedgerStore(S3Access(session.client("s3")), uri)
    a.create(ledger_with(entry("p000", "uploaded"), entry("p001", "uploaded")))
    b = LedgerStore(S3Access(session.client("s3")), uri)
    b.load()
    return a, b


def test_concurrent_transitions_are_both_kept(stores: tuple[LedgerStore, LedgerStore]) -> None:
    a, b = stores
    a.transition(move_job("p000", "uploaded", "creating"))
    b.transition(move_job("p001", "uploaded", "creating"))  # b read an older version: re-applied
    assert a.refresh().find_job("p001").phase == "creating"
    assert a.ledger == b.ledger and {j.phase for _, j in a.ledger.jobs()} == {"creating"}  # type: ignore[union-attr]


def test_a_stop_by_another_process_wins_over_a_stale_intent(
    stores: tuple[LedgerStore, LedgerStore],
) -> None:
    a, b = stores
    b.transition(lambda ledger: ledger.stop())
    after = a.transition(move_job("p000", "uploaded", "creating"))  # a has not seen the stop
    assert after.stopped and after.find_job("p000").phase == "cancelled"


def test_a_failed_write_stays_dirty_until_stored(
    session: Any, stores: tuple[LedgerStore, LedgerStore]
) -> None:
    faults = S3Faults(session)
    a = LedgerStore(S3Access(session.client("s3")), stores[0].uri)
    a.load()
    faults.fail("PutObject", code="SlowDown", status=503)
    with pytest.raises(ServiceError, match="SlowDown"):
        a.transition(move_job("p000", "uploaded", "creating"))
    assert a.dirty and a.ledger is not None and a.ledger.find_job("p000").phase == "creating"
    assert stores[1].refresh().find_job("p000").phase == "uploaded"
    a.sync()
    assert not a.dirty and stores[1].refresh() == a.ledger


# -- batches written by version 0.1 ------------------------------------------------------------

V2 = json.loads((DATA / "ledger_v2.json").read_text())
V2_QUOTAS = Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=2)


def _v2_batch(local: LocalBedrock) -> tuple[Any, dict[str, Any]]:
    """Rebuild, on the emulator, the S3 layout and jobs of the captured 0.1 batch."""
    session = local.session()
    s3, bedrock = session.client("s3"), session.client("bedrock")
    s3.create_bucket(Bucket=BUCKET)
    cid = V2["content_id"]
    lines = [
        encode_line({"recordId": f"R{i:010d}", "modelInput": claude_body_v01(i)})
        for i in range(150)
    ]
    index = b"".join(encode_line({"recordId": f"R{i:010d}", "key": {"row": i}}) for i in range(150))
    s3.put_object(Bucket=BUCKET, Key=f"in/{cid}/index.jsonl", Body=index)
    state = json.loads(json.dumps(V2))
    for run in state["runs"]:
        folder = run["input"].split(f"s3://{BUCKET}/", 1)[1]
        if run["kind"] == "batch":
            shard = run["shards"][0]
            s3.put_object(
                Bucket=BUCKET,
                Key=f"{folder}part-00000.jsonl",
                Body=b"".join(lines[shard["start"] : shard["end"]]),
            )
            run["job_arn"] = bedrock.create_model_invocation_job(
                jobName=run["name"], clientRequestToken=run["token"], roleArn=V2["role_arn"], modelId=HAIKU,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": run["input"], "s3InputFormat": "JSONL"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": V2["output_uri"]}},
            )["jobArn"]  # fmt: skip
        else:  # the on-demand retry of the record the batch job failed on
            s3.put_object(
                Bucket=BUCKET,
                Key=f"in/{cid}/runs/targets-{run['targets']}.txt",
                Body=b"R0000000003",
            )
            s3.put_object(Bucket=BUCKET, Key=f"{folder}part-00000.jsonl", Body=lines[3])
            answer = {"modelInput": claude_body_v01(3), "modelOutput": {"content": [{"type": "text", "text": "fixed"}], "usage": {"input_tokens": 3, "output_tokens": 1}}, "recordId": "R0000000003"}  # fmt: skip
            s3.put_object(
                Bucket=BUCKET, Key=f"{folder}ondemand.jsonl.out", Body=encode_line(answer)
            )
    s3.put_object(
        Bucket=BUCKET, Key=f"in/{cid}/bedrock-batch.json", Body=json.dumps(state).encode()
    )
    local.advance(hours=2)
    return session, state


def claude_body_v01(i: int) -> dict[str, Any]:
    """The body 0.1's add_prompt(f"q{i}", max_tokens=50) built."""
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [{"role": "user", "content": [{"type": "text", "text": f"q{i}"}]}]}  # fmt: skip


def test_a_batch_of_version_0_1_is_attached_read_and_resumed() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: V2_QUOTAS}, faults=Faults(record_error_ids={"R0000000003"})) as local:  # fmt: skip
        session, state = _v2_batch(local)
        arns = [r["job_arn"] for r in state["runs"] if r["job_arn"]]
        job = track(BatchJob.attach(arns[1], session=session))
        assert job.ledger is not None and job.ledger.migrated_from == "bedrock-batch/2"
        assert job.job_arns == arns
        results = list(job.results())
        assert sorted(r.key["row"] for r in results) == list(range(150))
        fixed = next(r for r in results if r.record_id == "R0000000003")
        assert fixed.status == "succeeded" and fixed.text == "fixed" and fixed.attempt == 1
        assert all(r.status == "succeeded" for r in results)
        assert job.describe().status == "Completed"
        # The same records submitted again by this version: 0.1's batch is found and resumed.
        again = track(BatchJob(HAIKU, V2["role_arn"], V2["input_uri"], V2["output_uri"], session=session,
                               sleep=local.advance, poll=PollConfig(initial=60, max_interval=600, jitter=0)))  # fmt: skip
        for i in range(150):
            again.add_prompt(f"q{i}", max_tokens=50, key={"row": i})
        assert again.submit().job_arns == arns
        assert (
            len(session.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"])
            == 2
        )
        # ... and its ledger is carried on in the new format.
        assert (
            again.retry(statuses=("succeeded",), record_ids=["R0000000005"], mode="on_demand") == 1
        )
        stored = LedgerStore(S3Access(session.client("s3")), S3Uri.parse(f"{V2['input_uri']}{V2['content_id']}/bedrock-batch.json"))  # fmt: skip
        assert (
            stored.load() is not None
            and stored.ledger is not None
            and stored.ledger.migrated_from is None
        )
        assert len(stored.ledger.attempts) == 3


def test_ledger_fields_stay_plain_data() -> None:
    """The ledger holds no dict[str, Any]: every field is a typed value."""
    for cls in (Ledger, Attempt, JobEntry, OnDemandEntry, JobSpec):
        for field in attrs.fields(cls):
            assert "dict" not in str(field.type), (cls.__name__, field.name, field.type)

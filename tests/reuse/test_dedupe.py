"""``dedupe=True``: identical bodies of one batch are sent once; every record that asked gets
the answer, exactly once, under its own id and key (issue 21)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_batch import BatchJob, PollConfig, Quotas
from bedrock_batch._common._codec import decode, encode_line
from bedrock_batch._records._store import RecordStore
from bedrock_batch._reuse._dedupe import choose
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, claude_body, track
from .test_reuse import Sent

QUOTAS = Quotas(min_records_per_job=5, max_records_per_job=1000, max_concurrent_jobs=4)
pytestmark = pytest.mark.emulator(quotas={HAIKU: QUOTAS})


def deduped(local: LocalBedrock, session: Any, bodies: list[int]) -> BatchJob:
    job = track(
        BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=session,
            sleep=local.advance, poll=PollConfig(initial=30, max_interval=600, jitter=0),
            quotas=QUOTAS, dedupe=True,
        )
    )  # fmt: skip
    for n, b in enumerate(bodies):
        job.add_prompt(f"question {b}", max_tokens=30, key={"n": n, "body": b})
    return job


BODIES = [n % 7 for n in range(30)]  # 30 records, 7 distinct bodies


def test_n_records_with_k_bodies_send_k_and_return_n(local: LocalBedrock, session: Any) -> None:
    sent = Sent(session)
    job = deduped(local, session, BODIES)
    assert (job.plan().records, job.plan().deduplicated) == (7, 23)
    job.submit()
    job.wait()
    assert sent.job_lines() == 7 and sent.invokes == 0
    results = list(job.results())
    assert sorted(r.key["n"] for r in results) == list(range(30))  # each record once
    assert len({r.record_id for r in results}) == 30
    assert all(r.status == "succeeded" for r in results)
    text_of = {}
    for r in results:
        assert text_of.setdefault(r.key["body"], r.text) == r.text  # one answer per body
    summary = job.summary()
    assert (summary.total, summary.succeeded, summary.deduplicated) == (30, 30, 23)
    assert summary.consistent, summary
    sent_tokens = {r.key["body"]: r.usage.output_tokens for r in results}
    assert summary.usage.output_tokens == sum(sent_tokens.values())  # paid once per body


@pytest.mark.emulator(quotas={HAIKU: QUOTAS}, faults=Faults(record_error_ids={"R0000000001"}))
def test_an_error_fans_out_and_a_retry_sends_the_body_once(local: LocalBedrock, session: Any, caplog: Any) -> None:  # fmt: skip
    job = deduped(local, session, BODIES)
    job.submit()
    job.wait(raise_on_failure=False)
    errored = sorted(r.key["n"] for r in job.results() if r.status == "errored")
    assert errored == [n for n, b in enumerate(BODIES) if b == 1]  # every record that asked
    assert job.summary().errored == len(errored)
    sent = Sent(session)
    with caplog.at_level("WARNING", logger="bedrock_batch"):
        assert job.retry(include_non_retryable=True) == 1  # the body, once
    job.wait()
    assert sent.invokes == 1
    said = [r.getMessage() for r in caplog.records if "not retryable" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"sending {len(errored)} errored record(s)"), said
    assert "again, in 1 request(s)" in said[0]
    results = list(job.results())
    assert len(results) == 30 and all(r.status == "succeeded" for r in results)
    assert {r.attempt for r in results if r.key["body"] == 1} == {1}


def test_attach_gives_the_same_fanned_out_results(local: LocalBedrock, session: Any) -> None:
    job = deduped(local, session, BODIES)
    job.submit()
    job.wait()
    mine = sorted((r.to_dict() for r in job.results()), key=lambda d: d["recordId"])
    assert job.state_uri is not None
    with BatchJob.attach(job.state_uri, session=session) as attached:
        theirs = sorted((r.to_dict() for r in attached.results()), key=lambda d: d["recordId"])
        assert attached.summary().deduplicated == 23
    assert theirs == mine


def _store(bodies: list[int], keyed: list[bool]) -> RecordStore:
    store = RecordStore()
    for n, (b, k) in enumerate(zip(bodies, keyed, strict=True)):
        rid = f"id{n}"
        line = encode_line({"recordId": rid, "modelInput": claude_body(f"q{b}", 40)})
        store.append_line(rid, line, encode_line({"n": n})[:-1] if k else None)
    return store


def _with_keys(bodies: list[int]) -> st.SearchStrategy[tuple[list[int], list[bool]]]:
    keyed = st.lists(st.booleans(), min_size=len(bodies), max_size=len(bodies))
    return st.tuples(st.just(bodies), keyed)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=40).flatmap(_with_keys), st.booleans())
def test_every_record_is_sent_or_answered_by_exactly_one_sent_twin(case: tuple[list[int], list[bool]], dedupe: bool) -> None:  # fmt: skip
    bodies, keyed = case
    store = _store(bodies, keyed)
    sel = choose(store, HAIKU, "InvokeModel", dedupe=dedupe)
    try:
        sent_ids = sel.sent.ids()
        sent_bodies = [decode(line)["modelInput"] for line in sel.sent.iter_lines()]
        extra = [decode(line) for line in sel.fanout_lines()]
        ids = sent_ids + [e["recordId"] for e in extra]
        assert sorted(ids) == sorted(f"id{n}" for n in range(len(bodies)))  # each exactly once
        assert [e["n"] for e in extra] == list(range(len(sent_ids), len(bodies)))
        expected = len(set(bodies)) if dedupe else len(bodies)
        assert len(sent_ids) == expected and sel.deduplicated == len(bodies) - expected
        assert sel.reused == 0
        for e in extra:  # a twin names a sent record with its body, and keeps its own key
            n = int(e["recordId"][2:])
            assert e["at"] == n  # its place among all the records
            assert decode(store.index.encoded_key_at(n) or b"null") == e.get("key")
            assert sent_bodies[e["of"]] == claude_body(f"q{bodies[n]}", 40)
        index = store.index
        assert [index.key_at(int(r[2:])) for r in sent_ids] == [sel.sent.index.key_at(i) for i in range(len(sent_ids))]  # fmt: skip
    finally:
        sel.close()
        store.close()


@pytest.mark.emulator(quotas={HAIKU: QUOTAS}, faults=Faults(record_error_ids={"R0000000001"}))
def test_retrying_a_duplicate_by_its_id_sends_its_body_once(local: LocalBedrock, session: Any) -> None:  # fmt: skip
    job = deduped(local, session, BODIES)
    job.submit()
    job.wait(raise_on_failure=False)
    twin = next(r for r in job.results() if r.key == {"n": 8, "body": 1})
    assert twin.status == "errored" and twin.record_id == "R0000000008"  # sent as R0000000001
    sent = Sent(session)
    assert job.retry(record_ids=[twin.record_id]) == 1
    job.wait()
    assert sent.invokes == 1
    assert all(r.status == "succeeded" for r in job.results())


@pytest.mark.emulator(quotas={HAIKU: QUOTAS}, faults=Faults(record_error_ids={"R0000000001"}))
def test_a_duplicate_has_the_history_of_the_record_whose_answer_it_shares(local: LocalBedrock, session: Any) -> None:  # fmt: skip
    job = deduped(local, session, BODIES)
    job.submit()
    job.wait(raise_on_failure=False)
    assert job.retry(include_non_retryable=True) == 1
    job.wait()
    results = job.results()
    sent = results.history("R0000000001")  # body 1, sent: errored, then answered by the retry
    assert [(r.status, r.attempt) for r in sent] == [("errored", 0), ("succeeded", 1)]
    twin = results.history("R0000000008")  # body 1 too, never sent
    assert [(r.record_id, r.key) for r in twin] == [("R0000000008", {"n": 8, "body": 1})] * 2
    assert [r.replace(record_id="R0000000001", key=sent[0].key).to_dict() for r in twin] == [r.to_dict() for r in sent]  # fmt: skip
    assert results.history("R0000000002") and not results.history("no-such-record")


def test_records_added_after_a_plan_are_chosen_again(local: LocalBedrock, session: Any) -> None:
    job = deduped(local, session, [0, 0, 1])
    assert (job.plan().records, job.plan().deduplicated) == (2, 1)
    job.add_prompt("question 2", max_tokens=30, key={"n": 3, "body": 2})
    job.add_prompt("question 9", max_tokens=30, key={"n": 4, "body": 9})
    job.add_prompt("question 9", max_tokens=30, key={"n": 5, "body": 9})
    assert (job.plan().records, job.plan().deduplicated) == (4, 2)
    job.submit()
    job.wait()
    assert sorted(r.key["n"] for r in job.results()) == list(range(6))


def test_exports_in_input_order_keep_the_order_the_records_were_added(local: LocalBedrock, session: Any, tmp_path: Any) -> None:  # fmt: skip
    job = deduped(local, session, BODIES)
    job.submit()
    job.wait()
    path = tmp_path / "out.jsonl"
    job.results().to_jsonl(str(path))
    import json

    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["key"]["n"] for r in rows] == list(range(30))
    assert list(job.results().to_pandas()["record_id"]) == [f"R{n:010d}" for n in range(30)]

"""Ledgers across format versions. A batch written before the package was laid out in
subpackages (format ``bedrock-batch/3``, captured from commit 1c90df9 by the same script this
test runs) is attached, read and resumed — not resubmitted — and so is one of this version's
format (``bedrock-batch/4``, fenced on-demand claims, captured from this branch by the same
script: this version must write exactly it, for a batch without a fan-out). A format-3 reader
refuses format 4, a format-4 reader format 5 (a batch with ``dedupe=`` / ``reuse=``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from bedrock_batch import BatchJob, LedgerError, PollConfig, Quotas
from bedrock_batch._ledger._ledger import FanOut
from bedrock_batch._ledger._ledgerstore import (
    LEDGER_FORMAT,
    LEDGER_VERSION,
    PLAIN_FORMAT,
    dump,
    format_version,
    parse,
)
from bedrock_batch.local import Faults, LocalBedrock

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
DATA = Path(__file__).parents[1] / "data"
V3 = json.loads((DATA / "ledger_v3.json").read_text())
CAPTURED = json.loads((DATA / "ledger_v4.json").read_text())
QUOTAS = Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=2)


def _script(local: LocalBedrock) -> tuple[Any, BatchJob]:
    """The capture script: 150 prompts, two jobs, one record error, an on-demand retry."""
    session = local.session()
    session.client("s3").create_bucket(Bucket="bkt")
    job = BatchJob(HAIKU, ROLE, "s3://bkt/in/", "s3://bkt/out/", session=session,
                   sleep=local.advance, poll=PollConfig(initial=60, max_interval=600, jitter=0))  # fmt: skip
    for i in range(150):
        job.add_prompt(f"q{i}", max_tokens=50, key={"row": i})
    return session, job


def _emulator() -> LocalBedrock:
    return LocalBedrock(clock="manual", quotas={HAIKU: QUOTAS}, faults=Faults(record_error_ids={"R0000000003"}))  # fmt: skip


def _stored(session: Any) -> tuple[str, dict[str, Any]]:
    s3 = session.client("s3")
    key = next(
        o["Key"]
        for o in s3.list_objects_v2(Bucket="bkt")["Contents"]
        if o["Key"].endswith("bedrock-batch.json")
    )
    return key, json.loads(s3.get_object(Bucket="bkt", Key=key)["Body"].read())


def test_this_version_writes_the_captured_ledger() -> None:
    with _emulator() as local:
        session, job = _script(local)
        with job:
            job.submit()
            job.wait()
            assert job.retry(mode="on_demand", include_non_retryable=True) == 1
            job.wait()
        _, stored = _stored(session)
    assert stored.pop("created_at") and CAPTURED["created_at"]
    assert stored == {k: v for k, v in CAPTURED.items() if k != "created_at"}


@pytest.mark.parametrize("captured", [V3, CAPTURED], ids=["format-3", "format-4"])
def test_a_batch_written_before_is_attached_read_and_resumed(captured: dict[str, Any]) -> None:
    with _emulator() as local:
        session, job = _script(local)
        with job:
            job.submit()
            job.wait()
            job.retry(mode="on_demand", include_non_retryable=True)
            job.wait()
        key, _ = _stored(session)
        # Put back the ledger exactly as the old version wrote it.
        session.client("s3").put_object(Bucket="bkt", Key=key, Body=json.dumps(captured).encode())
        bedrock = session.client("bedrock")
        jobs_before = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
        arns = [j["job_arn"] for a in captured["attempts"] for j in a["jobs"]]
        with BatchJob.attach(arns[0], session=session) as attached:
            results = list(attached.results())
            assert sorted(r.key["row"] for r in results) == list(range(150))
            assert all(r.status == "succeeded" for r in results)
            assert next(r for r in results if r.record_id == "R0000000003").attempt == 1
        # The same script again: the old batch is found and resumed, nothing is resubmitted.
        _, again = _script(local)
        with again:
            assert again.submit().job_arns == arns
            again.wait()
            assert again.summary().succeeded == 150
        assert bedrock.list_model_invocation_jobs()["invocationJobSummaries"] == jobs_before


def test_format_3_is_read_as_this_version_writes_it() -> None:
    """Converted on read: the captured format-3 ledger is the format-4 one, its on-demand run
    with the claim TTL format 3 used (300 s)."""
    old, new = parse(V3, "s3://bkt/v3"), parse(CAPTURED, "s3://bkt/v4")
    assert old.attempts[1].on_demand is not None and old.attempts[1].on_demand.claim_ttl == 300
    assert attrs.evolve(old, created_at="") == attrs.evolve(new, created_at="")


def test_a_format_3_reader_refuses_format_4() -> None:
    """The version gate with format 3's newest version (what a format-3 reader knows) refuses
    the format this version writes, as written by a newer bedrock_batch; a format-3 reader
    would otherwise judge its fenced claims (which carry no local time) expired at once."""
    assert CAPTURED["format"] == PLAIN_FORMAT == "bedrock-batch/4"
    assert format_version(V3["format"], "s3://bkt/v3", newest=3) == 3
    with pytest.raises(LedgerError, match="written by a newer bedrock_batch"):
        format_version(CAPTURED["format"], "s3://bkt/v4", newest=3)
    future = {**CAPTURED, "format": f"bedrock-batch/{LEDGER_VERSION + 1}"}
    with pytest.raises(LedgerError, match="written by a newer bedrock_batch"):
        parse(future, "s3://bkt/v6")


def test_a_ledger_with_a_fan_out_is_format_5_and_a_format_4_reader_refuses_it() -> None:
    """Format 5 adds the fan-out (dedupe=, reuse=): a batch that has one is written as format
    5, which a format-4 reader refuses (it would read the records answered without being sent
    as unknown); one without it stays format 4, and reads back the same."""
    plain = parse(CAPTURED, "s3://bkt/v4")
    assert json.loads(dump(plain))["format"] == PLAIN_FORMAT
    fanned = attrs.evolve(plain, fanout=FanOut(3, 2, 1, "s3://bkt/cache/"))
    stored = json.loads(dump(fanned))
    assert stored["format"] == LEDGER_FORMAT == "bedrock-batch/5"
    assert parse(stored, "s3://bkt/v5") == attrs.evolve(fanned, migrated_from=None)
    assert parse(stored, "s3://bkt/v5").total == plain.records + 3
    with pytest.raises(LedgerError, match="written by a newer bedrock_batch"):
        format_version(stored["format"], "s3://bkt/v5", newest=4)
    with pytest.raises(LedgerError, match="malformed"):
        parse({**stored, "fanout": {**stored["fanout"], "records": 4}}, "s3://bkt/bad")

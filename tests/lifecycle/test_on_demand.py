"""The on-demand part on its own: claims on slices and answers saved exactly once, against real
boto3 clients on Local Bedrock with S3 from moto."""

from __future__ import annotations

from typing import Any

import pytest

from bedrock_batch import ServiceError
from bedrock_batch._batch._sharding import Shard
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._ledger._ledger import OnDemandEntry
from bedrock_batch._lifecycle._ondemand import OnDemandRunner
from bedrock_batch._uploader._uploader import Uploader
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU, store_of
from ..s3_clock import S3Clock
from ..support import RuntimeCalls, S3Faults


def _run_entry(session: Any, n: int) -> tuple[OnDemandEntry, S3Access]:
    s3 = S3Access(session.client("s3"))
    store = store_of(n, prefix="od")
    Uploader(s3).upload_files(f"s3://{BUCKET}/in/od/runs/od000/", (Shard(0, 0, n, 0),), store)
    store.close()
    return OnDemandEntry("od000", f"s3://{BUCKET}/in/od/runs/od000/", n, 0, (Shard(0, 0, n, 0),), 20, "running"), s3  # fmt: skip


def test_a_live_claim_is_respected_and_a_stale_one_taken_over(
    local: LocalBedrock, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim not refreshed for the TTL by S3's clock is taken over (its owner, this very
    process, is alive: only the TTL lets it go)."""
    entry, s3 = _run_entry(session, 40)
    calls = RuntimeCalls(session)
    s3_clock = S3Clock(monkeypatch)
    runtime = session.client("bedrock-runtime")
    other = OnDemandRunner(lambda: runtime, s3, model_id=HAIKU, converse=False)
    assert other._claim(entry, 0) is not None  # another runner holds slice 0 ... then stalls
    mine = OnDemandRunner(lambda: runtime, s3, model_id=HAIKU, converse=False, claim_ttl=300)
    progress = mine.run(entry, active=lambda: True)
    assert progress.held_by_others == 1 and progress.answered == 20 and calls.total == 20
    assert 295 <= progress.held_for <= 300  # and says how long it would wait
    s3_clock.advance(302)  # the claim went stale by S3's clock
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

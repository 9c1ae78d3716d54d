"""Fenced on-demand claims (issue 18, problem 3), against real boto3 clients on Local Bedrock with
S3 from moto: a claimant that lost its slice stops within the documented bound, a claim expires
by S3's clock and never by a local one, and only a provably dead owner's claim is taken over
before its TTL.

S3's clock is moved with :class:`~tests.s3_clock.S3Clock` (moto's object timestamps); a local
clock with the runner's ``clock``. Calls are counted per record on each process's own session.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from bedrock_batch import PollConfig
from bedrock_batch._batch._sharding import Shard
from bedrock_batch._common._s3 import S3Access
from bedrock_batch._ledger._ledger import OnDemandEntry
from bedrock_batch._lifecycle import _claims
from bedrock_batch._lifecycle._ondemand import OnDemandRunner
from bedrock_batch._uploader._uploader import Uploader
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU, endpoint_env, serving, store_of
from ..s3_clock import S3Clock
from ..support import RuntimeCalls
from . import claims_driver

TTL = 300.0


def _entry(session: Any, n: int) -> OnDemandEntry:
    s3 = S3Access(session.client("s3"))
    store = store_of(n, prefix="od")
    folder = f"s3://{BUCKET}/in/od/runs/od000/"
    Uploader(s3).upload_files(folder, (Shard(0, 0, n, 0),), store)
    store.close()
    return OnDemandEntry("od000", folder, n, 0, (Shard(0, 0, n, 0),), 20, "running")


def _runner(session: Any, **kwargs: Any) -> OnDemandRunner:
    runtime = session.client("bedrock-runtime")
    return OnDemandRunner(
        lambda: runtime, S3Access(session.client("s3")), model_id=HAIKU, converse=False,
        claim_ttl=TTL, **kwargs,
    )  # fmt: skip


def _after_put(session: Any, hook: Any) -> None:
    """Call ``hook(key)`` after each PutObject this session makes."""

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["key"] = params["Key"]

    def after(context: dict[str, Any], **_: Any) -> None:
        hook(context.get("key", ""))

    session.events.register("before-parameter-build.s3.PutObject", before)
    session.events.register("after-call.s3.PutObject", after)


def _answered(session: Any) -> Counter[str]:
    """Answers saved per record id, from every chunk in S3."""
    s3 = session.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="in/od/runs/od000/answers/")["Contents"]
        if o["Key"].endswith(".jsonl.out")
    ]
    ids: Counter[str] = Counter()
    for key in keys:
        for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines():
            ids[json.loads(line)["recordId"]] += 1
    return ids


# -- (a) a claimant whose claim was taken over stops -------------------------------------------


def test_a_claimant_stalled_past_the_ttl_stops_once_its_slice_was_taken_over(
    local: LocalBedrock, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalls (every clock jumps 301 s) between two calls, after saving its 5th answer; B
    takes its slice over and answers everything. A notices at its next call (the stall showed
    on its wall clock) and makes no call at all for the slice after that: every record is
    invoked exactly once. Before the fence A went on answering its slice (15 records twice)."""
    s3_clock = S3Clock(monkeypatch)
    session_a, session_b = session, local.session()
    entry = _entry(session_a, 40)
    calls_a, calls_b = RuntimeCalls(session_a), RuntimeCalls(session_b)
    now = [time.time()]
    b = _runner(session_b, clock=lambda: now[0])
    at_stall: list[int] = []
    chunks = [0]

    def stall(key: str) -> None:
        chunks[0] += "/answers/" in key and key.endswith(".jsonl.out")
        if chunks[0] == 5 and not at_stall:
            at_stall.append(calls_a.total)
            now[0] += TTL + 1  # A is suspended past the TTL: every clock moves on
            s3_clock.advance(TTL + 1)
            progress = b.run(entry, active=lambda: True)
            assert progress.done and progress.held_by_others == 0  # B took slice 0 over

    _after_put(session_a, stall)
    a = _runner(session_a, concurrency=1, chunk_records=1, clock=lambda: now[0])
    a.run(entry, active=lambda: True)
    assert at_stall, "A never stalled"
    both = calls_a.by_prompt + calls_b.by_prompt
    assert len(both) == 40 and max(both.values()) == 1, "records invoked twice"
    assert calls_a.total == at_stall[0] == 5, "A made calls after losing its slice"
    assert sorted(_answered(session_a).values()) == [1] * 40


def test_a_stall_no_local_clock_saw_is_noticed_within_the_bound(
    local: LocalBedrock, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only S3's clock shows A's stall (its claim is 301 s old by S3's clock, by none of A's
    clocks): B takes the slice over; A, with 4 calls in flight, notices at its next check, and
    makes at most CLAIM_CHECK_CALLS + concurrency calls after the takeover. Before, a claim was
    judged by the claimant's own clock, and B never took the slice over."""
    s3_clock = S3Clock(monkeypatch)
    session_a, session_b = session, local.session()
    entry = _entry(session_a, 40)
    calls_a, calls_b = RuntimeCalls(session_a), RuntimeCalls(session_b)
    b = _runner(session_b)
    at_takeover: list[int] = []

    def take_over(key: str) -> None:
        if "/answers/" in key and calls_a.total >= 5 and not at_takeover:
            s3_clock.advance(TTL + 1)
            progress = b.run(entry, active=lambda: True)
            at_takeover.append(calls_a.total)
            assert progress.done and progress.held_by_others == 0  # B took slice 0 over

    _after_put(session_a, take_over)
    a = _runner(session_a, concurrency=4, chunk_records=1)
    a.run(entry, active=lambda: True)
    assert at_takeover, "B never took the slice over"
    after = calls_a.total - at_takeover[0]
    assert after <= _claims.CLAIM_CHECK_CALLS + 4, f"A made {after} calls after losing its slice"
    twice = [p for p, n in (calls_a.by_prompt + calls_b.by_prompt).items() if n > 1]
    assert len(twice) <= _claims.CLAIM_CHECK_CALLS + 4
    assert calls_b.total == 40 - len(calls_a.by_prompt) + len(twice)
    assert set(_answered(session_a)) == {f"R{i}" for i in range(40)}


# -- (b) a local clock far ahead expires nothing ------------------------------------------------


def test_a_local_clock_an_hour_ahead_does_not_expire_a_live_claim(
    local: LocalBedrock, session: Any
) -> None:
    entry = _entry(session, 40)
    calls = RuntimeCalls(session)
    owner = _runner(session)
    assert owner._claim(entry, 0) is not None  # a live process holds slice 0
    ahead = _runner(local.session(), clock=lambda: time.time() + 3600)
    progress = ahead.run(entry, active=lambda: True)
    assert progress.held_by_others == 1 and progress.answered == 20
    assert calls.total == 0  # (the other session's calls: slice 1 only)
    assert _answered(session).keys() == {f"R{i}" for i in range(20, 40)}


# -- (c) dead owners are taken over at once, live ones are waited for ------------------------------


@pytest.fixture
def child() -> Any:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_claim_of_a_killed_process_on_this_boot_is_taken_over_at_once(
    local: LocalBedrock, session: Any, child: Any
) -> None:
    entry = _entry(session, 40)
    calls = RuntimeCalls(session)
    dead = _runner(session, identity=_claims.ProcessIdentity.of(child.pid))
    assert dead._claim(entry, 0) is not None
    child.kill()  # SIGKILL
    child.wait()
    progress = _runner(session).run(entry, active=lambda: True)  # no clock moved
    assert progress.done and progress.held_by_others == 0
    assert calls.total == 40 and calls.paid_twice == []


def test_a_claim_of_a_live_process_is_waited_for_and_says_how_long(
    local: LocalBedrock, session: Any, child: Any, caplog: pytest.LogCaptureFixture
) -> None:
    entry = _entry(session, 40)
    calls = RuntimeCalls(session)
    assert _runner(session, identity=_claims.ProcessIdentity.of(child.pid))._claim(entry, 0)
    with caplog.at_level(logging.INFO, logger="bedrock_batch"):
        progress = _runner(session).run(entry, active=lambda: True)
    assert progress.held_by_others == 1 and calls.total == 20
    assert TTL - 5 <= progress.held_for <= TTL
    assert f"claimed by pid {child.pid}" in caplog.text and "may be taken over in" in caplog.text


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"boot": "another-boot"}, id="another boot"),
        pytest.param({"pidns": "pid:[1]"}, id="another pid namespace"),
        pytest.param({"start": None}, id="no start time"),
    ],
)
def test_a_dead_pid_proves_nothing_from_another_machine_or_namespace(
    local: LocalBedrock, session: Any, child: Any, change: dict[str, Any]
) -> None:
    """The same pid elsewhere is another process: its owner is not provably dead."""
    entry = _entry(session, 20)
    gone = attrs.evolve(_claims.ProcessIdentity.of(child.pid), **change)
    child.kill()
    child.wait()
    assert _runner(session, identity=gone)._claim(entry, 0)
    progress = _runner(session).run(entry, active=lambda: True)
    assert progress.held_by_others == 1 and progress.answered == 0


def test_a_reused_pid_does_not_keep_a_dead_owner_alive(local: LocalBedrock, session: Any) -> None:
    """The owner's pid now names another process (this one, started at another time): the
    owner is gone, its claim is taken over at once."""
    entry = _entry(session, 20)
    me = _claims.ProcessIdentity.current()
    assert me.start is not None
    earlier = attrs.evolve(me, start=me.start - 1)
    assert _runner(session, identity=earlier)._claim(entry, 0)
    assert _runner(session).run(entry, active=lambda: True).done


# -- a resumed batch takes its killed run's slices over at once -----------------------------------

DRIVER = Path(__file__).with_name("claims_driver.py")


def _this_checkout(env: dict[str, str]) -> dict[str, str]:
    """The driver imports this checkout's bedrock_batch (not whichever one is installed)."""
    root = str(Path(__file__).parents[2])
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))}


def test_a_batch_resumed_after_sigkill_takes_the_dead_claims_over_at_once() -> None:
    """A process answering an on-demand batch is SIGKILLed mid-run; the same batch submitted
    again on this machine takes its claims over at once (the owner's pid and start time are
    gone) and finishes without waiting out the TTL, asking only for records with no saved
    answer. Before, the resumed run left the dead claims alone for 300 s."""
    n = 100
    with serving(bucket="claims-bucket", clock="manual") as server:
        proc = subprocess.Popen(
            [sys.executable, str(DRIVER), str(n)], env=_this_checkout(endpoint_env(server.endpoint_url)),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, ""):
            if line.strip() == "asked 20":
                break
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        session = server.local.session()
        s3 = session.client("s3")
        saved = 0
        for obj in s3.list_objects_v2(Bucket="claims-bucket").get("Contents", []):
            if obj["Key"].endswith(".jsonl.out"):
                body = s3.get_object(Bucket="claims-bucket", Key=obj["Key"])["Body"].read()
                saved += len(body.splitlines())
        assert 0 < saved < n
        calls = RuntimeCalls(session)
        job = claims_driver.batch(session, n)
        job.poll = PollConfig(initial=0.05, max_interval=0.1, jitter=0)
        job.submit()
        final = job.wait(timeout=20)  # the dead run's claims are taken over, not waited out
        assert final.status == "Completed"
        assert calls.total == n - saved and calls.paid_twice == []
        assert job.summary().succeeded == n
        job.close()

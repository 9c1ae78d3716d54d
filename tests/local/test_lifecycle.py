"""Job lifecycle on Local Bedrock's manual clock: every status, every side exit."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_batch.local import Faults, JobFault, LocalBedrock, Quotas, Timings
from bedrock_batch.local._service._lifecycle import LIFECYCLE, STATUSES, TERMINAL, may_move

from ..conftest import (
    BUCKET,
    HAIKU,
    claude_body,
    create_job,
    examples,
    jsonl,
    put_records,
    read_out,
)


def status(bedrock: Any, arn: str) -> dict[str, Any]:
    return dict(bedrock.get_model_invocation_job(jobIdentifier=arn))


def walk(
    local: LocalBedrock, bedrock: Any, arn: str, step: float = 10.0, limit: int = 20000
) -> list[str]:
    seen: list[str] = []
    for _ in range(limit):
        s = status(bedrock, arn)["status"]
        if not seen or seen[-1] != s:
            seen.append(s)
        if s in ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"):
            return seen
        local.advance(step)
    raise AssertionError(f"job never ended: {seen}")


def test_every_state_in_order_and_counters(local: LocalBedrock, s3: Any, bedrock: Any) -> None:
    put_records(s3, 300)
    arn = create_job(bedrock)
    d = status(bedrock, arn)
    assert d["status"] == "Submitted" and d["totalRecordCount"] == 0
    local.advance(30)
    d = status(bedrock, arn)
    assert d["status"] == "Validating"
    assert d["totalRecordCount"] == d["processedRecordCount"] == 0  # 0 while Validating
    local.advance(60)
    d = status(bedrock, arn)
    assert d["status"] == "Scheduled" and d["totalRecordCount"] == 300
    local.advance(120)
    assert status(bedrock, arn)["status"] == "InProgress"
    local.advance(20)  # 5 records per emulated second
    d = status(bedrock, arn)
    assert d["status"] == "InProgress"
    assert d["processedRecordCount"] == 100 == d["successRecordCount"]
    local.advance(40)
    d = status(bedrock, arn)
    assert d["status"] == "Completed"
    assert (
        d["totalRecordCount"],
        d["processedRecordCount"],
        d["successRecordCount"],
        d["errorRecordCount"],
    ) == (300, 300, 300, 0)
    assert d["endTime"] >= d["submitTime"]
    assert d["lastModifiedTime"] == d["endTime"]


def test_default_scaled_clock_passes_every_state_and_completes() -> None:
    import time

    with LocalBedrock() as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        bedrock = local.client("bedrock")
        put_records(s3, 1000)
        arn = create_job(bedrock)
        deadline = time.monotonic() + 120  # a safety net, not a timing assertion
        while status(bedrock, arn)["status"] != "Completed" and time.monotonic() < deadline:
            time.sleep(0.05)
        steps = [name for name, _ in local.history(arn)]
        assert steps == ["Submitted", "Validating", "Scheduled", "InProgress", "Completed"]
        times = [t for _, t in local.history(arn)]
        assert times == sorted(times)


def test_history_on_manual_clock(local: LocalBedrock, s3: Any, bedrock: Any) -> None:
    put_records(s3, 100)
    arn = create_job(bedrock)
    local.advance(hours=1)
    steps = local.history(arn)
    assert [s for s, _ in steps] == [
        "Submitted",
        "Validating",
        "Scheduled",
        "InProgress",
        "Completed",
    ]
    assert [t - steps[0][1] for _, t in steps] == [0, 30, 90, 210, 230]


@pytest.mark.parametrize(
    ("files", "quotas", "fragment"),
    [
        ({"in/readme.txt": b"hello"}, Quotas(), "No .jsonl files"),
        (
            {
                "in/a.jsonl": jsonl([{"recordId": "a", "modelInput": claude_body("x")}] * 1)
                + b"{not json\n"
            },
            Quotas(min_records_per_job=1),
            "line 2",
        ),
        ({"in/a.jsonl": b'{"recordId": "a"}\n'}, Quotas(min_records_per_job=1), "modelInput"),
        ({"in/a.jsonl": b'["a list"]\n'}, Quotas(min_records_per_job=1), "not a JSON object"),
        (
            {"in/a.jsonl": jsonl([{"modelInput": claude_body(str(i))} for i in range(50)])},
            Quotas(),
            "fewer than the minimum",
        ),
        (
            {"in/a.jsonl": jsonl([{"modelInput": claude_body(str(i))} for i in range(20)])},
            Quotas(min_records_per_job=1, max_records_per_file=10),
            "records per file",
        ),
        (
            {
                "in/a.jsonl": jsonl([{"modelInput": claude_body(str(i))} for i in range(8)]),
                "in/b.jsonl": jsonl([{"modelInput": claude_body(str(i))} for i in range(8)]),
            },
            Quotas(min_records_per_job=1, max_records_per_job=10),
            "records per job",
        ),
        (
            {"in/a.jsonl": jsonl([{"modelInput": claude_body("x" * 500)}])},
            Quotas(min_records_per_job=1, max_file_bytes=100),
            "bytes per file",
        ),
        (
            {
                "in/a.jsonl": jsonl([{"modelInput": claude_body("x" * 50)}]),
                "in/b.jsonl": jsonl([{"modelInput": claude_body("y" * 50)}]),
            },
            Quotas(min_records_per_job=1, max_job_bytes=200),
            "bytes per job",
        ),
    ],
)
def test_validation_failures(files: dict[str, bytes], quotas: Quotas, fragment: str) -> None:
    with LocalBedrock(clock="manual", default_quotas=quotas) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for key, body in files.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        assert walk(local, bedrock, arn) == ["Submitted", "Validating", "Failed"]
        d = status(bedrock, arn)
        assert fragment in d["message"]
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")


def test_unreadable_input_bucket_fails(local: LocalBedrock, bedrock: Any) -> None:
    arn = create_job(
        bedrock, inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://no-such-bucket/in/"}}
    )
    assert walk(local, bedrock, arn)[-1] == "Failed"
    assert "Unable to access" in status(bedrock, arn)["message"]


def test_fail_late_with_message() -> None:
    faults = Faults(
        jobs=[JobFault("fail_late", message="Customer doesn't have permissions to invokeModel")]
    )
    with LocalBedrock(clock="manual", faults=faults) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 100)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        assert walk(local, bedrock, arn) == [
            "Submitted",
            "Validating",
            "Scheduled",
            "InProgress",
            "Failed",
        ]
        assert status(bedrock, arn)["message"] == "Customer doesn't have permissions to invokeModel"
        assert [e.kind for e in local.fault_log] == ["job_fail_late"]


def test_expired_in_scheduled() -> None:
    with LocalBedrock(clock="manual", faults=Faults(jobs=[JobFault("expire")])) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 100)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        assert walk(local, bedrock, arn, step=600) == [
            "Submitted",
            "Scheduled",
            "Expired",
        ]  # 600 s steps skip Validating
        d = status(bedrock, arn)
        assert d["endTime"] == d["jobExpirationTime"]
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")


def test_timeout_mid_run_is_partially_completed_with_partial_outputs() -> None:
    with LocalBedrock(
        clock="manual", faults=Faults(jobs=[JobFault("timeout", at_fraction=0.4)])
    ) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 200)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        assert walk(local, bedrock, arn, step=600)[-1] == "PartiallyCompleted"
        d = status(bedrock, arn)
        assert d["processedRecordCount"] == 80 and d["totalRecordCount"] == 200
        job_id = arn.rsplit("/", 1)[1]
        assert len(read_out(s3, f"out/{job_id}/data.jsonl.out")) == 80
        manifest = json.loads(
            s3.get_object(Bucket=BUCKET, Key=f"out/{job_id}/manifest.json.out")["Body"].read()
        )
        assert manifest["processedRecordCount"] == 80


def test_slow_job_times_out_naturally() -> None:
    with LocalBedrock(clock="manual", timings=Timings(records_per_second=0.001)) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 100)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        local.advance(hours=25)
        d = status(bedrock, arn)
        assert d["status"] == "PartiallyCompleted"
        assert 0 < d["processedRecordCount"] < 100


def test_stop_while_in_progress_keeps_processed_outputs(
    local: LocalBedrock, s3: Any, bedrock: Any
) -> None:
    put_records(s3, 500)
    arn = create_job(bedrock)
    local.advance(30 + 60 + 120 + 40)  # 200 records processed
    bedrock.stop_model_invocation_job(jobIdentifier=arn)
    local.advance(10)
    assert status(bedrock, arn)["status"] == "Stopping"
    local.advance(60)
    d = status(bedrock, arn)
    assert d["status"] == "Stopped" and d["processedRecordCount"] == 200
    lines = read_out(s3, f"out/{arn.rsplit('/', 1)[1]}/data.jsonl.out")
    assert len(lines) == 200


def test_stalled_job_stays_in_progress() -> None:
    with LocalBedrock(
        clock="manual", faults=Faults(jobs=[JobFault("stall", at_fraction=0.5)])
    ) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 100)
        bedrock = local.client("bedrock")
        arn = create_job(bedrock)
        local.advance(hours=30)
        d = status(bedrock, arn)
        assert d["status"] == "InProgress" and d["processedRecordCount"] == 50


def test_concurrency_frees_up_after_completion() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: Quotas(max_concurrent_jobs=1)}) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 100)
        bedrock = local.client("bedrock")
        create_job(bedrock, jobName="first")
        local.advance(hours=1)
        create_job(bedrock, jobName="second")  # the first one has ended


# --- the transition table -------------------------------------------------------------------------


def test_the_table_is_closed_and_every_status_can_end() -> None:
    for phase in LIFECYCLE.values():
        assert phase.exits <= STATUSES and phase.then in phase.exits
        assert phase.on_timeout is None or phase.on_timeout in phase.exits
    assert set(LIFECYCLE) | TERMINAL == STATUSES
    assert not any(may_move(t, s) for t in TERMINAL for s in STATUSES)
    reachable = {"Submitted"}
    while True:
        more = reachable | {x for s in reachable if s in LIFECYCLE for x in LIFECYCLE[s].exits}
        if more == reachable:
            break
        reachable = more
    assert reachable == STATUSES


@pytest.fixture(scope="module")
def shared() -> Iterator[LocalBedrock]:
    with LocalBedrock(
        clock="manual",
        default_quotas=Quotas(min_records_per_job=1, max_concurrent_jobs=10**6),
        events=False,
    ) as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        yield local


_names = itertools.count()


@settings(max_examples=examples(15))
@given(
    kind=st.sampled_from([None, "fail_validation", "fail_late", "expire", "timeout", "stall"]),
    stop_after=st.none() | st.floats(0, 200_000),
    records=st.integers(1, 30),
)
def test_every_path_follows_the_table(
    shared: LocalBedrock, kind: Any, stop_after: float | None, records: int
) -> None:
    local, n = shared, next(_names)
    name = f"path-{n}"
    if kind:
        local.faults.jobs.append(JobFault(kind, name_contains=name))
    s3, bedrock = local.client("s3"), local.client("bedrock")
    put_records(s3, records, key=f"paths/{n}/in.jsonl")
    arn = create_job(
        bedrock,
        jobName=name,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/paths/{n}/"}},
    )
    if stop_after is not None:
        local.advance(stop_after)
        if status(bedrock, arn)["status"] not in TERMINAL:
            bedrock.stop_model_invocation_job(jobIdentifier=arn)
    local.advance(hours=30)
    if status(bedrock, arn)["status"] == "InProgress":  # a stall: only a stop ends it
        bedrock.stop_model_invocation_job(jobIdentifier=arn)
        local.advance(hours=1)
    d = status(bedrock, arn)
    steps = [s for s, _ in local.history(arn)]
    times = [t for _, t in local.history(arn)]
    assert steps[0] == "Submitted" and steps[-1] == d["status"] in TERMINAL
    assert all(may_move(a, b) for a, b in itertools.pairwise(steps))
    assert times == sorted(times)
    assert d["processedRecordCount"] == d["successRecordCount"] + d["errorRecordCount"]
    assert d["processedRecordCount"] <= d["totalRecordCount"]
    assert d["submitTime"] <= d["lastModifiedTime"] == d["endTime"]

"""BatchJob end to end through Local Bedrock with real boto3 clients and moto S3."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from bedrock_batch import (
    BatchJob,
    JobExpiredError,
    JobFailedError,
    JobStoppedError,
    PollConfig,
    PollTimeoutError,
    Quotas,
    StateError,
)
from bedrock_batch.local import Faults, JobFault, LocalBedrock, Timings

from ..conftest import BUCKET, HAIKU, ROLE, endpoint_env, job_on, track

MakeJob = Callable[..., BatchJob]


def fill(job: BatchJob, n: int = 120) -> list[str]:
    return [
        job.add_prompt(f"質問 {i}: 日本の祭りについて", max_tokens=100, key={"row": i})
        for i in range(n)
    ]


def all_objects(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_success_every_record_exactly_once_with_keys(make_job: MakeJob, bedrock: Any) -> None:
    job = make_job()
    ids = fill(job, 250)
    desc = job.submit()
    assert desc.status == "Submitted"
    final = job.wait()
    assert final.status == "Completed"
    results = job.results()
    got = list(results)
    assert sorted(r.record_id for r in got) == sorted(ids)
    assert all(r.status == "succeeded" and r.text and r.usage.output_tokens > 0 for r in got)
    assert {r.record_id: r.key for r in got} == {rid: {"row": i} for i, rid in enumerate(ids)}
    assert results.anomalies == [] and results.counts == {
        "succeeded": 250,
        "errored": 0,
        "missing": 0,
    }
    summary = job.summary()
    assert summary.consistent, summary.discrepancies
    assert summary.usage.output_tokens == summary.manifest["outputTokenCount"]  # type: ignore[index]
    assert "reconciled" in str(summary) and "<table>" in summary._repr_html_()


def test_repeated_submit_creates_and_uploads_nothing_new(
    make_job: MakeJob, bedrock: Any, s3: Any
) -> None:
    job = make_job()
    fill(job)
    first = job.submit()
    objects = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    again = make_job()  # a fresh process with the same records
    fill(again)
    second = again.submit()
    assert second.job_arn == first.job_arn
    assert {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]} == objects
    assert len(bedrock.list_model_invocation_jobs()["invocationJobSummaries"]) == 1
    assert job.submit().job_arn == first.job_arn


def test_submit_after_crash_between_upload_and_create_reuses_uploads(
    make_job: MakeJob, bedrock: Any, s3: Any
) -> None:
    job = make_job()
    fill(job)

    def crash(**_: Any) -> None:
        raise SystemExit("killed right after the uploads")

    job._clients.bedrock.meta.events.register("before-call.bedrock.CreateModelInvocationJob", crash)
    with pytest.raises(SystemExit):
        job.submit()
    before = {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    fresh = make_job()
    fill(fresh)
    uploads = [k for k in before if k.endswith(".jsonl")]
    assert len(uploads) == 2  # the input file and the index
    ledger = next(k for k in before if k.endswith("bedrock-batch.json"))
    body = s3.get_object(Bucket=BUCKET, Key=ledger)["Body"].read()
    assert b'"phase":"creating"' in body  # the create was announced before it was called
    etags = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    put_calls: list[str] = []
    fresh._clients.s3.meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: put_calls.append(params["Key"])
    )
    fresh._clients.s3.meta.events.register(
        "provide-client-params.s3.CreateMultipartUpload",
        lambda params, **_: put_calls.append(params["Key"]),
    )
    fresh.submit()
    assert not [
        k for k in put_calls if k in uploads
    ]  # nothing re-uploaded, only the state rewritten
    after = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert all(after[k] == etags[k] for k in uploads)
    assert len(bedrock.list_model_invocation_jobs()["invocationJobSummaries"]) == 1


def test_per_record_errors_inside_completed_job() -> None:
    faults = Faults(record_error_ids={"R0000000003", "R0000000007"})
    with LocalBedrock(clock="manual", faults=faults) as local:
        job = job_on(local)
        fill(job)
        job.submit()
        assert job.wait().status == "Completed"
        by_status: dict[str, list[str]] = {}
        for r in job.results():
            by_status.setdefault(r.status, []).append(r.record_id)
        assert sorted(by_status["errored"]) == ["R0000000003", "R0000000007"]
        errored = [r for r in job.results() if r.status == "errored"]
        assert (
            errored[0].error is not None
            and errored[0].error.code == 400
            and errored[0].text is None
        )
        summary = job.summary()
        assert (summary.succeeded, summary.errored, summary.missing) == (
            118,
            2,
            0,
        ) and summary.consistent


def _job_with(local: LocalBedrock, **kwargs: Any) -> BatchJob:
    job = job_on(local, poll=PollConfig(initial=60, max_interval=3600, jitter=0), **kwargs)
    fill(job, 200)
    job.submit()
    return job


def test_partially_completed_returns_and_unprocessed_are_missing() -> None:
    with LocalBedrock(
        clock="manual", faults=Faults(jobs=[JobFault("timeout", at_fraction=0.25)])
    ) as local:
        job = _job_with(local)
        assert job.wait().status == "PartiallyCompleted"
        results = list(job.results())
        counts = {s: sum(r.status == s for r in results) for s in ("succeeded", "missing")}
        assert counts == {"succeeded": 50, "missing": 150}
        missing = next(r for r in results if r.status == "missing")
        assert (
            missing.model_input["anthropic_version"] == "bedrock-2023-05-31"
        )  # read back from the inputs
        assert job.summary().consistent


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [("fail_late", JobFailedError, "Failed"), ("expire", JobExpiredError, "Expired")],
)
def test_failed_and_expired_raise_with_status_and_message(
    fault: str, error: type[Exception], status: str
) -> None:
    with LocalBedrock(
        clock="manual", faults=Faults(jobs=[JobFault(fault, message="boom")])
    ) as local:  # type: ignore[arg-type]
        job = _job_with(local)
        with pytest.raises(error) as info:
            job.wait()
        assert info.value.status == status  # type: ignore[attr-defined]
        assert job.job_arn in str(info.value)
        assert job.wait(raise_on_failure=False).status == status


def test_failed_in_validation_carries_message() -> None:
    with LocalBedrock(
        clock="manual",
        faults=Faults(jobs=[JobFault("fail_validation", message="The role cannot read the input")]),
    ) as local:
        job = _job_with(local)
        with pytest.raises(JobFailedError, match="cannot read the input") as info:
            job.wait()
        assert type(info.value) is JobFailedError


def test_stopped_raises_but_processed_outputs_are_kept() -> None:
    with LocalBedrock(
        clock="manual", faults=Faults(jobs=[JobFault("stall", at_fraction=0.5)])
    ) as local:
        job = _job_with(local)
        local.advance(hours=1)
        job.stop()
        with pytest.raises(JobStoppedError):
            job.wait()
        counts = {"succeeded": 0, "missing": 0, "errored": 0}
        for r in job.results():
            counts[r.status] += 1
        assert counts == {"succeeded": 100, "missing": 100, "errored": 0}


def test_poll_timeout_leaves_the_job_running() -> None:
    with LocalBedrock(clock="manual", faults=Faults(jobs=[JobFault("stall")])) as local:
        job = _job_with(local)
        with pytest.raises(PollTimeoutError, match="attach") as info:
            job.wait(timeout=7200)
        assert isinstance(info.value, TimeoutError) and info.value.status == "InProgress"
        assert job.describe().status == "InProgress"


def test_throttling_injected_changes_nothing(no_backoff: list[float]) -> None:
    faults = Faults(throttle_rate=0.3, server_error_rate=0.05)
    with LocalBedrock(clock="manual", faults=faults, seed=11) as local:
        job = _job_with(local)
        assert job.wait().status == "Completed"
        assert job.summary().succeeded == 200
        bedrock = local.client("bedrock")
        assert len(bedrock.list_model_invocation_jobs()["invocationJobSummaries"]) == 1
        assert any(e.kind == "throttle" for e in local.fault_log)
        assert no_backoff  # botocore retried them


def test_progress_callback_sees_counters(make_job: MakeJob) -> None:
    job = make_job(poll=PollConfig(initial=10, max_interval=10, jitter=0))
    fill(job, 300)
    job.submit()
    seen: list[tuple[str, int | None]] = []
    job.wait(callback=lambda d: seen.append((d.status, d.processed_records)))
    assert seen[-1] == ("Completed", 300)
    assert any(s == "InProgress" and p is not None and 0 < p < 300 for s, p in seen)


def test_progress_line_without_tqdm(make_job: MakeJob, capsys: pytest.CaptureFixture[str]) -> None:
    from bedrock_batch._common._progress import ProgressDisplay

    job = make_job()
    fill(job)
    job.submit()
    display = ProgressDisplay(use_tqdm=False)
    job.wait(callback=display.update)
    display.close()
    err = capsys.readouterr().err  # not a terminal: one line per change, no frames
    assert "\r" not in err and "120/120" in err
    assert err.splitlines()[-1].split()[1] == "Completed"


def test_attach_in_same_process_and_state_errors(make_job: MakeJob, session: Any) -> None:
    job = make_job()
    with pytest.raises(StateError):
        job.wait()
    fill(job)
    job.submit()
    with pytest.raises(StateError):
        job.add_prompt("late")
    job.wait()
    other = BatchJob.attach(job.job_arn or "", session=session)
    results = list(other.results())
    assert len(results) == 120 and {r.key["row"] for r in results} == set(range(120))
    assert other.summary().consistent


def test_attach_a_job_not_created_by_us(
    local: LocalBedrock, session: Any, s3: Any, bedrock: Any
) -> None:
    from ..conftest import create_job, put_records

    ids = put_records(s3, 100, key="raw/data.jsonl")
    arn = create_job(
        bedrock, inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/raw/"}}
    )
    local.advance(hours=1)
    job = BatchJob.attach(arn, session=session)
    assert sorted(r.record_id for r in job.results()) == ids


def test_attach_from_a_fresh_process(tmp_path: Path) -> None:
    local = LocalBedrock(clock="manual")
    with local.serve(port=0) as server:
        env_session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        clients = {
            n: env_session.client(n, endpoint_url=server.endpoint_url) for n in ("s3", "bedrock")
        }  # type: ignore[call-overload]
        clients["s3"].create_bucket(Bucket=BUCKET)
        job = track(
            BatchJob(
                HAIKU,
                ROLE,
                f"s3://{BUCKET}/in/",
                f"s3://{BUCKET}/out/",
                bedrock_client=clients["bedrock"],
                s3_client=clients["s3"],
                use_service_quotas=False,
            )
        )
        fill(job, 150)
        arn = job.submit().job_arn
        local.advance(hours=1)
        script = textwrap.dedent(
            f"""
            import json
            from bedrock_batch import BatchJob, PollConfig
            job = BatchJob.attach({arn!r}, poll=PollConfig(initial=0.01, max_interval=0.05, jitter=0))
            job.wait()
            s = job.summary()
            print(json.dumps({{"total": s.total, "succeeded": s.succeeded, "consistent": s.consistent,
                              "keys": sorted(r.key["row"] for r in job.results())}}))
            """
        )
        env = endpoint_env(server.endpoint_url)
        proc = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out == {"total": 150, "succeeded": 150, "consistent": True, "keys": list(range(150))}


def test_converse_and_embedding_jobs(local: LocalBedrock, session: Any) -> None:
    conv = track(
        BatchJob(
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            ROLE,
            f"s3://{BUCKET}/in/",
            f"s3://{BUCKET}/out/",
            session=session,
            invocation_type="Converse",
            sleep=local.advance,
            poll=PollConfig(initial=60, max_interval=600, jitter=0),
        )
    )
    for i in range(100):
        conv.add_prompt(f"q{i}", system="terse", max_tokens=64)
    conv.submit()
    conv.wait()
    texts = [r.text for r in conv.results()]
    assert len(texts) == 100 and all(texts)
    emb = track(
        BatchJob(
            "amazon.titan-embed-text-v2:0",
            ROLE,
            f"s3://{BUCKET}/in/",
            f"s3://{BUCKET}/out/",
            session=session,
            sleep=local.advance,
            poll=PollConfig(initial=60, max_interval=600, jitter=0),
        )
    )
    for i in range(100):
        emb.add_embedding(f"text {i}", dimensions=256)
    emb.submit()
    emb.wait()
    vectors = [r.embedding for r in emb.results()]
    assert all(v is not None and len(v) == 256 for v in vectors)
    assert emb.summary().usage.input_tokens > 0


def test_add_jsonl_and_cli_style_run(make_job: MakeJob, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        {
            "recordId": f"JP{i:04d}",
            "modelInput": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "日本"}],
            },
            "meta": i,
        }
        for i in range(100)
    ]
    path.write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8"
    )
    job = make_job()
    assert job.add_jsonl(path, key_field="meta") == 100
    results = job.run()
    out = tmp_path / "out.jsonl"
    counts = results.to_jsonl(str(out))
    assert counts == {"succeeded": 100, "errored": 0, "missing": 0}
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["recordId"]: r["key"] for r in rows} == {f"JP{i:04d}": i for i in range(100)}


def test_quotas_from_service_quotas_are_used() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: Quotas(min_records_per_job=150)}) as local:
        session = local.session()
        job = track(
            BatchJob(
                HAIKU,
                ROLE,
                f"s3://{BUCKET}/in/",
                f"s3://{BUCKET}/out/",
                session=session,
                mode="batch",
            )
        )
        fill(job, 120)
        from bedrock_batch import QuotaError

        with pytest.raises(QuotaError, match="minimum of 150") as info:
            job.plan()
        assert "service-quotas" in str(info.value)


def test_sharding_by_records_and_bytes(make_job: MakeJob, s3: Any) -> None:
    job = make_job(max_records_per_file=40, max_bytes_per_file=6000)
    fill(job, 130)
    plan = job.plan()
    assert len(plan.shards) >= 4 and all(s.records <= 40 and s.size <= 6000 for s in plan.shards)
    job.submit()
    job.wait()
    keys = [k for k in all_objects(s3) if k.endswith(".jsonl.out")]
    assert len(keys) == len(plan.shards)
    assert job.summary().consistent


def test_timings_scaled_clock_end_to_end() -> None:
    with LocalBedrock(
        timings=Timings(submitted=1, validating=1, scheduled=1, records_per_second=1000),
        time_scale=100,
    ) as local:
        job = job_on(
            local, sleep=time.sleep, poll=PollConfig(initial=0.01, max_interval=0.05, jitter=0)
        )
        fill(job)
        results = job.run(progress=False)
        assert sum(1 for _ in results) == 120


def test_ctrl_c_stops_waiting_not_the_job(
    make_job: MakeJob, caplog: pytest.LogCaptureFixture
) -> None:
    job = make_job()
    fill(job)
    job.submit()
    caplog.set_level(logging.INFO, logger="bedrock_batch")

    def interrupt(desc: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.wait(callback=interrupt)
    assert job.describe().status not in ("Stopped", "Stopping")
    assert f"BatchJob.attach({job.state_uri!r})" in caplog.text
    assert job.wait().status == "Completed"

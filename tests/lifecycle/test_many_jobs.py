"""Beyond one job: many jobs under quotas, retries, on-demand fallback, cost."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bedrock_batch import BatchJob, PollConfig, Price, Quotas, StateError
from bedrock_batch.local import Faults, JobFault, LocalBedrock

from ..conftest import HAIKU, job_on

SMALL = Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=2)


def new_job(local: LocalBedrock, **kwargs: Any) -> BatchJob:
    kwargs.setdefault("poll", PollConfig(initial=30, max_interval=300, jitter=0))
    return job_on(local, **kwargs)


def fill(job: BatchJob, n: int) -> list[str]:
    return [job.add_prompt(f"question {i}", max_tokens=80, key=i) for i in range(n)]


def max_overlap(local: LocalBedrock, arns: list[str]) -> int:
    """The most jobs that were submitted-or-running at the same emulated moment."""
    events = []
    for arn in arns:
        steps = local.history(arn)
        events.append((steps[0][1], 1))
        events.append((steps[-1][1], -1))
    now = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        now += delta
        peak = max(peak, now)
    return peak


def test_five_jobs_with_a_concurrency_quota_of_two() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}) as local:
        job = new_job(local)  # quotas come from the emulator's Service Quotas
        ids = fill(job, 500)
        plan = job.plan()
        assert plan.quota_source == "service-quotas"
        assert [p.records for p in plan.parts] == [100] * 5
        status = job.submit()
        assert len(status.jobs) == 2 and status.pending == 3
        final = job.wait()
        assert final.status == "Completed" and len(final.jobs) == 5
        assert max_overlap(local, final.job_arns) <= 2
        results = list(job.results())
        assert sorted(r.record_id for r in results) == sorted(ids)
        assert all(r.status == "succeeded" for r in results)
        assert {r.key for r in results} == set(range(500))
        summary = job.summary()
        assert summary.consistent and summary.jobs == 5 and summary.total == 500
        # waiting used one List call per poll, not one Get per job per poll
        assert job.calls["ListModelInvocationJobs"] > 0
        assert job.calls["GetModelInvocationJob"] <= 1
        bedrock = local.client("bedrock")
        assert len(bedrock.list_model_invocation_jobs()["invocationJobSummaries"]) == 5


def test_service_quota_exceeded_means_wait_and_submit_again() -> None:
    with LocalBedrock(
        clock="manual",
        quotas={
            HAIKU: Quotas(min_records_per_job=50, max_records_per_job=100, max_concurrent_jobs=1)
        },
    ) as local:
        job = new_job(local, quotas=SMALL)  # the client believes 2 are allowed; Bedrock says 1
        fill(job, 300)
        job.submit()
        final = job.wait()
        assert final.status == "Completed" and len(final.jobs) == 3
        assert max_overlap(local, final.job_arns) == 1
        assert job.calls["CreateModelInvocationJob"] > 3  # refused creates were retried later
        assert (
            len(local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"]) == 3
        )
        assert job.summary().succeeded == 300


def test_injected_throttling_and_server_errors_change_nothing(no_backoff: list[float]) -> None:
    faults = Faults(throttle_rate=0.2, server_error_rate=0.05)
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}, faults=faults, seed=4) as local:
        job = new_job(local)
        ids = fill(job, 400)
        job.submit()
        job.wait()
        results = list(job.results())
        assert sorted(r.record_id for r in results) == sorted(ids)
        assert all(r.status == "succeeded" for r in results)
        assert (
            len(local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"]) == 4
        )
        kinds = {e.kind for e in local.fault_log}
        assert {"throttle", "server_error"} <= kinds
        assert no_backoff  # botocore retried them


def test_small_job_in_auto_mode_runs_on_demand(caplog: pytest.LogCaptureFixture) -> None:
    with LocalBedrock(clock="manual") as local:
        job = new_job(local)
        ids = fill(job, 40)
        plan = job.plan()
        assert plan.mode == "on_demand"
        with caplog.at_level(logging.INFO, logger="bedrock_batch"):
            status = job.submit()
        assert "on demand" in caplog.text
        assert status.is_terminal and status.jobs == ()
        assert job.wait().status == "Completed"
        results = list(job.results())
        assert sorted(r.record_id for r in results) == sorted(ids)
        assert all(r.status == "succeeded" and r.text and r.usage.output_tokens for r in results)
        assert local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"] == []
        summary = job.summary()
        assert summary.total == 40 and summary.succeeded == 40 and summary.consistent


def test_small_job_in_batch_mode_is_refused_and_never_padded() -> None:
    from bedrock_batch import QuotaError

    with LocalBedrock(clock="manual") as local:
        job = new_job(local, mode="batch")
        fill(job, 40)
        with pytest.raises(QuotaError, match="below the minimum"):
            job.submit()
        assert len(job) == 40


def test_on_demand_mode_and_converse() -> None:
    with LocalBedrock(clock="manual") as local:
        job = new_job(local, mode="on_demand", invocation_type="Converse")
        fill(job, 150)
        job.submit()
        texts = [r.text for r in job.results()]
        assert len(texts) == 150 and all(texts)


def test_retry_after_record_errors_ends_all_succeeded() -> None:
    faults = Faults(record_error_rate=0.15, retryable_record_error_rate=0.05)
    with LocalBedrock(
        clock="manual", faults=faults, quotas={HAIKU: Quotas(min_records_per_job=20)}
    ) as local:
        job = new_job(local)
        ids = fill(job, 300)
        job.submit()
        job.wait()
        first = job.summary()
        assert first.errored > 20
        for _ in range(6):
            if job.retry(include_non_retryable=True) == 0:
                break
            job.wait()
        results = list(job.results())
        assert sorted(r.record_id for r in results) == sorted(ids)
        assert all(r.status == "succeeded" for r in results), job.summary()
        retried = next(r for r in results if r.attempt > 0)
        history = job.results().history(retried.record_id)
        assert history[0].status == "errored" and history[-1].status == "succeeded"
        assert job.summary().attempts > 1


def test_small_retry_goes_on_demand_and_filters_work() -> None:
    faults = Faults(
        record_error_ids={"R0000000001", "R0000000002"}, retryable_record_error_rate=0.03
    )
    with LocalBedrock(clock="manual", faults=faults, seed=2) as local:
        job = new_job(local)
        fill(job, 200)
        job.submit()
        job.wait()
        errored = {r.record_id: r for r in job.results() if r.status == "errored"}
        retryable = {rid for rid, r in errored.items() if r.error and r.error.retryable}
        assert {"R0000000001", "R0000000002"} <= set(errored) and retryable
        assert job.retry(retryable_only=True) == len(retryable)
        assert (
            local.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"][0][
                "jobArn"
            ]
            == job.job_arn
        )
        left = {r.record_id for r in job.results() if r.status == "errored"}
        assert left == {"R0000000001", "R0000000002"}
        assert job.retry(record_ids=["R0000000001"]) == 1
        left = {r.record_id for r in job.results() if r.status == "errored"}
        assert left == {"R0000000002"}


def test_partially_completed_is_salvaged_by_retry() -> None:
    with LocalBedrock(
        clock="manual", faults=Faults(jobs=[JobFault("timeout", at_fraction=0.3)])
    ) as local:
        job = new_job(local, poll=PollConfig(initial=600, max_interval=7200, jitter=0))
        ids = fill(job, 200)
        job.submit()
        assert job.wait().status == "PartiallyCompleted"
        assert job.summary().missing == 140
        assert job.retry() == 140  # a follow-up batch job
        assert job.wait().status in ("Completed", "PartiallyCompleted")
        results = list(job.results())
        assert sorted(r.record_id for r in results) == sorted(ids)
        assert all(r.status == "succeeded" for r in results)


def test_retry_refused_while_running() -> None:
    with LocalBedrock(clock="manual") as local:
        job = new_job(local)
        fill(job, 120)
        job.submit()
        with pytest.raises(StateError, match="wait"):
            job.retry()


def test_cost_estimate_and_actual() -> None:
    with LocalBedrock(clock="manual") as local:
        job = new_job(local)
        fill(job, 200)
        plan = job.plan()
        assert plan.cost.batch is not None and plan.cost.on_demand is not None
        assert plan.cost.batch == pytest.approx(plan.cost.on_demand / 2)
        assert plan.max_output_tokens == 200 * 80
        custom = new_job(local, prices={HAIKU: Price(1000.0, 1000.0, batch_factor=0.25)})
        fill(custom, 200)
        assert custom.plan().cost.batch == pytest.approx(
            0.25 * (custom.plan().estimated_input_tokens + 16000) * 1000 / 1e6
        )
        job.submit()
        job.wait()
        summary = job.summary()
        assert summary.cost_usd == pytest.approx(
            (summary.usage.input_tokens * 0.25 + summary.usage.output_tokens * 1.25) / 1e6 / 2
        )
        assert "cost (USD)" in str(summary)


def test_stop_cancels_jobs_not_yet_created() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}) as local:
        job = new_job(local)
        fill(job, 400)
        job.submit()
        job.stop()
        final = job.wait(raise_on_failure=False)
        assert len(final.jobs) == 2 and final.pending == 0
        counts = {"succeeded": 0, "errored": 0, "missing": 0}
        for r in job.results():
            counts[r.status] += 1
        assert counts["missing"] >= 200 and sum(counts.values()) == 400

"""BatchJob's own promises on top of the parts: the bucket owner on every S3 call, a wait
timeout that is a deadline, a job as a context manager, and unreadable quotas said loudly."""

from __future__ import annotations

from typing import Any

import pytest

from bedrock_batch.local import LocalBedrock

from ..conftest import job_on


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

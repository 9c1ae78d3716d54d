"""What ``retry()`` sends by default (issue 20): the missing records and the errors worth
sending again — not the errors that would fail the same way and be paid for again — and a
retried batch's counters count its records once, by their latest attempt."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bedrock_batch import BatchStatus, PollConfig
from bedrock_batch._reader._reader import not_retryable
from bedrock_batch._reader._results import ErrorInfo
from bedrock_batch.local import LocalBedrock, Quotas

from ..conftest import HAIKU, job_on

N = 300

pytestmark = pytest.mark.emulator(quotas={HAIKU: Quotas(min_records_per_job=10)})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ErrorInfo(400, "bad", retryable=False), True),
        (ErrorInfo(429, "slow down", retryable=False), True),  # the flag wins
        (ErrorInfo(400, "bad", retryable=True), False),
        (ErrorInfo(400, "bad"), True),  # no flag: a 4xx fails the same way again
        (ErrorInfo(404, "gone"), True),
        (ErrorInfo(408, "timeout"), False),
        (ErrorInfo(429, "throttled"), False),
        (ErrorInfo(500, "oops"), False),
        (ErrorInfo(503, "unavailable"), False),
        (None, False),
    ],
)
def test_which_errors_are_not_retryable(error: ErrorInfo | None, expected: bool) -> None:
    assert not_retryable(error) is expected


def _errored_batch(local: LocalBedrock) -> Any:
    local.faults.record_error_rate = 0.08  # a non-retryable 400
    local.faults.retryable_record_error_rate = 0.08  # a retryable 429
    job = job_on(local, poll=PollConfig(initial=60, max_interval=600, jitter=0))
    for i in range(N):
        job.add_prompt(f"q{i}", max_tokens=20)
    job.run()
    local.faults.record_error_rate = local.faults.retryable_record_error_rate = 0.0
    return job


def test_retry_leaves_out_what_is_not_retryable_and_counts_each_record_once(
    local: LocalBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    job = _errored_batch(local)
    errors = Counter(r.error.code for r in job.results() if r.error is not None)
    assert errors[400] > 5 and errors[429] > 5, errors
    with caplog.at_level("INFO", logger="bedrock_batch"):
        assert job.retry() == errors[429]  # before: every errored record, 400s included
    assert f"leaving out {errors[400]} errored record(s) that are not retryable" in caplog.text

    seen: list[BatchStatus] = []
    final = job.wait(callback=seen.append)
    counted = [(s.processed_records, s.total_records) for s in seen]
    assert all(total == N for _, total in counted), counted  # before: N + the retried records
    assert all(done is not None and done <= N for done, _ in counted), counted
    assert final.total_records == final.processed_records == N
    assert Counter(r.status for r in job.results())["errored"] == errors[400]

    # sent on request, with a warning; the retry job's records counted once again
    with caplog.at_level("WARNING", logger="bedrock_batch"):
        assert job.retry(include_non_retryable=True) == errors[400]
    assert f"sending {errors[400]} errored record(s) that are not retryable" in caplog.text
    final = job.wait()
    assert final.total_records == final.processed_records == N
    assert all(r.status == "succeeded" for r in job.results())


def test_records_named_are_sent_whatever_their_error(local: LocalBedrock) -> None:
    job = _errored_batch(local)
    bad = [r.record_id for r in job.results() if r.error is not None and r.error.code == 400]
    assert job.retry(record_ids=bad[:3]) == 3

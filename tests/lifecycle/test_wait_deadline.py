"""A wait's ``timeout`` is a deadline (issue 20): nothing inside the wait — a pause, or the
events' SQS long poll of up to 20 s — runs past it."""

from __future__ import annotations

from typing import Any

import pytest

from bedrock_batch import PollConfig
from bedrock_batch._errors import PollTimeoutError
from bedrock_batch.events import create_event_queue
from bedrock_batch.local import JobFault, LocalBedrock

from ..conftest import job_on


def test_the_events_long_poll_is_cut_to_the_deadline(local: LocalBedrock, session: Any) -> None:
    local.faults.jobs.append(JobFault("stall", times=1))  # the job never ends by itself
    queue = create_event_queue(session, "deadline", wait_seconds=20, safety_interval=3600)
    job = job_on(local, poll=PollConfig(initial=1, max_interval=60, jitter=0))
    for i in range(100):
        job.add_prompt(f"q{i}", max_tokens=20)
    job.submit()
    asked: list[int] = []
    queue.sqs.meta.events.register(
        "provide-client-params.sqs.ReceiveMessage",
        lambda params, **_: asked.append(params.get("WaitTimeSeconds", 0)),
    )
    with pytest.raises(PollTimeoutError):
        job.wait(timeout=2, events=queue)
    # before: the first event-driven step long-polled SQS for its full 20 s
    assert asked and max(asked) <= 2

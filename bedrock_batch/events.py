"""Event-driven waiting: Bedrock's job state-change events, delivered by EventBridge to SQS.

Bedrock emits a "Batch Inference Job State Change" event on the default event bus for every
status change of a model invocation job (``source`` ``aws.bedrock``; ``detail.batchJobArn``,
``detail.status``, ``detail.failureMessage``). An EventBridge rule can send them to an SQS
queue; :meth:`BatchJob.wait` with ``events=`` then learns of each change from the queue instead
of calling ``GetModelInvocationJob``/``ListModelInvocationJobs`` on every poll. Events are
best-effort (AWS says so), so a full poll still runs every ``safety_interval`` seconds: a
missed event delays the wait, it never hangs it.

::

    queue = create_event_queue(session, "my-batches")     # rule + queue + policy, once
    job.submit()
    job.wait(events=queue)
    delete_event_queue(session, queue)                      # when no longer needed

One queue can serve every batch of an account, waited on by several processes at once: a
waiter consumes (deletes) only its own batch's events and hides the others' messages for
``hide_seconds`` while it reads past them, so they stay for the waiters that need them.

The caller needs ``events:PutRule``, ``events:PutTargets`` (and ``events:RemoveTargets``,
``events:DeleteRule`` to clean up), ``sqs:CreateQueue``, ``sqs:GetQueueAttributes``,
``sqs:SetQueueAttributes``, ``sqs:ReceiveMessage``, ``sqs:DeleteMessage`` (and
``sqs:DeleteQueue``); see ``bedrock_batch.iam.event_queue_policy``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

from ._common._codec import decode
from ._errors import translate_client_error
from .iam import event_queue_policy

__all__ = [
    "DETAIL_TYPE",
    "EventQueue",
    "JobEvent",
    "create_event_queue",
    "delete_event_queue",
    "event_pattern",
]

#: The ``detail-type`` of Bedrock's batch job events.
DETAIL_TYPE = "Batch Inference Job State Change"
#: Receives of ten one ``EventQueue.receive`` may make to read past other batches' messages.
_READ_PAST = 10


def event_pattern(job_name_prefix: str | None = None) -> dict[str, Any]:
    """The EventBridge pattern that matches Bedrock's batch job state changes (optionally
    only for jobs whose name starts with ``job_name_prefix``)."""
    pattern: dict[str, Any] = {"source": ["aws.bedrock"], "detail-type": [DETAIL_TYPE]}
    if job_name_prefix:
        pattern["detail"] = {"batchJobName": [{"prefix": job_name_prefix}]}
    return pattern


@attrs.frozen
class JobEvent:
    """One job state change, as Bedrock reported it."""

    job_arn: str
    status: str
    job_name: str = ""
    failure_message: str = ""

    @classmethod
    def from_message(cls, body: str | bytes) -> JobEvent | None:
        """From an SQS message body holding an EventBridge event (None if it is not one)."""
        try:
            event = decode(body)
        except ValueError:
            return None
        if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
            return None
        detail = event.get("detail")
        if not isinstance(detail, dict):
            return None
        arn, status = detail.get("batchJobArn"), detail.get("status")
        if not isinstance(arn, str) or not isinstance(status, str):
            return None
        return cls(
            arn,
            status,
            str(detail.get("batchJobName") or ""),
            str(detail.get("failureMessage") or ""),
        )


@attrs.define
class EventQueue:
    """An SQS queue that receives Bedrock's job state-change events (see the module docstring).

    Args:
        queue_url: the queue.
        sqs: an SQS client in the queue's region.
        rule_name: the EventBridge rule that feeds it (for :func:`delete_event_queue`).
        wait_seconds: SQS long polling (0 to 20): how long one receive may wait for events.
        safety_interval: seconds of waiting between two full polls of the jobs (events are
            best-effort).
        hide_seconds: how long another batch's message stays hidden once read past (its own
            waiter sees it after that; nothing of another batch is ever deleted).
    """

    queue_url: str
    sqs: Any
    rule_name: str | None = None
    wait_seconds: int = 20
    safety_interval: float = 600.0
    #: Messages received, by outcome (tests and benchmarks read it).
    received: int = 0
    hide_seconds: int = 30

    def receive(
        self, arns: set[str] | frozenset[str] | None = None, *, wait_seconds: int | None = None
    ) -> Iterator[JobEvent]:
        """Events waiting in the queue, deleting those consumed.

        With ``arns``, only events of those jobs are consumed. Another batch's messages are
        never deleted — another waiter may need them: they are hidden for ``hide_seconds`` so
        this call reads past them (up to ten receives of ten), then visible again to whoever
        waits on them. Without ``arns`` every event is consumed. ``wait_seconds`` overrides
        the long poll's (a wait's deadline cuts it).
        """
        events: list[JobEvent] = []
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        for _ in range(_READ_PAST):
            mine, seen = self._receive_once(arns, wait)
            events.extend(mine)
            if mine or not seen or arns is None:
                break
            wait = 0  # only others' messages so far: read on past them, without waiting
        yield from events

    def _receive_once(
        self, arns: set[str] | frozenset[str] | None, wait: int
    ) -> tuple[list[JobEvent], int]:
        """One ReceiveMessage: this waiter's events (their messages deleted) and how many
        messages came (others' are hidden, not deleted)."""
        with translate_client_error("ReceiveMessage"):
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
            )
        done: list[dict[str, str]] = []
        others: list[dict[str, Any]] = []
        events: list[JobEvent] = []
        messages = reply.get("Messages", [])
        for message in messages:
            self.received += 1
            event = JobEvent.from_message(message.get("Body", ""))
            handle = message["ReceiptHandle"]
            if event is not None and arns is not None and event.job_arn not in arns:
                others.append({"Id": str(len(others)), "ReceiptHandle": handle, "VisibilityTimeout": self.hide_seconds})  # fmt: skip
                continue
            done.append({"Id": str(len(done)), "ReceiptHandle": handle})
            if event is not None:
                events.append(event)
        if done:
            with translate_client_error("DeleteMessageBatch"):
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
        if others:
            with translate_client_error("ChangeMessageVisibilityBatch"):
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=others)
        return events, len(messages)


def create_event_queue(
    session: Any,
    name: str,
    *,
    job_name_prefix: str | None = None,
    wait_seconds: int = 20,
    safety_interval: float = 600.0,
    hide_seconds: int = 30,
) -> EventQueue:
    """Create (or reuse) the SQS queue ``name``, an EventBridge rule of the same name on the
    default bus sending Bedrock's batch job events to it, and the queue policy that lets
    EventBridge deliver them (only from that rule). Idempotent."""
    sqs = session.client("sqs")
    events = session.client("events")
    with translate_client_error("CreateQueue"):
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    with translate_client_error("PutRule"):
        rule_arn = events.put_rule(
            Name=name, EventPattern=json.dumps(event_pattern(job_name_prefix)), State="ENABLED"
        )["RuleArn"]
        events.put_targets(Rule=name, Targets=[{"Id": "bedrock-batch", "Arn": queue_arn}])
    policy = event_queue_policy(queue_arn, rule_arn)
    with translate_client_error("SetQueueAttributes"):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    return EventQueue(
        queue_url, sqs, name, wait_seconds, safety_interval, hide_seconds=hide_seconds
    )


def delete_event_queue(session: Any, queue: EventQueue) -> None:
    """Remove the rule's target, the rule and the queue."""
    events = session.client("events")
    if queue.rule_name:
        with translate_client_error("DeleteRule"):
            events.remove_targets(Rule=queue.rule_name, Ids=["bedrock-batch"])
            events.delete_rule(Name=queue.rule_name)
    with translate_client_error("DeleteQueue"):
        queue.sqs.delete_queue(QueueUrl=queue.queue_url)

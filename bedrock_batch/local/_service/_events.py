"""EventBridge: a "Batch Inference Job State Change" event for every status a job enters.

The event has exactly the documented shape (``bedrock-facts.md`` §8, sample in
``samples/aws-docs_monitoring-eventbridge__batch-job-state-change_event.jsonl``), including
its unusual time formats. Events are put on moto's default event bus of the job's region
through an ordinary boto3 ``events`` client, so an EventBridge rule on
``{"source": ["aws.bedrock"], "detail-type": ["Batch Inference Job State Change"]}`` with an
SQS target delivers them the way AWS would. moto builds the delivered envelope itself (its
``time`` is ISO 8601); :attr:`EventBus.sent` keeps the events as Bedrock would emit them.

AWS delivers these events "best-effort": ``drop_rate`` drops a seeded fraction of them so
clients can test their polling safety net.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from .._config import FaultEvent, Faults
from ._lifecycle import Job

__all__ = ["DETAIL_TYPE", "SOURCE", "EventBus", "creation_time", "envelope_time"]

log = logging.getLogger("bedrock_batch.local")

SOURCE = "aws.bedrock"
DETAIL_TYPE = "Batch Inference Job State Change"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WITH_MESSAGE = frozenset({"Failed", "Expired", "PartiallyCompleted"})
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _utc(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, tz=dt.timezone.utc)


def envelope_time(stamp: float) -> str:
    """The envelope's ``time``, e.g. ``Wed Aug 28 22:58:30 UTC 2024``."""
    t = _utc(stamp)
    return f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} {t:%H:%M:%S} UTC {t.year}"


def creation_time(stamp: float) -> str:
    """``detail.creationTime``, e.g. ``Aug 28, 2024, 10:47:53 PM``."""
    t = _utc(stamp)
    hour = t.hour % 12 or 12
    return f"{_MONTHS[t.month - 1]} {t.day}, {t.year}, {hour}:{t:%M:%S} {'PM' if t.hour >= 12 else 'AM'}"


class EventBus:
    """Builds the events and puts them on moto's default bus, outside the backend's lock."""

    def __init__(
        self,
        *,
        enabled: bool,
        drop_rate: float,
        seed: int,
        faults: Faults,
        client: Callable[[str], Any] | None,
        keep: int = 10_000,
    ) -> None:
        self.enabled = enabled
        self.drop_rate = drop_rate
        self.faults = faults
        self._client = client
        self._clients: dict[str, Any] = {}
        self._rng = random.Random(seed ^ 0xE7E17)
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        #: The events emitted (and not dropped), newest last, as Bedrock writes them.
        self.sent: deque[dict[str, Any]] = deque(maxlen=keep)

    def emit(self, job: Job, stamp: float) -> None:
        """Queue the event for ``job``'s current status (called under the backend's lock)."""
        if not self.enabled:
            return
        event = {
            "version": "0",
            "id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": job.account,
            "time": envelope_time(stamp),
            "region": job.region,
            "resources": [job.arn],
            "detail": {
                "version": "0.0",
                "accountId": job.account,
                "batchJobName": job.name,
                "batchJobArn": job.arn,
                "batchModelId": job.model_arn,
                "status": job.status,
                "failureMessage": (job.message or "") if job.status in _WITH_MESSAGE else "",
                "creationTime": creation_time(job.submit_stamp),
            },
        }
        if self.drop_rate and self._rng.random() < self.drop_rate:
            self.faults.log.append(FaultEvent("event_dropped", job_id=job.job_id))
            return
        with self._lock:
            self.sent.append(event)
            self._pending.append({"event": event, "stamp": stamp})

    def flush(self) -> None:
        """Put the queued events on the default bus of their regions."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending or self._client is None:
            return
        by_region: dict[str, list[dict[str, Any]]] = {}
        for item in pending:
            event = item["event"]
            by_region.setdefault(event["region"], []).append(
                {
                    "Source": SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event["resources"],
                    "Time": _utc(item["stamp"]),
                }
            )
        for region, entries in by_region.items():
            try:
                if region not in self._clients:
                    self._clients[region] = self._client(region)
                client = self._clients[region]
                if client is None:  # no EventBridge to put them on (S3 is not moto's)
                    continue
                for i in range(0, len(entries), 10):
                    client.put_events(Entries=entries[i : i + 10])
            except Exception as err:  # best-effort, like EventBridge itself
                log.warning(
                    "Local Bedrock could not put %d event(s) on EventBridge: %s", len(entries), err
                )

"""Retrying a batch's failed records: select them by their latest attempt, check their inputs
are readable, and record the retry attempt in the ledger before anything runs."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .._errors import StateError
from .._uploader._spec import Mode
from .._uploader._uploader import Uploader

if TYPE_CHECKING:
    from .._job import BatchJob

__all__ = ["plan_retry"]

log = logging.getLogger("bedrock_batch")


def plan_retry(
    job: BatchJob,
    *,
    statuses: Sequence[str],
    retryable_only: bool,
    record_ids: Iterable[str] | None,
    mode: Mode,
) -> int:
    """Record a retry of ``job``'s selected records and take its first step; returns how many
    (see :meth:`BatchJob.retry`)."""
    store, lifecycle, reader = job._parts()
    if not store.persistent:
        raise StateError(
            "this job was not created by bedrock_batch, so there is no ledger to retry "
            "from; add its records to a new BatchJob"
        )
    if not job.describe().is_terminal:
        raise StateError("wait() for the running jobs before retrying")
    ledger = store.sync()
    selection = reader.select_retry(
        ledger, job.results(), lifecycle.last, statuses=statuses,
        retryable_only=retryable_only, record_ids=record_ids,
    )  # fmt: skip
    if not selection.targets:
        return 0
    uploader = Uploader(store.s3)
    source = uploader.retry_source(reader.inputs, ledger, selection.targets)
    try:
        attempt = uploader.plan_retry(ledger, selection.targets, source, mode=mode)
        lifecycle.add_attempt(attempt, selection.superseded)
    finally:
        source.close()
    log.info("retrying %d records (attempt %d)", len(selection.targets), attempt.number)
    job._step()
    return len(selection.targets)

"""Retrying a batch's failed records: select them by their latest attempt, check their inputs
are readable, and record the retry attempt in the ledger before anything runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from .._batch._spec import Mode
from .._errors import StateError
from .._reader._resultset import Results
from ._parts import BatchParts

__all__ = ["plan_retry"]

log = logging.getLogger("bedrock_batch")


def plan_retry(
    parts: BatchParts,
    results: Callable[[], Results],
    *,
    statuses: Sequence[str],
    retryable_only: bool,
    record_ids: Iterable[str] | None,
    mode: Mode,
) -> int:
    """Record a retry of the selected records of the batch ``parts`` move (``results`` reads
    its results) and take its first step; returns how many (see :meth:`BatchJob.retry`)."""
    store, lifecycle, reader = parts.store, parts.lifecycle, parts.reader
    if not store.persistent:
        raise StateError(
            "this job was not created by bedrock_batch, so there is no ledger to retry "
            "from; add its records to a new BatchJob"
        )
    if not parts.describe().is_terminal:
        raise StateError("wait() for the running jobs before retrying")
    ledger = store.sync()
    if ledger.unresolved:  # their job may still turn up: retrying its records could pay twice
        names = ", ".join(j.name for j in ledger.unresolved)
        raise StateError(
            f"the create of {names} lost its answer before the batch was stopped and its job "
            "has not been found yet; retry once it is found (any status call looks) or once "
            "its client request token's window has passed (PollConfig.create_token_window)"
        )
    selection = reader.select_retry(
        ledger, results(), lifecycle.last, statuses=statuses,
        retryable_only=retryable_only, record_ids=record_ids,
    )  # fmt: skip
    if not selection.targets:
        return 0
    uploader = parts.uploader
    source = uploader.retry_source(reader.inputs, ledger, selection.targets)
    try:
        attempt = uploader.plan_retry(ledger, selection.targets, source, mode=mode)
        lifecycle.add_attempt(attempt, selection.superseded)
    finally:
        source.close()
    log.info("retrying %d records (attempt %d)", len(selection.targets), attempt.number)
    parts.step()
    return len(selection.targets)

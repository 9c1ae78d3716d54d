"""Retrying a batch's failed records: select them by their latest attempt, check their inputs
are readable, and record the retry attempt in the ledger before anything runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from .._batch._spec import Mode
from .._errors import StateError
from .._ledger._ledger import Ledger
from .._reader._reader import RetrySelection
from .._reader._resultset import Results
from ._parts import BatchParts

__all__ = ["plan_retry"]

log = logging.getLogger("bedrock_batch")

#: Checks a retry against the batch's spending cap: (ledger, results read, the retry's input
#: lines, how many records) — raises :class:`BudgetError` to refuse it.
Budget = Callable[[Ledger, Results, Iterable[bytes], int], None]


def plan_retry(
    parts: BatchParts,
    results: Callable[[], Results],
    *,
    statuses: Sequence[str],
    retryable_only: bool,
    record_ids: Iterable[str] | None,
    mode: Mode,
    include_non_retryable: bool = False,
    budget: Budget | None = None,
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
    basis = len(store.sync().attempts)  # every job of these attempts has ended
    read = results()  # reads the latest ledger: a concurrent retry may have been stored since
    ledger = store.sync()
    if ledger.unresolved:  # their job may still turn up: retrying its records could pay twice
        names = ", ".join(j.name for j in ledger.unresolved)
        raise StateError(
            f"the create of {names} lost its answer before the batch was stopped and its job "
            "has not been found yet; retry once it is found (any status call looks) or once "
            "its client request token's window has passed (PollConfig.create_token_window)"
        )
    selection = reader.select_retry(
        ledger, read, lifecycle.last, statuses=statuses,
        retryable_only=retryable_only, record_ids=record_ids,
        include_non_retryable=include_non_retryable,
    )  # fmt: skip
    if selection.non_retryable and selection.non_retryable_sent:
        log.warning(
            "sending %d errored record(s) that are not retryable (retryable=false, or a 4xx "
            "other than 408/429) again, in %d request(s): they are paid for again and may fail "
            "the same way",
            selection.non_retryable, selection.non_retryable_requests,
        )  # fmt: skip
    elif selection.non_retryable:
        log.info(
            "leaving out %d errored record(s) that are not retryable (retryable=false, or a "
            "4xx other than 408/429); include_non_retryable=True sends them too",
            selection.non_retryable,
        )
    if not selection.targets:
        return 0
    check = None if budget is None else (lambda latest, lines, n: budget(latest, read, lines, n))
    sent = plan_and_store(parts, ledger, basis, selection, mode=mode, budget=check)
    if sent:
        parts.step()
    return sent


#: How many times a retry is planned again after other retries were stored first.
_MAX_RACES = 20


def plan_and_store(
    parts: BatchParts,
    ledger: Ledger,
    basis: int,
    selection: RetrySelection,
    *,
    mode: Mode,
    budget: Callable[[Ledger, Iterable[bytes], int], None] | None = None,
) -> int:
    """Plan the retry of the ``selection`` made on ``ledger`` (whose first ``basis`` attempts
    had ended) and store it as the next attempt; returns how many records it sends.

    A record an attempt from ``basis`` on targets — a concurrent retry's, stored after this
    one's jobs were seen to have ended — is left out: it is being sent already. An attempt is
    stored under the number it was planned with, or not at all: when another retry wins the
    conditional write, this one is planned again on the latest ledger, without that retry's
    records, as the next number. So two concurrent retries become two attempts with distinct
    part names, input folders, targets and tokens, and no record is sent by both. With
    nothing left to send, nothing is stored (0). ``budget`` checks each plan against the
    ledger it is written on: a retry planned again checks the cap again, the attempts stored
    meanwhile counted.
    """
    reader, uploader, lifecycle = parts.reader, parts.uploader, parts.lifecycle
    targets: Sequence[str] = selection.targets
    for _ in range(_MAX_RACES):
        taken = {rid for a in ledger.attempts[basis:] for rid in reader.targets_of(ledger, a)}
        if taken.intersection(targets):
            log.info(
                "%d record(s) to retry are sent by a concurrent retry already; leaving them out",
                len(taken.intersection(targets)),
            )
            targets = [t for t in targets if t not in taken]
        if not targets:
            return 0
        source = uploader.retry_source(reader.inputs, ledger, targets)
        try:
            if budget is not None:  # before the targets are written: nothing stored or sent
                budget(ledger, source.iter_lines(), len(source))
            attempt = uploader.plan_retry(ledger, targets, source, mode=mode)
        finally:
            source.close()
        if lifecycle.add_attempt(attempt, selection.superseded_with(taken)):
            log.info(
                "retrying: %d request(s) sent again (attempt %d)", len(targets), attempt.number
            )
            return len(targets)
        ledger = parts.store.refresh()  # another retry was stored first: plan again
    raise StateError(
        f"{parts.store.uri}: other retries kept being stored first ({_MAX_RACES} times)"
    )

"""The cost cap under concurrent retries: two capped ``retry()`` calls on one batch whose ledger
writes race never together pass the cap — the one that loses the conditional write checks the
cap again on the new ledger, the winner's attempt counted at its bound."""

from __future__ import annotations

from typing import Any

import pytest

from bedrock_batch import BatchJob, BudgetError, PollConfig
from bedrock_batch._budget import bound_lines
from bedrock_batch._catalog import lookup_model
from bedrock_batch._pricing import price_for
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import HAIKU, job_on, track
from .test_concurrent_retries import RunFirst

FAST = PollConfig(initial=30, max_interval=600, jitter=0)
FAILING = {f"R{i:010d}" for i in range(0, 200, 5)}  # 40 of 200 records errored


def failed_batch(local: LocalBedrock, session: Any) -> tuple[BatchJob, list[str]]:
    job = job_on(local, session=session)
    for i in range(200):
        job.add_prompt(f"question {i}: what is {i} + {i}?", max_tokens=50)
    job.submit()
    job.wait(raise_on_failure=False)
    ids = sorted(r.record_id for r in job.results() if r.status == "errored")
    assert ids == sorted(FAILING)
    return job, ids


def handle(job: BatchJob, local: LocalBedrock, session: Any, cap: float) -> BatchJob:
    return track(BatchJob.attach(job.state_uri or "", session=session, sleep=local.advance, poll=FAST, max_cost_usd=cap))  # fmt: skip


def figures(job: BatchJob, local: LocalBedrock, session: Any, ids: list[str]) -> tuple[float, float]:  # fmt: skip
    """What the batch spent and the bound of retrying ``ids`` on demand (a cap that refuses)."""
    with pytest.raises(BudgetError) as err:
        handle(job, local, session, 1e-9).retry(record_ids=ids, mode="on_demand")
    assert err.value.spent is not None and err.value.bound is not None
    return err.value.spent, err.value.bound


@pytest.mark.emulator(faults=Faults(record_error_ids=FAILING))
def test_the_loser_of_two_racing_capped_retries_checks_the_cap_again(
    local: LocalBedrock, session: Any
) -> None:
    hook = RunFirst(session)  # before any client of the handles below is made
    job, ids = failed_batch(local, session)
    mine, theirs = ids[:20], ids[20:]
    spent, bound_mine = figures(job, local, session, mine)
    assert figures(job, local, session, theirs)[0] == spent
    bound_theirs = figures(job, local, session, theirs)[1]
    # room for either retry alone, not for both
    cap = spent + max(bound_mine, bound_theirs) + min(bound_mine, bound_theirs) / 2
    first, second = handle(job, local, session, cap), handle(job, local, session, cap)
    sent: dict[str, Any] = {}

    def their_retry() -> None:
        sent["theirs"] = first.retry(record_ids=theirs, mode="on_demand")

    hook.other = their_retry  # runs inside this retry's ledger write, and wins it
    with pytest.raises(BudgetError, match="already spent") as err:
        second.retry(record_ids=mine, mode="on_demand")
    assert hook.ran == 1 and sent == {"theirs": 20}
    assert err.value.spent is not None and err.value.spent >= spent + bound_theirs  # theirs counted
    ledger = BatchJob.attach(job.state_uri or "", session=session).ledger
    assert ledger is not None and len(ledger.attempts) == 2  # the loser stored nothing
    # a retry whose bound fits beside both still goes through, on the ledger as it is now
    roomy = handle(job, local, session, cap + bound_mine)
    assert roomy.retry(record_ids=mine, mode="on_demand") == 20


@pytest.mark.emulator(faults=Faults(record_error_ids=FAILING))
def test_racing_capped_retries_that_both_fit_both_run(local: LocalBedrock, session: Any) -> None:
    hook = RunFirst(session)
    job, ids = failed_batch(local, session)
    mine, theirs = ids[:20], ids[20:]
    spent, bound_mine = figures(job, local, session, mine)
    bound_theirs = figures(job, local, session, theirs)[1]
    # the in-flight attempt counts at its bound: its records at the model's maximum output (the
    # ledger does not keep their max_tokens), here a tenth of the 200 records' such bound
    model = lookup_model(HAIKU)[0]
    assert model is not None
    whole = bound_lines(
        job._records.store.iter_lines(), output_tokens=200 * model.max_output_tokens,
        model_id=HAIKU, model=model, price=price_for(HAIKU), batch=False, cap=1.0,
    )  # fmt: skip
    assert bound_theirs < whole.usd / 10  # a retry's own bound: its records' max_tokens
    cap = (spent + bound_mine + whole.usd / 10) * 1.5
    first, second = handle(job, local, session, cap), handle(job, local, session, cap)
    sent: dict[str, Any] = {}
    hook.other = lambda: sent.update(theirs=first.retry(record_ids=theirs, mode="on_demand"))
    sent["mine"] = second.retry(record_ids=mine, mode="on_demand")
    assert hook.ran == 1 and sent == {"theirs": 20, "mine": 20}

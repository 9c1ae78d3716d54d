"""The model-based test finds issue 18's problems 1, 2, 3 and 7 on the code as it was.

Their fixes have landed, so each problem is put back by a *mutant* (a monkeypatch of the
library re-introducing that one bug) and the state machine of ``test_model_based.py`` is run
with its own search — the same rules and strategies, no hand-written sequence, no example
database — until an invariant fails; the test asserts that it does, and with the problem's
symptom. Opt-in (minutes): ``pytest -m mutants -n 0 tests/promises/test_model_based_mutants.py``
(the ``mutants`` marker is deselected otherwise, like ``bigmem``). ``-s`` prints each failing
sequence; ``BEDROCK_BATCH_MUTANTS_SHRINK=1`` shrinks it first (minutes more: the shrinker runs
the machine hundreds of times). Problem 1's mutant also turns off the later look-ups of a lost
create (attach, status and summary did not look before the fix), which would otherwise find
its job before the stop.

Found by the search (no shrinking: 41, 141, 8 and 7 s of a 150-example budget, one run,
2026-12-03; the finds of problems 1 and 2 need a scenario and a follow-up drawn together, about
one example in ten to fifteen, so their time varies), and the shrunk sequences:

1. ``add_records_and_submit(scenario=("auto", "lost Create answer"), n=20, record_errors=0.1,
   then="stop from another handle")``, then the final run: "the ledger does not know
   bedrock-batch-...-p000" (the stop had cancelled the entry and left its job running).
2. ``add_records_and_submit(scenario=("auto", "stop inside Create"), n=47, record_errors=0.1,
   then="wait and race two retries")``, then the final run: ``PollTimeoutError`` after 4 days
   of polling (the job whose input the other retry overwrote never ends: "wait() never ends");
   and with ``n=20`` (and a crash between calls the shrinker had no time left to remove):
   "paid twice: r0000, r0002, ..." (both retries sent the even records). Shrinking stopped at
   hypothesis's own time limit (400 s in all).
3. ``add_records_and_submit(scenario=("auto", "claim expires during an on-demand retry"),
   n=32, record_errors=0.1, then="wait and retry")``: "the owner whose claim was taken over
   made 13 more InvokeModel calls" (bound 12); unshrunk finds also fail as "paid twice".
7. ``add_records_and_submit(scenario=("auto", "stop during an on-demand retry"), n=31,
   record_errors=0.3, then="wait and retry")``: "13 InvokeModel calls followed the stop" (bound
   12). Shrunk to the edge of the bound, where the runner's two threads may make one call
   fewer on a replay (hypothesis then says ``FlakyFailure``, holding this failure); unshrunk:
   ``scenario=("on_demand", "stop during the run"), n=20``: 15 calls.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import attrs
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from bedrock_batch._ledger._ledger import Attempt, Ledger
from bedrock_batch._lifecycle import _ondemand
from bedrock_batch._lifecycle._claims import Claims, Held
from bedrock_batch._lifecycle._lifecycle import Lifecycle

from .test_model_based import BatchLifecycle

pytestmark = pytest.mark.mutants

#: Examples the search may run for one mutant (it stops at the first failure).
BUDGET = 150
#: Shrink the failure found (``BEDROCK_BATCH_MUTANTS_SHRINK=1``): minutes more per mutant.
SHRINK = os.environ.get("BEDROCK_BATCH_MUTANTS_SHRINK") == "1"


def _stop_cancels_creating(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problem 1: ``stop()`` turns a ``creating`` entry into ``cancelled`` without looking its
    job up (a create whose answer was lost is orphaned), and nothing but the creating process's
    next step looks for it (as before the fix: attaching, a status or a summary did not)."""
    stop = Ledger.stop

    def mutant(self: Ledger, at: str | None = None) -> Ledger:
        ledger = stop(self, at)
        attempts = tuple(
            attrs.evolve(
                a,
                jobs=tuple(
                    attrs.evolve(j, phase="cancelled", creating_at=None)
                    if j.phase == "creating"
                    else j
                    for j in a.jobs
                ),
            )
            for a in ledger.attempts
        )
        return attrs.evolve(ledger, attempts=attempts)

    monkeypatch.setattr(Ledger, "stop", mutant)
    monkeypatch.setattr(Lifecycle, "resolve", lambda self: None)


def _retry_renumbered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problem 2: a retry that loses the conditional write is renumbered but keeps its planned
    part names, input folder and targets key."""

    def mutant(self: Lifecycle, attempt: Attempt, superseded: frozenset[str]) -> bool:
        def add(ledger: Ledger) -> Ledger:
            renumbered = attrs.evolve(attempt, number=len(ledger.attempts))
            return ledger.with_attempt(renumbered, superseded)

        self.ledger.transition(add)
        return True

    monkeypatch.setattr(Lifecycle, "add_attempt", mutant)


def _claim_never_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problem 3: a claimant never checks its fence between calls (it keeps answering a slice
    another process took over)."""

    def mutant(self: Claims, held: Held) -> bool:
        held.calls += 1
        return True

    monkeypatch.setattr(Claims, "still_held", mutant)


def _stop_ignored_between_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problem 7: the on-demand runner reads the batch's phase only before claiming a slice,
    never between calls (a stored stop does not interrupt the slice)."""
    monkeypatch.setattr(_ondemand, "STOP_CHECK_CALLS", 10**9)
    monkeypatch.setattr(_ondemand, "STOP_CHECK_SECONDS", 1e9)


#: problem -> (mutant, what the failure must say)
MUTANTS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "1 stop orphans a lost create": (_stop_cancels_creating, r"after stop\(\)|does not know"),
    "2 concurrent retries share parts": (_retry_renumbered, r"."),
    "3 claims unfenced": (_claim_never_checked, r"fenced claims|paid twice"),
    "7 stop ignored between calls": (_stop_ignored_between_calls, r"followed the stop"),
}


@pytest.mark.parametrize("problem", sorted(MUTANTS))
def test_the_model_based_test_finds(problem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mutate, symptom = MUTANTS[problem]
    mutate(monkeypatch)
    search = settings(
        BatchLifecycle.TestCase.settings,
        max_examples=BUDGET,
        database=None,
        phases=[Phase.generate, Phase.shrink] if SHRINK else [Phase.generate],
        print_blob=False,
    )
    started = time.monotonic()
    with pytest.raises(Exception) as found:
        run_state_machine_as_test(BatchLifecycle, settings=search)
    failures = [found.value, *getattr(found.value, "exceptions", ())]
    print(f"\n{problem}: found in {time.monotonic() - started:.0f} s")
    for failure in failures:
        print(repr(failure)[:500], *getattr(failure, "__notes__", []), sep="\n")
    # Shrinking drives the example to the edge of the bound, where the runner's two threads
    # may make one call fewer when it is replayed: hypothesis then reports a FlakyFailure
    # (an exception group) holding the failure it found.
    assert any(re.search(symptom, str(f)) for f in failures), (
        f"{problem}: another failure: {found.value!r}"
    )

"""The plan's cost estimate and the cost cap of a batch with ``dedupe=`` or ``reuse=``: records
answered without being sent cost nothing, so the estimate and the bound count only the records
sent — the same figures as a batch of just those records."""

from __future__ import annotations

from typing import Any

import pytest

from bedrock_batch import BatchJob, BudgetError, Quotas
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU
from .test_reuse import CACHE, Sent, handle

QUOTAS = Quotas(min_records_per_job=5, max_records_per_job=1000, max_concurrent_jobs=4)
pytestmark = pytest.mark.emulator(quotas={HAIKU: QUOTAS})


def batch(local: LocalBedrock, session: Any, bodies: list[int], *, inputs: str = "in", **kwargs: Any) -> BatchJob:  # fmt: skip
    job = handle(local, session, inputs=inputs, quotas=QUOTAS, **kwargs)
    for b in bodies:
        job.add(body(b))
    return job


def body(b: int) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 40 + b,  # each body its own bound
        "messages": [{"role": "user", "content": f"question {b}: what is {b} squared?"}],
    }


def bound(job: BatchJob) -> float:
    with pytest.raises(BudgetError) as err:
        job.submit()
    assert err.value.bound is not None
    return err.value.bound


BODIES = [n % 7 for n in range(30)]  # 30 records, 7 distinct bodies (the first 7 distinct)


def test_dedupe_estimates_and_bounds_only_the_records_sent(
    local: LocalBedrock, session: Any
) -> None:
    deduped = batch(local, session, BODIES, dedupe=True, max_cost_usd=1e-6)
    alone = batch(local, session, BODIES[:7], inputs="in2", max_cost_usd=1e-6)  # the 7 sent
    everything = batch(local, session, BODIES, inputs="in3", max_cost_usd=1e-6)
    plan, plan_alone, plan_all = deduped.plan(), alone.plan(), everything.plan()
    assert (plan.records, plan.deduplicated) == (7, 23)
    assert plan.max_output_tokens == plan_alone.max_output_tokens == sum(40 + b for b in range(7))
    assert plan.estimated_input_tokens == plan_alone.estimated_input_tokens
    assert plan.cost == plan_alone.cost and plan.cost.batch < plan_all.cost.batch
    assert bound(deduped) == bound(alone) < bound(everything)
    assert "at most" in (plan.budget or "") and (plan.budget or "") == (plan_alone.budget or "")
    sent = Sent(session)
    roomy = batch(local, session, BODIES, inputs="in4", dedupe=True, max_cost_usd=bound(alone) * 1.01)  # fmt: skip
    roomy.submit()  # the 7 sent fit the cap; the 30 would not
    roomy.wait()
    assert sent.job_lines() == 7 and roomy.summary().succeeded == 30


def test_reuse_bounds_only_the_records_it_will_send(local: LocalBedrock, session: Any) -> None:
    first = batch(local, session, list(range(20)), reuse=CACHE)
    first.submit()
    first.wait()
    again = batch(local, session, list(range(15, 25)), inputs="in2", reuse=CACHE, max_cost_usd=1e-6)  # fmt: skip
    new = batch(local, session, list(range(20, 25)), inputs="in3", max_cost_usd=1e-6)
    plan = again.plan()
    assert (plan.records, plan.reused) == (5, 5)
    assert plan.max_output_tokens == new.plan().max_output_tokens == sum(40 + b for b in range(20, 25))  # fmt: skip
    assert plan.cost == new.plan().cost
    assert bound(again) == bound(new)
    everything = batch(
        local, session, list(range(20)), inputs="in4", reuse=CACHE, max_cost_usd=1e-6
    )
    plan = everything.plan()
    assert (plan.records, plan.reused, plan.max_output_tokens) == (0, 20, 0)
    assert plan.cost.batch == 0
    everything.submit()  # nothing sent costs nothing: under any cap
    everything.wait()
    assert everything.summary().reused == 20

"""The cost cap's bound is never below the bill: every priced text family of the catalogue,
batch and on demand, its bound against what Local Bedrock's answers cost (``summary()``)."""

from __future__ import annotations

import pytest

from bedrock_batch._catalog import CATALOG, EMBEDDING_FAMILIES
from bedrock_batch._pricing import price_for
from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

#: One priced model per text family (its first in the catalogue), by the id a job uses.
ONE_PER_FAMILY = sorted(
    {
        m.family: ("us." if m.requires_profile else "") + m.model_id
        for m in reversed(list(CATALOG.values()))
        if price_for(m.model_id) is not None and m.family not in EMBEDDING_FAMILIES
    }.values()
)


def test_every_priced_text_family_is_covered() -> None:
    families = {CATALOG[m.removeprefix("us.")].family for m in ONE_PER_FAMILY}
    assert {"anthropic", "llama", "mistral", "nova", "titan-text"} <= families


@pytest.mark.parametrize("mode", ["batch", "on_demand"])
@pytest.mark.parametrize("model_id", ONE_PER_FAMILY)
def test_the_bound_covers_what_the_records_cost(
    local: LocalBedrock, model_id: str, mode: str
) -> None:
    job = job_on(local, model_id, max_cost_usd=1000.0, mode=mode)
    for i in range(100 if mode == "batch" else 4):
        # no max_tokens: the answers may run to the model's own maximum
        job.add_prompt(f"Tell me a long story about the number {i}. " * 3)
    plan = job.plan()
    assert job.budget is not None
    bound = job.budget.bound(plan, job._records)
    job.run()
    summary = job.summary()
    if not summary.usage.known:  # Mistral on demand: its bodies carry no counts
        assert summary.cost_usd is None  # unknown, never $0
        return
    assert summary.cost_usd is not None and summary.cost_usd <= bound.usd
    if summary.usage.known:
        assert summary.cost_usd > 0
        assert summary.usage.input_tokens <= bound.input_tokens
        assert summary.usage.output_tokens <= bound.output_tokens

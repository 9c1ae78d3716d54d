"""Prices for cost estimates: a small built-in table, overridable by the user.

The table holds approximate public on-demand list prices in USD per million tokens (us-east-1),
as of ``PRICES_DATE``. Batch inference is priced at ``BATCH_FACTOR`` (50 %) of on-demand for
the models that support it (facts §9; per-model exceptions are UNVERIFIED). Pass your own
``prices=`` to :class:`~bedrock_batch.BatchJob` for real numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._catalog import base_model_id
from ._families._usage import Usage

__all__ = ["BATCH_FACTOR", "PRICES", "PRICES_DATE", "Cost", "Price", "price_for"]

PRICES_DATE = "2025-06-01"
BATCH_FACTOR = 0.5


@attrs.frozen
class Price:
    """On-demand USD per million input and output tokens; batch is ``batch_factor`` of that."""

    input_per_million: float
    output_per_million: float
    batch_factor: float = BATCH_FACTOR

    def cost(self, usage: Usage, *, batch: bool) -> float:
        """USD for this many tokens, at batch or on-demand prices."""
        factor = self.batch_factor if batch else 1.0
        return (
            factor
            * (
                usage.input_tokens * self.input_per_million
                + usage.output_tokens * self.output_per_million
            )
            / 1e6
        )


#: Approximate on-demand list prices (USD per 1M tokens, us-east-1) as of PRICES_DATE.
PRICES: dict[str, Price] = {
    "anthropic.claude-3-haiku-20240307-v1:0": Price(0.25, 1.25),
    "anthropic.claude-3-sonnet-20240229-v1:0": Price(3.0, 15.0),
    "anthropic.claude-3-opus-20240229-v1:0": Price(15.0, 75.0),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": Price(3.0, 15.0),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": Price(3.0, 15.0),
    "anthropic.claude-3-5-haiku-20241022-v1:0": Price(0.8, 4.0),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": Price(3.0, 15.0),
    "anthropic.claude-sonnet-4-20250514-v1:0": Price(3.0, 15.0),
    "anthropic.claude-haiku-4-5-20251001-v1:0": Price(1.0, 5.0),
    "amazon.nova-micro-v1:0": Price(0.035, 0.14),
    "amazon.nova-lite-v1:0": Price(0.06, 0.24),
    "amazon.nova-pro-v1:0": Price(0.8, 3.2),
    "amazon.titan-text-express-v1": Price(0.2, 0.6),
    "amazon.titan-text-premier-v1:0": Price(0.5, 1.5),
    "amazon.titan-embed-text-v2:0": Price(0.02, 0.0),
    "amazon.titan-embed-image-v1": Price(0.8, 0.0),
    "meta.llama3-1-8b-instruct-v1:0": Price(0.22, 0.22),
    "meta.llama3-1-70b-instruct-v1:0": Price(0.72, 0.72),
    "meta.llama3-1-405b-instruct-v1:0": Price(2.4, 2.4),
    "meta.llama3-2-1b-instruct-v1:0": Price(0.1, 0.1),
    "meta.llama3-2-3b-instruct-v1:0": Price(0.15, 0.15),
    "meta.llama3-2-11b-instruct-v1:0": Price(0.16, 0.16),
    "meta.llama3-2-90b-instruct-v1:0": Price(0.72, 0.72),
    "meta.llama3-3-70b-instruct-v1:0": Price(0.72, 0.72),
    "mistral.mistral-small-2402-v1:0": Price(1.0, 3.0),
    "mistral.mistral-large-2407-v1:0": Price(2.0, 6.0),
}


def price_for(model_id: str, prices: Mapping[str, Price] | None = None) -> Price | None:
    """The price of a model (any id spelling): the user's table first, then the built-in one."""
    for table in (prices or {}, PRICES):
        for key in (model_id, base_model_id(model_id)):
            if key in table:
                return table[key]
    return None


@attrs.frozen
class Cost:
    """An estimate or an actual cost, in USD; None where the price is unknown."""

    batch: float | None
    on_demand: float | None
    prices_as_of: str = PRICES_DATE

    @property
    def savings(self) -> float | None:
        """How much batch saves over on-demand."""
        if self.batch is None or self.on_demand is None:
            return None
        return self.on_demand - self.batch

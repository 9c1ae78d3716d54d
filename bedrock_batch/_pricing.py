"""Prices for cost estimates: a small built-in table, overridable by the user.

The table holds approximate public on-demand list prices in USD per million tokens (us-east-1),
as of ``PRICES_DATE``. Batch inference is priced at ``BATCH_FACTOR`` (50 %) of on-demand for
the models that support it (facts §9; per-model exceptions are UNVERIFIED). Pass your own
``prices=`` to :class:`~bedrock_batch.BatchJob` for real numbers.

Prompt-cache tokens (facts §12.4) are priced as their own lines. What they cost, whether batch
discounts them, and whether a model's input count already includes them are all UNVERIFIED:
:class:`Price` has a knob for each. By default cache reads and writes cost the plain input
price (the estimate assumes no cache discount), with the batch factor, and the input count is
taken to exclude them. The facts give no cache prices: the table has none.
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
    #: USD per million tokens read from the prompt cache (None: the input price; UNVERIFIED).
    cache_read_per_million: float | None = None
    #: USD per million tokens written to the prompt cache (None: the input price; UNVERIFIED).
    cache_write_per_million: float | None = None
    #: The batch factor applied to cache tokens (None: ``batch_factor``; UNVERIFIED).
    cache_batch_factor: float | None = None
    #: Whether ``Usage.input_tokens`` already counts the cache tokens (UNVERIFIED; they are
    #: then taken out of the plain input line).
    input_includes_cache: bool = False

    def cost(self, usage: Usage, *, batch: bool) -> float:
        """USD for this many tokens, at batch or on-demand prices (cache tokens priced as
        their own lines)."""
        factor = self.batch_factor if batch else 1.0
        read, write = usage.cache_read_tokens, usage.cache_write_tokens
        plain = usage.input_tokens - (read + write if self.input_includes_cache else 0)
        tokens = (
            max(plain, 0) * self.input_per_million + usage.output_tokens * self.output_per_million
        )
        if not read and not write:
            return factor * tokens / 1e6
        cache_factor = (
            factor if not batch or self.cache_batch_factor is None else self.cache_batch_factor
        )
        read_price = (
            self.input_per_million
            if self.cache_read_per_million is None
            else self.cache_read_per_million
        )
        write_price = (
            self.input_per_million
            if self.cache_write_per_million is None
            else self.cache_write_per_million
        )
        return (factor * tokens + cache_factor * (read * read_price + write * write_price)) / 1e6


#: Approximate on-demand list prices (USD per 1M tokens, us-east-1) as of PRICES_DATE. The
#: late-2026 models (facts §12.1) have no row: no price with a source and a date was found, so
#: their cost is None (never 0); pass ``prices=`` for them.
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

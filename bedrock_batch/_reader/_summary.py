"""Accounting: counts by status, tokens and cost, reconciled with every ``manifest.json.out``
and every job's record counters.

Every result is counted under its status: ``succeeded + errored + missing + invalid_output +
rejected == total``. Reconciliation covers the records sent to each job: its manifest's
``successRecordCount`` is its succeeded plus its ``invalid_output`` lines (an answer that breaks
its schema is a success for Bedrock); records refused when added (``rejected``) were never sent
and are counted outside it. Tokens and cost are those of every answer paid for, run by run:
answers a later attempt superseded and second copies the join discarded included.

Where a family's outputs carry no token counts (Mistral), the records' usage is unknown, never
0: the tokens (and the cost) of such a job are then the counts its manifest reports."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import attrs

from .._families._usage import Usage
from .._pricing import Price
from ._results import Anomaly, Join, OutputSource, SourceCounts

__all__ = ["Summary", "reconcile"]


@attrs.frozen
class Summary:
    """Counts by status, tokens and cost, reconciled with every ``manifest.json.out`` and the
    jobs' record counters (see the module docstring for what each covers).

    ``total`` is every record of the batch, the rejected ones included, and equals
    ``succeeded + errored + missing + invalid_output + rejected``; ``usage`` and ``cost_usd``
    are every answer paid for, superseded ones included (so after a retry they exceed the
    tokens of :attr:`Results.usage`, which counts each record's latest answer). ``cost_usd`` is
    None without a price for the model, and while some run's tokens are unknown (its answers
    carried no counts and it has no manifest to ask: e.g. native Mistral bodies on demand).
    """

    job_arn: str | None
    status: str
    total: int
    succeeded: int
    errored: int
    missing: int
    usage: Usage
    manifests: tuple[dict[str, Any] | None, ...]
    job_counters: dict[str, int | None]
    anomalies: tuple[Anomaly, ...]
    discrepancies: tuple[str, ...]
    jobs: int = 1
    attempts: int = 1
    cost_usd: float | None = None
    #: Records refused when they were added (``on_invalid="skip"``): never sent.
    rejected: int = 0
    #: Answers that break their schema (structured outputs): answered and paid for.
    invalid_output: int = 0
    #: Records answered by another record's call of this batch (``dedupe=True``; counted
    #: under their status too, their tokens and cost once, in the record that was sent).
    deduplicated: int = 0
    #: Records answered by an earlier batch's job (``reuse=``; counted as ``succeeded``, at
    #: cost 0: outside the tokens and the cost).
    reused: int = 0

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The first job's manifest (the only one for a single-job batch)."""
        return self.manifests[0] if self.manifests else None

    @property
    def consistent(self) -> bool:
        """True when results, manifests and counters agree and no anomaly was seen."""
        return not self.discrepancies and not self.anomalies

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs, as the text and HTML renderings show them."""
        rows = [
            ("job", self.job_arn or "on demand"),
            ("status", self.status),
            ("records", str(self.total)),
            ("succeeded", str(self.succeeded)),
            ("errored", str(self.errored)),
            ("missing", str(self.missing)),
            *([("invalid output", str(self.invalid_output))] if self.invalid_output else []),
            *([("rejected", str(self.rejected))] if self.rejected else []),
            *([("deduplicated", str(self.deduplicated))] if self.deduplicated else []),
            *([("reused", str(self.reused))] if self.reused else []),
            ("input tokens", str(self.usage.input_tokens)),
            ("output tokens", str(self.usage.output_tokens)),
        ]
        if self.usage.cache_read_tokens or self.usage.cache_write_tokens:
            rows += [
                ("cache read tokens", str(self.usage.cache_read_tokens)),
                ("cache write tokens", str(self.usage.cache_write_tokens)),
            ]
        if self.jobs != 1 or self.attempts != 1:
            rows.append(("bedrock jobs", f"{self.jobs} in {self.attempts} attempt(s)"))
        if self.cost_usd is not None:
            rows.append(("cost (USD)", f"{self.cost_usd:.4f}"))
        rows += [
            ("anomalies", str(len(self.anomalies))),
            (
                "reconciled",
                "yes"
                if self.consistent
                else "NO: " + "; ".join([*self.discrepancies[:3], *map(str, self.anomalies[:2])]),
            ),
        ]
        return rows

    def __str__(self) -> str:
        width = max(len(k) for k, _ in self.rows())
        return "\n".join(f"{k:<{width}}  {v}" for k, v in self.rows())

    def __repr__(self) -> str:
        return (
            f"<Summary {self.status}: {self.total} records, {self.succeeded} succeeded, "
            f"{self.errored} errored, {self.missing} missing, "
            + (f"{self.invalid_output} invalid output, " if self.invalid_output else "")
            + (f"{self.rejected} rejected, " if self.rejected else "")
            + f"reconciled={'yes' if self.consistent else 'NO'}>"
        )

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self.rows()
        )
        return f"<table>{cells}</table>"


_COUNTERS = ("totalRecordCount", "processedRecordCount", "successRecordCount", "errorRecordCount")


def billed_usage(own: SourceCounts, manifest: Mapping[str, Any] | None) -> Usage:
    """The tokens of one run: its output lines' counts, or, when some line carried none, the
    counts its manifest reports (still unknown when there is no manifest to ask)."""
    usage = own.usage
    if usage.known or manifest is None:
        return usage
    tokens_in, tokens_out = manifest.get("inputTokenCount"), manifest.get("outputTokenCount")
    if type(tokens_in) is int and type(tokens_out) is int:
        return Usage(
            tokens_in, tokens_out,
            cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens,
        )  # fmt: skip
    return usage


def reconcile(
    results: Join,
    status: str,
    counters: Mapping[str, Mapping[str, int | None]],
    total: int,
    *,
    price: Price | None = None,
    deduplicated: int = 0,
) -> Summary:
    """Compare what the join found, run by run, with each manifest and each job's counters.

    ``counters`` maps a job ARN to its four record counters; ``price`` prices each run's
    tokens. Call after a full iteration. Answers reused from earlier batches are no run of this
    batch: outside the tokens and the cost (``reused`` counts them).
    """
    problems: list[str] = []
    manifests = results.manifests()
    by_source = {id(src): n for n, src in enumerate(results.sources)}
    manifest_of: dict[int, dict[str, Any] | None] = {id(src): m for src, m in manifests}
    for src, manifest in manifests:
        own = results.per_source[by_source[id(src)]]
        answered = own.succeeded + own.invalid_output  # Bedrock's successes
        found = {
            "totalRecordCount": src.records,
            "processedRecordCount": answered + own.errored,
            "successRecordCount": answered,
            "errorRecordCount": own.errored,
        }
        label = (src.job_arn or "").rsplit("/", 1)[-1]
        if manifest is not None:
            for name, ours in found.items():
                theirs = manifest.get(name)
                if ours is not None and theirs is not None and theirs != ours:
                    problems.append(f"{label} manifest {name}={theirs}, results {ours}")
            for name, ours_tokens in (
                ("inputTokenCount", own.usage.input_tokens),
                ("outputTokenCount", own.usage.output_tokens),
            ):
                theirs = manifest.get(name)
                if own.usage.known and theirs is not None and ours_tokens and theirs != ours_tokens:
                    problems.append(f"{label} manifest {name}={theirs}, results {ours_tokens}")
        for name, ours in found.items():
            theirs = counters.get(src.job_arn or "", {}).get(name)
            if (
                ours is not None
                and theirs is not None
                and theirs != ours
                and not (name == "totalRecordCount" and theirs == 0)
            ):
                problems.append(f"{label} job {name}={theirs}, results {ours}")
    totals: dict[str, int | None] = {}
    for name in _COUNTERS:
        values = [c.get(name) for c in counters.values()]
        totals[name] = (
            None if not values or any(v is None for v in values) else sum(v or 0 for v in values)
        )
    runs: list[tuple[OutputSource, Usage]] = [
        (src, billed_usage(own, manifest_of.get(id(src))))
        for src, own in zip(results.sources, results.per_source, strict=True)
        if not src.reused
    ]
    reused = sum(own.succeeded for src, own in zip(results.sources, results.per_source, strict=True) if src.reused)  # fmt: skip
    # every answer paid for, run by run (a run whose outputs carried no counts: its manifest's)
    usage = sum((u for _, u in runs), Usage())
    cost_usd = None  # unknown without a price, or while a run's tokens are unknown (not $0)
    if price is not None and all(u.known for _, u in runs):
        cost_usd = sum(price.cost(u, batch=not src.is_file) for src, u in runs)
    c = results.counts
    return Summary(
        job_arn=results.job_arn,
        status=status,
        total=total + c.get("rejected", 0),
        succeeded=c["succeeded"],
        errored=c["errored"],
        missing=c["missing"],
        usage=usage,
        manifests=tuple(m for _, m in manifests),
        job_counters=totals,
        anomalies=tuple(results.anomalies),
        discrepancies=tuple(problems),
        jobs=sum(1 for src in results.sources if not src.is_file),
        attempts=len({src.attempt for src in results.sources if not src.reused}) or 1,
        cost_usd=cost_usd,
        rejected=c.get("rejected", 0),
        invalid_output=c.get("invalid_output", 0),
        deduplicated=deduplicated,
        reused=reused,
    )

"""A spending ceiling (``max_cost_usd``): the most a step can cost, checked before it pays.

The bound is pessimistic on purpose, so that a batch under the cap cannot cost more:

- **input tokens**: one per byte of each record's JSONL line. A token covers at least one
  byte of the prompt's UTF-8 text, and a line's JSON framing (record id, keys, quotes) is
  longer than the few tokens a chat template adds around the text. A record with tool
  definitions counts :data:`TOOL_PROMPT_TOKENS` more: the tool-use system prompt the model
  adds is not in its bytes.
- **output tokens**: each record's ``max_tokens`` (or its family's spelling), or, where a
  record sets none, the model's maximum output from the catalogue.
- **cache-marked records** (``cachePoint``/``cache_control``): their input at the
  cache-write price when that is dearer than the input price — never at the read price.
- **prices**: the batch price for batch jobs, the on-demand price for records answered
  through bedrock-runtime, from ``prices=`` or the built-in table (its date is in every
  message).

A cap cannot be checked — and :class:`BudgetError` says why, never a bound of 0 — for a model
without a price, a model the catalogue does not know (no maximum output), or records whose
tokens follow no known rule from their bytes: images, videos and documents.

What a batch has already spent (for :meth:`BatchJob.retry`) is each run's billed tokens (its
output lines' counts, else its manifest's); a batch job without a manifest (stopped, failed,
or its manifest lost) counts at its bound (its bytes as input, its records at the model's
maximum output), whatever its lines say; so does an on-demand run whose answers carry no
token counts (a native Mistral body: bedrock-runtime gives them only in headers), and so does
every run the ledger records that the results read have no source of yet (a concurrent
retry's, stored after they were read: a retry that loses the ledger's conditional write to
another is checked again on the new ledger, the other counted).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import attrs

from ._catalog import ModelInfo, lookup_model
from ._common._codec import decode
from ._errors import BudgetError, Problem, ValidationError
from ._families._registry import family_for
from ._families._schemas import requested_output_tokens
from ._ledger._ledger import Ledger
from ._pricing import PRICES_DATE, Price, price_for
from ._reader._resultset import Results
from ._reader._summary import billed_usage
from ._records._records import Records
from ._records._store import RecordStore
from ._uploader._uploader import Plan

__all__ = [
    "Budget", "CostBound", "bound_lines", "bound_tokens", "check_cap", "checked_cap",
    "line_tokens", "require_bound", "run_key", "spent_usd", "unread_usd",
]  # fmt: skip

#: Keys that carry content whose tokens are not bounded by its bytes (images, video, audio,
#: documents; inline or by reference), and the ``"type"`` values of such content blocks
#: (Claude's ``{"type": "image", "source": ...}``). ``"bytes"`` is how Converse-style bodies
#: carry any inline media, whatever its kind is called. Matched in the canonical (compact)
#: encoding as a key (``"image":``) or a type (``"type":"image"``): a prompt whose text says
#: "image" is escaped inside its string and matches neither.
MEDIA_KEYS = tuple(
    [b'"%s":' % k for k in (b"image", b"images", b"inputImage", b"image_url", b"video",
                             b"document", b"audio", b"input_audio", b"bytes", b"s3Location")]
    + [b'"type":"%s"' % t for t in (b"image", b"image_url", b"video", b"document", b"audio",
                                     b"input_audio", b"video_url")]
)  # fmt: skip
#: Keys that mark a prompt-cache point (facts §12.4).
CACHE_KEYS = (b'"cachePoint":', b'"cache_control":')
#: Keys of tool definitions (native ``tools``, Converse ``toolConfig``). With tools, the model
#: is billed for a tool-use system prompt that is not in the record's bytes (Anthropic's docs
#: give 264 to 346 tokens for Claude 3 to 4); each such record counts this many more input
#: tokens, a margin over every figure published.
TOOL_KEYS = (b'"tools":', b'"toolConfig":')
TOOL_PROMPT_TOKENS = 1024


@attrs.frozen
class CostBound:
    """The most a step can cost: ``usd`` for at most these many tokens."""

    usd: float
    input_tokens: int
    output_tokens: int
    prices_as_of: str = PRICES_DATE

    def __str__(self) -> str:
        return (
            f"${self.usd:.4f} (at most {self.input_tokens:,} input and {self.output_tokens:,} "
            f"output tokens, prices of {self.prices_as_of})"
        )


def require_bound(cap: float, model_id: str, price: Price | None, model: ModelInfo | None) -> None:
    """Raise :class:`BudgetError` when the model has no price or no known maximum output."""
    if price is None:
        raise BudgetError(
            f"max_cost_usd={cap} cannot be checked: no price is known for {model_id} (pass "
            f"prices={{{model_id!r}: Price(input_per_million=..., output_per_million=...)}}; CLI: --price IN,OUT)",
            cap=cap,
        )
    if model is None:
        raise BudgetError(
            f"max_cost_usd={cap} cannot be checked: the catalogue does not know {model_id}, so "
            "its maximum output (the bound of a record without max_tokens) is unknown",
            cap=cap,
        )


def _usd(
    price: Price, input_tokens: int, output_tokens: int, *, batch: bool, cached: bool
) -> float:
    factor = price.batch_factor if batch else 1.0
    per_input = price.input_per_million * factor
    if cached:  # the dearer of the input and cache-write prices, with either factor
        write = price.cache_write_per_million
        write = price.input_per_million if write is None else write
        cache_factor = price.cache_batch_factor if batch and price.cache_batch_factor else factor
        per_input = max(per_input, write * max(factor, cache_factor))
    return (input_tokens * per_input + output_tokens * price.output_per_million * factor) / 1e6


def line_tokens(
    lines: Iterable[bytes], *, cap: float, output_of: Callable[[bytes], int] | None = None
) -> tuple[int, bool, int]:
    """The bound of the input tokens of ``lines`` (JSONL records), whether any is
    cache-marked, and the output tokens they ask for (``output_of`` of each line, in the same
    pass; 0 without it); raises :class:`BudgetError` for a record whose tokens follow no rule
    from its bytes (see the module docstring)."""
    size, cached, output = 0, False, 0
    for n, line in enumerate(lines, 1):
        size += len(line)
        if any(key in line for key in MEDIA_KEYS):
            raise BudgetError(
                f"max_cost_usd={cap} cannot be checked: record {n} links or embeds an image, "
                "a video or a document (or audio), whose tokens follow no known rule from its bytes",
                cap=cap,
            )
        cached = cached or any(key in line for key in CACHE_KEYS)
        if any(key in line for key in TOOL_KEYS):
            size += TOOL_PROMPT_TOKENS
        if output_of is not None:
            output += output_of(line)
    return size, cached, output


def bound_tokens(
    input_tokens: int,
    output_tokens: int,
    *,
    cached: bool,
    model_id: str,
    model: ModelInfo | None,
    price: Price | None,
    batch: bool,
    cap: float,
) -> CostBound:
    """The bound of at most these tokens (``cached``: some input is cache-marked); raises
    :class:`BudgetError` when the model has no price or no known maximum output."""
    require_bound(cap, model_id, price, model)
    assert price is not None
    usd = _usd(price, input_tokens, output_tokens, batch=batch, cached=cached)
    return CostBound(usd, input_tokens, output_tokens)


def bound_lines(
    lines: Iterable[bytes],
    *,
    output_tokens: int = 0,
    output_of: Callable[[bytes], int] | None = None,
    model_id: str,
    model: ModelInfo | None,
    price: Price | None,
    batch: bool,
    cap: float,
) -> CostBound:
    """The bound of sending ``lines`` (JSONL records) that may answer ``output_tokens`` in
    all, plus ``output_of`` each line when given (summed in the same pass); raises
    :class:`BudgetError` when it cannot be bounded (see the module docstring)."""
    require_bound(cap, model_id, price, model)
    size, cached, asked = line_tokens(lines, cap=cap, output_of=output_of)
    return bound_tokens(
        size, output_tokens + asked, cached=cached, model_id=model_id, model=model, price=price,
        batch=batch, cap=cap,
    )  # fmt: skip


def checked_cap(cap: object) -> float | None:
    """``max_cost_usd`` as given, checked: None, or a finite number of dollars above 0."""
    if cap is None:
        return None
    if (
        isinstance(cap, bool)
        or not isinstance(cap, int | float)
        or not math.isfinite(cap)
        or cap <= 0
    ):
        raise ValidationError(
            f"max_cost_usd must be a positive number of US dollars, not {cap!r}",
            [Problem("not a positive finite number", field="max_cost_usd")],
        )
    return float(cap)


def check_cap(cap: float, bound: CostBound, *, spent: float = 0.0, what: str) -> None:
    """Raise :class:`BudgetError` when ``spent`` plus ``bound`` would pass ``cap``."""
    if spent + bound.usd <= cap:
        return
    already = f" on top of ${spent:.4f} already spent" if spent else ""
    raise BudgetError(
        f"{what} could cost up to {bound}{already}, over max_cost_usd=${cap:.4f}; nothing was "
        "sent (raise the cap, or send fewer records or lower max_tokens)",
        cap=cap,
        bound=bound.usd,
        spent=spent,
        prices_as_of=bound.prices_as_of,
    )


def run_key(job_arn: str | None, attempt: int) -> str:
    """The key of one run in ``spent_usd``'s ``sizes``: a job's ARN, or an attempt's
    on-demand run."""
    return job_arn or f"on-demand run of attempt {attempt}"


def spent_usd(results: Results, price: Price, *, ceiling: int, sizes: dict[str, int]) -> float:
    """What the runs of a batch have cost so far: each run's billed tokens; a batch job whose
    manifest is missing, or a run whose tokens are unknown (an on-demand answer whose body
    carries no counts), at its bound — ``sizes`` maps its :func:`run_key` to its input bytes,
    ``ceiling`` is the model's maximum output per record."""
    manifest_of = {id(src): m for src, m in results.manifests()}
    total = 0.0
    for src, own in zip(results.sources, results.per_source, strict=True):
        manifest = manifest_of.get(id(src))
        usage = billed_usage(own, manifest)
        if usage.known and (src.is_file or manifest is not None):
            total += price.cost(usage, batch=not src.is_file)
            continue
        records = src.records or 0
        size = sizes.get(run_key(src.job_arn, src.attempt), 0)
        # cache-marked or not (unknown here): the dearer of the input and cache-write prices
        total += _usd(price, size, records * ceiling, batch=not src.is_file, cached=True)
    return total


def unread_usd(ledger: Ledger, results: Results, price: Price, *, ceiling: int) -> float:
    """The runs ``ledger`` records that ``results`` (read from an earlier ledger) has no
    source of — a concurrent retry stored since, or jobs not created yet — at their bound: a
    retry that lost the ledger's write to another is checked again with the other counted."""
    arns = {src.job_arn for src in results.sources if src.job_arn}
    runs = {src.attempt for src in results.sources if src.is_file and not src.reused}
    total = 0.0
    for attempt in ledger.attempts:
        for job in attempt.jobs:
            if job.phase != "cancelled" and job.job_arn not in arns:
                total += _usd(price, job.size, job.records * ceiling, batch=True, cached=True)
        run = attempt.on_demand
        if run is not None and run.phase != "cancelled" and attempt.number not in runs:
            total += _usd(price, run.size, run.records * ceiling, batch=False, cached=True)
    return total


@attrs.frozen
class Budget:
    """A batch's spending ceiling: checks each step that pays before it is taken."""

    cap: float
    prices: Mapping[str, Price] = attrs.field(factory=dict)

    @classmethod
    def of(cls, cap: object, prices: Mapping[str, Price] | None) -> Budget | None:
        """The budget for ``max_cost_usd=cap`` (checked), or None without a cap."""
        checked = checked_cap(cap)
        return None if checked is None else cls(checked, dict(prices or {}))

    def bound(self, plan: Plan, records: Records, sent: RecordStore | None = None) -> CostBound:
        """The most ``plan`` can cost: its records sent (``sent``, when not all of them are:
        ``dedupe=``, ``reuse=``) at their bound; :class:`BudgetError` when it cannot be bounded."""
        store = records.store if sent is None else sent
        return bound_lines(
            store.iter_lines(), output_tokens=plan.max_output_tokens,
            model_id=plan.model_id, model=records.model, price=price_for(plan.model_id, self.prices),
            batch=plan.mode == "batch", cap=self.cap,
        )  # fmt: skip

    def annotate(self, plan: Plan, records: Records, sent: RecordStore | None = None) -> Plan:
        """``plan`` with its bound beside the cap (and a warning when over, or unbounded)."""
        try:
            bound = self.bound(plan, records, sent)
        except BudgetError as err:
            return attrs.evolve(plan, budget=str(err), warnings=(*plan.warnings, str(err)))
        text = f"at most {bound} against max_cost_usd=${self.cap:.4f}"
        if bound.usd <= self.cap:
            return attrs.evolve(plan, budget=text)
        text += ": over the cap, submit() refuses"
        return attrs.evolve(plan, budget=text, warnings=(*plan.warnings, text))

    def check_submit(self, plan: Plan, records: Records, sent: RecordStore | None = None) -> None:
        """Refuse (:class:`BudgetError`) a first submit whose bound passes the cap."""
        what = f"this batch of {plan.records:,} records"
        check_cap(self.cap, self.bound(plan, records, sent), what=what)

    def retry_check(self, mode: str) -> Callable[[Ledger, Results, Iterable[bytes], int], None]:
        """The check of a retry (see ``plan_retry``): what the batch's runs cost so far plus
        the retry's bound (each record at its own ``max_tokens``, else the model's maximum
        output) must stay under the cap."""

        def check(ledger: Ledger, read: Results, lines: Iterable[bytes], records: int) -> None:
            model_id, kind = ledger.spec.model_id, ledger.spec.invocation_type
            price, model = price_for(model_id, self.prices), lookup_model(model_id)[0]
            ceiling = model.max_output_tokens if model else 0
            batch = records >= ledger.quotas.min_records_per_job and mode != "on_demand"
            family = family_for(model_id, kind)

            def asked(line: bytes) -> int:  # its max_tokens, else the model's maximum output
                body = decode(line).get("modelInput")
                return requested_output_tokens(body, family, invocation_type=kind, default=ceiling)

            bound = bound_lines(
                lines, output_of=asked, model_id=model_id, model=model,
                price=price, batch=batch, cap=self.cap,
            )  # fmt: skip
            assert price is not None  # bound_lines refuses a model without a price
            sizes = {j.job_arn: j.size for a in ledger.attempts for j in a.jobs if j.job_arn}
            sizes.update(
                (run_key(None, a.number), a.on_demand.size)
                for a in ledger.attempts
                if a.on_demand is not None
            )
            spent = spent_usd(read, price, ceiling=ceiling, sizes=sizes)
            spent += unread_usd(ledger, read, price, ceiling=ceiling)
            check_cap(self.cap, bound, spent=spent, what=f"retrying {records:,} records")

        return check

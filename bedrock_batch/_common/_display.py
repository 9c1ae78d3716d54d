"""Text and HTML renderings of batches, their status and results (for the CLI and notebooks).

The classes stay small: ``BatchJob``, ``BatchStatus`` and ``Results`` delegate their
``__repr__`` and ``_repr_html_`` here. Nothing here does I/O beyond what the object itself
does when asked for its counts.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._job import BatchJob
    from .._lifecycle._status import BatchStatus
    from .._reader._results import Results
    from .._uploader._uploader import Plan

__all__ = [
    "demo_report",
    "html_table",
    "job_rows",
    "plan_rows",
    "rows_text",
    "status_rows",
    "status_text",
]


def rows_text(rows: Sequence[tuple[str, str]]) -> str:
    """(label, value) rows as two aligned columns."""
    if not rows:
        return ""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def html_table(rows: Sequence[tuple[str, str]], caption: str | None = None) -> str:
    """(label, value) rows as an HTML table."""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table>{cap}{cells}</table>"


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _records(status: BatchStatus, done_word: str = "processed") -> str:
    """``120 of 500 processed``, or ``not counted yet`` while Bedrock reports no total
    (Submitted and Validating report 0)."""
    total = status.total_records
    if not total and not status.is_terminal:
        return "not counted yet"
    return f"{_count(status.processed_records)} of {_count(total)} {done_word}"


def status_rows(status: BatchStatus, handle: str | None = None) -> list[tuple[str, str]]:
    """A status as (label, value) rows."""
    rows = [("status", status.status)]
    if handle:
        rows.append(("handle", handle))
    rows.append(("records", _records(status)))
    rows.append(("errors", _count(status.errored_records)))
    for j in status.jobs:
        note = " (superseded by a retry)" if j.job_arn in status.superseded else ""
        counts = f"{_count(j.processed_records)}/{_count(j.total_records)}"
        rows.append(("job", f"{j.job_arn}  {j.status}  {counts}{note}"))
    if status.pending:
        rows.append(("waiting", f"{status.pending} job(s) for a free slot"))
    if status.on_demand_records or status.on_demand_pending:
        rows.append(
            ("on demand", f"{status.on_demand_records} answered, {status.on_demand_pending} to go")
        )
    if status.message:
        rows.append(("message", status.message))
    return rows


def status_text(status: BatchStatus, handle: str | None = None) -> str:
    """A status as aligned text."""
    return rows_text(status_rows(status, handle))


def status_repr(status: BatchStatus) -> str:
    """``BatchStatus(Completed, 500/500 records, 0 errors, 1 job)``."""
    jobs = len(status.jobs)
    counted = (
        f"{_count(status.processed_records)}/{_count(status.total_records)} records"
        if status.total_records or status.is_terminal
        else "records not counted yet"
    )
    return (
        f"BatchStatus({status.status}, {counted}, {_count(status.errored_records)} errors, "
        f"{jobs} job{'s' if jobs != 1 else ''}"
        + (f", {status.pending} waiting" if status.pending else "")
        + ")"
    )


def job_rows(job: BatchJob) -> list[tuple[str, str]]:
    """A job as (label, value) rows: its last known status, without calling AWS."""
    rows = [("model", str(job.model_id)), ("records", str(len(job._records)))]
    status = job._lifecycle.status() if job._lifecycle is not None else None
    if status is None:
        rows.append(("status", "not submitted"))
        return rows
    rows.append(("handle", job.state_uri or job.job_arn or "?"))
    return rows + status_rows(status)[:1] + status_rows(status)[1:]


def job_repr(job: BatchJob) -> str:
    """``<BatchJob InProgress 120/500 records model=…>``."""
    status = job._lifecycle.status() if job._lifecycle is not None else None
    state = (
        (
            f"{status.status} {_count(status.processed_records)}/{_count(status.total_records)} records"
            if status.total_records or status.is_terminal
            else f"{status.status}, {len(job._records)} records (not counted by Bedrock yet)"
        )
        if status is not None
        else f"not submitted, {len(job._records)} records"
    )
    where = f" {job.state_uri or job.job_arn}" if status is not None else ""
    return f"<BatchJob {state} model={job.model_id}{where}>"


def results_rows(results: Results) -> list[tuple[str, str]]:
    """Counts by status (read on demand) and anomalies."""
    rows = [(k, str(v)) for k, v in results.counts.items()]
    rows.append(("anomalies", str(len(results.anomalies))))
    return rows


def results_repr(results: Results) -> str:
    """``<Results succeeded=499 errored=1 missing=0>`` (counts read on demand)."""
    counts = " ".join(f"{k}={v}" for k, v in results.counts.items())
    return f"<Results {counts}>"


def demo_report(job: BatchJob, show: int) -> str:
    """What the demo prints once the batch ended: the summary, a few answers, what next."""
    from .._families._schemas import input_text

    lines = ["", "Summary:", str(job.summary()), ""]
    for shown, r in enumerate(job.results()):
        if shown >= show:
            break
        answer = (r.text or (r.error and r.error.message) or "")[:160]
        lines += [
            f"[{r.record_id}] key={json.dumps(r.key, ensure_ascii=False)} status={r.status} "
            f"tokens={r.usage.input_tokens}+{r.usage.output_tokens}",
            f"  Q: {input_text(r.model_input).strip()[:160]}",
            f"  A: {answer}  (synthetic)",
        ]
    lines += [
        "",
        "Next, try:",
        "  bedrock-batch demo --records 200 --show 5 --quiet     # again, smaller, no progress",
        "  bedrock-batch local serve                             # Local Bedrock for any SDK or the AWS CLI",
        f"  bedrock-batch iam-policy --model-id us.{job.model_id} --account 123456789012 \\",
        "      --region us-east-1 --input-uri s3://my-bucket/in/ --output-uri s3://my-bucket/out/",
    ]
    return "\n".join(lines)


def plan_rows(plan: Plan) -> list[tuple[str, str]]:
    """What ``submit()`` would do, as (label, value) rows."""
    how = f"{len(plan.parts)} Bedrock job(s)" if plan.mode == "batch" else "on demand"
    q = plan.quotas
    rows = [
        ("model", f"{plan.model_id} ({plan.family or 'unknown family'}, {plan.invocation_type})"),
        ("records", f"{plan.records:,} ({plan.bytes:,} bytes)"),
        ("runs as", f"{how}, {len(plan.shards)} input file(s)"),
        ("inputs under", plan.state_uri.rsplit("/", 1)[0] + "/"),
        ("input tokens", f"~{plan.estimated_input_tokens:,}"),
        ("output tokens", f"at most {plan.max_output_tokens:,}"),
    ]
    if plan.cost.batch is not None and plan.cost.on_demand is not None:
        rows.append(("cost (USD, at most)", f"{plan.cost.batch:.4f} batch / {plan.cost.on_demand:.4f} on demand (prices of {plan.cost.prices_as_of})"))  # fmt: skip
    rows.append(("quotas", f"min {q.min_records_per_job:,}, max {q.max_records_per_job:,} records/job, {q.max_concurrent_jobs} concurrent ({plan.quota_source})"))  # fmt: skip
    if plan.quota_warning:
        rows.append(("warning", plan.quota_warning))
    rows += [("warning", w) for w in plan.warnings]
    return rows


def plan_repr(plan: Plan) -> str:
    """``<Plan 500 records -> 1 Bedrock job(s), model=…>``."""
    how = f"{len(plan.parts)} Bedrock job(s)" if plan.mode == "batch" else "on demand"
    plural = "" if plan.records == 1 else "s"
    return f"<Plan {plan.records} record{plural} -> {how}, model={plan.model_id}>"

"""Reading a job's outputs and joining them to its inputs by ``recordId``.

Every input record comes back exactly once: ``succeeded`` (a ``modelOutput``), ``errored`` (an
``error`` object) or ``missing`` (no usable output line: the job stopped or timed out, a file
is missing, or its line was unparseable). Output lines that cannot be joined — unknown ids,
second copies of an id, unparseable lines — are reported as :class:`Anomaly`, never dropped
silently, and never joined by position.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

import attrs

from ._errors import NOT_FOUND_CODES, ServiceError, translate_client_error
from ._jsonl import iter_lines, loads_line
from ._outputs import Usage, output_embedding, output_text, output_usage
from ._s3uri import S3Uri

__all__ = ["Anomaly", "ErrorInfo", "OutputSource", "Result", "ResultStatus", "Results", "Summary"]

ResultStatus = Literal["succeeded", "errored", "missing"]
AnomalyKind = Literal[
    "unknown_id",
    "duplicate_id",
    "unparseable_line",
    "missing_output_file",
    "missing_manifest",
]
_RID = re.compile(rb'"recordId"\s*:\s*"((?:[^"\\]|\\.)*)"')


@attrs.frozen
class ErrorInfo:
    """A per-record error as Bedrock reports it (``errorCode`` is an HTTP-style number)."""

    code: int
    message: str
    retryable: bool | None = None
    expired: bool | None = None

    @classmethod
    def from_wire(cls, error: Any) -> ErrorInfo:
        """From the ``error`` object of an output line (tolerant of odd shapes)."""
        if not isinstance(error, Mapping):
            return cls(0, str(error))
        code = error.get("errorCode", 0)
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = 0
        retryable = error.get("retryable")
        expired = error.get("expired")
        return cls(
            code,
            str(error.get("errorMessage", "")),
            retryable if isinstance(retryable, bool) else None,
            expired if isinstance(expired, bool) else None,
        )


@attrs.frozen
class Result:
    """The outcome of one input record."""

    record_id: str
    key: Any
    status: ResultStatus
    model_input: Any = None
    model_output: Any = None
    error: ErrorInfo | None = None
    job_arn: str | None = None
    source: str | None = None  # "file:line" of the output line
    attempt: int = 0  # 0 for the first submission, n for the n-th retry

    @property
    def ok(self) -> bool:
        """True when the record succeeded."""
        return self.status == "succeeded"

    @property
    def text(self) -> str | None:
        """The generated text, for every generation family and Converse; None otherwise."""
        return output_text(self.model_output)

    @property
    def embedding(self) -> list[float] | None:
        """The float embedding, for the Titan embedding models; None otherwise."""
        return output_embedding(self.model_output)

    @property
    def usage(self) -> Usage:
        """Input and output tokens of this record (zeros when it has no output)."""
        return output_usage(self.model_output)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ids, key, status, text/embedding, error, tokens and the raw output."""
        out: dict[str, Any] = {"recordId": self.record_id, "key": self.key, "status": self.status}
        if self.status == "succeeded":
            emb = self.embedding
            if emb is not None:
                out["embedding"] = emb
            else:
                out["text"] = self.text
            usage = self.usage
            out["usage"] = {"inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens}
            out["modelOutput"] = self.model_output
        if self.error is not None:
            out["error"] = attrs.asdict(self.error)
        return out


@attrs.frozen
class Anomaly:
    """Something in the output that could not be joined cleanly."""

    kind: AnomalyKind
    detail: str
    file: str | None = None
    line: int | None = None
    record_id: str | None = None

    def __str__(self) -> str:
        where = (
            f" ({self.file}:{self.line})"
            if self.file and self.line
            else f" ({self.file})"
            if self.file
            else ""
        )
        return f"{self.kind}{where}: {self.detail}"


InputReader = Callable[[set[str]], Iterator[tuple[str, Any]]]


@attrs.frozen
class OutputSource:
    """Where one run's output lines are: a Bedrock job's ``{output}/{jobId}/`` folder, or the
    single file an on-demand run wrote. ``attempt`` orders retries (latest wins)."""

    location: str  # s3:// folder (batch) or file (on demand)
    job_arn: str | None = None
    attempt: int = 0
    expected_files: tuple[str, ...] = ()
    status: str | None = None
    records: int | None = None

    @property
    def is_file(self) -> bool:
        """True for an on-demand output file."""
        return self.job_arn is None


@attrs.define
class SourceCounts:
    """What one run's own output lines held (superseded lines included)."""

    succeeded: int = 0
    errored: int = 0
    usage: Usage = attrs.field(factory=Usage)


class Results(Iterable[Result]):
    """Streams a job's results; ``anomalies`` and ``counts`` fill in as you iterate.

    Every input record comes back exactly once; when a record was retried, its latest attempt
    with an output wins (:meth:`history` shows all of them). Each iteration is a fresh pass
    over S3. Memory is bounded by the index of record ids.
    """

    def __init__(
        self,
        *,
        s3: Any,
        sources: Iterable[OutputSource],
        index: Mapping[str, Any],
        read_inputs: InputReader,
        bucket_owner: str | None = None,
        chunk_size: int = 1 << 20,
    ) -> None:
        self._s3 = s3
        self.sources = sorted(sources, key=lambda src: -src.attempt)  # latest attempt first
        self.job_arn = next((src.job_arn for src in reversed(self.sources) if src.job_arn), None)
        self._index = index
        self._read_inputs = read_inputs
        self._extra = {"ExpectedBucketOwner": bucket_owner} if bucket_owner else {}
        self._chunk = chunk_size
        self.anomalies: list[Anomaly] = []
        self.counts: dict[str, int] = {"succeeded": 0, "errored": 0, "missing": 0}
        self.usage = Usage()
        self.per_source: list[SourceCounts] = []

    def _files(self, src: OutputSource) -> tuple[S3Uri, list[str]]:
        if src.is_file:
            uri = S3Uri.parse(src.location)
            try:
                with translate_client_error("HeadObject"):
                    self._s3.head_object(Bucket=uri.bucket, Key=uri.key, **self._extra)
            except ServiceError as err:
                if err.code in NOT_FOUND_CODES:
                    return uri, []
                raise
            return uri, [uri.key]
        folder = S3Uri.parse(src.location).join(
            src.job_arn.rsplit("/", 1)[-1] if src.job_arn else ""
        )
        keys = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=folder.bucket, Prefix=folder.prefix, **self._extra):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith(".out") and not key.endswith("/manifest.json.out"):
                    keys.append(key)
        return folder, sorted(keys)

    def _lines(self, src: OutputSource) -> Iterator[tuple[str, int, bytes]]:
        folder, files = self._files(src)
        if src.is_file and not files:
            self.anomalies.append(
                Anomaly("missing_output_file", "on-demand output file is absent", folder.key)
            )
        rel_found = {k[len(folder.prefix) :] for k in files}
        for expected in src.expected_files if src.status == "Completed" else ():
            if expected not in rel_found:
                self.anomalies.append(
                    Anomaly(
                        "missing_output_file",
                        "expected output file is absent; its records are missing",
                        folder.join(expected).key,
                    )
                )
        for key in files:
            body = self._s3.get_object(Bucket=folder.bucket, Key=key, **self._extra)["Body"]
            for line_no, raw in iter_lines(body.iter_chunks(self._chunk)):
                yield key, line_no, raw

    def __iter__(self) -> Iterator[Result]:
        self.anomalies = []
        self.counts = {"succeeded": 0, "errored": 0, "missing": 0}
        self.usage = Usage()
        self.per_source = [SourceCounts() for _ in self.sources]
        seen: dict[str, int] = {}
        for n, src in enumerate(self.sources):
            for key, line_no, raw in self._lines(src):
                result = self._join(raw, key, line_no, src)
                if result is None:
                    continue
                counts = self.per_source[n]
                if result.status == "succeeded":
                    counts.succeeded += 1
                    counts.usage = counts.usage + result.usage
                else:
                    counts.errored += 1
                first = seen.get(result.record_id)
                if first is None:
                    seen[result.record_id] = n
                    yield self._count(result)
                elif first == n:
                    self.anomalies.append(
                        Anomaly(
                            "duplicate_id",
                            f"recordId {result.record_id!r} appears more than once; the first copy was kept",
                            key,
                            line_no,
                            result.record_id,
                        )
                    )
        missing = {rid for rid in self._index if rid not in seen}
        if missing:
            for rid, model_input in self._read_inputs(missing):
                if rid in missing:
                    missing.discard(rid)
                    yield self._count(
                        Result(rid, self._index[rid], "missing", model_input, job_arn=self.job_arn)
                    )
            for rid in sorted(missing):  # not even in the inputs any more: still accounted for
                yield self._count(Result(rid, self._index[rid], "missing", job_arn=self.job_arn))

    def history(self, record_id: str) -> list[Result]:
        """Every output of one record across attempts, oldest first."""
        found = []
        for src in reversed(self.sources):
            for key, line_no, raw in self._lines(src):
                if record_id.encode() in raw:
                    result = self._join(raw, key, line_no, src, quiet=True)
                    if result is not None and result.record_id == record_id:
                        found.append(result)
        return found

    def _count(self, result: Result) -> Result:
        self.counts[result.status] += 1
        if result.status == "succeeded":
            self.usage = self.usage + result.usage
        return result

    def _join(
        self, raw: bytes, key: str, line_no: int, src: OutputSource, *, quiet: bool = False
    ) -> Result | None:
        try:
            obj = loads_line(raw)
            if not isinstance(obj, dict) or not isinstance(obj.get("recordId"), str):
                raise ValueError("not an object with a string recordId")
        except ValueError as err:
            if not quiet:
                m = _RID.search(raw)
                rid = m.group(1).decode("utf-8", "replace") if m else None
                preview = raw[:80].decode("utf-8", "replace")
                self.anomalies.append(
                    Anomaly(
                        "unparseable_line",
                        f"{err.__class__.__name__}: {preview!r}",
                        key,
                        line_no,
                        rid,
                    )
                )
            return None
        rid = obj["recordId"]
        if rid not in self._index:
            if not quiet:
                self.anomalies.append(
                    Anomaly(
                        "unknown_id",
                        f"recordId {rid!r} is not an input of this job",
                        key,
                        line_no,
                        rid,
                    )
                )
            return None
        where = f"{key}:{line_no}"
        arn = src.job_arn
        if "error" in obj and obj["error"] is not None:
            return Result(
                rid,
                self._index[rid],
                "errored",
                obj.get("modelInput"),
                None,
                ErrorInfo.from_wire(obj["error"]),
                arn,
                where,
                src.attempt,
            )
        if "modelOutput" not in obj:
            return Result(
                rid,
                self._index[rid],
                "errored",
                obj.get("modelInput"),
                None,
                ErrorInfo(0, "output line has neither modelOutput nor error"),
                arn,
                where,
                src.attempt,
            )
        return Result(
            rid,
            self._index[rid],
            "succeeded",
            obj.get("modelInput"),
            obj["modelOutput"],
            None,
            arn,
            where,
            src.attempt,
        )

    def manifests(self) -> list[tuple[OutputSource, dict[str, Any] | None]]:
        """``manifest.json.out`` of every Bedrock job (None, and an anomaly, when absent)."""
        out: list[tuple[OutputSource, dict[str, Any] | None]] = []
        for src in self.sources:
            if src.is_file or src.status in (None, "Expired", "Failed"):
                continue
            folder = S3Uri.parse(src.location).join((src.job_arn or "").rsplit("/", 1)[-1])
            key = folder.join("manifest.json.out").key
            try:
                with translate_client_error("GetObject"):
                    body = self._s3.get_object(Bucket=folder.bucket, Key=key, **self._extra)[
                        "Body"
                    ].read()
            except ServiceError as err:
                if err.code in NOT_FOUND_CODES:
                    self.anomalies.append(
                        Anomaly("missing_manifest", "manifest.json.out is absent", key)
                    )
                    out.append((src, None))
                    continue
                raise
            data = json.loads(body)
            out.append((src, data if isinstance(data, dict) else None))
        return out

    def to_jsonl(self, path: str, *, progress: bool = False) -> dict[str, int]:
        """Write one joined JSON line per input record to ``path``; returns the counts."""
        from ._progress import CountDisplay

        display = CountDisplay("results", total=len(self._index), unit="rec") if progress else None
        with open(path, "w", encoding="utf-8") as fh:
            for result in self:
                fh.write(json.dumps(result.to_dict(), ensure_ascii=False, default=str) + "\n")
                if display is not None:
                    display.update(1)
        if display is not None:
            display.close()
        return dict(self.counts)

    def iter_arrow_batches(self, batch_size: int = 10_000) -> Iterator[Any]:
        """Stream results as ``pyarrow.RecordBatch`` es (needs the ``arrow`` extra)."""
        from ._frames import arrow_batches

        return arrow_batches(self, batch_size)

    def to_arrow(self, batch_size: int = 10_000) -> Any:
        """A ``pyarrow.Table``, one row per input record (built from streamed record batches).

        Columns: key (JSON text unless a string), record_id, status, text, embedding,
        error_code, error_message, retryable, input_tokens, output_tokens, attempt.
        """
        import pyarrow as pa

        from ._frames import arrow_schema

        return pa.Table.from_batches(
            list(self.iter_arrow_batches(batch_size)), schema=arrow_schema()
        )

    def to_pandas(self, chunk_size: int = 10_000) -> Any:
        """A ``pandas.DataFrame``, one row per input record; ``key`` keeps your Python objects."""
        import pandas as pd

        from ._frames import ROW_COLUMNS, result_row

        chunks = []
        rows: list[dict[str, Any]] = []
        for r in self:
            rows.append(result_row(r))
            if len(rows) >= chunk_size:
                chunks.append(pd.DataFrame.from_records(rows, columns=list(ROW_COLUMNS)))
                rows = []
        if rows or not chunks:
            chunks.append(pd.DataFrame.from_records(rows, columns=list(ROW_COLUMNS)))
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


@attrs.frozen
class Summary:
    """Counts by status, tokens and cost, reconciled with every ``manifest.json.out`` and the
    jobs' record counters."""

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
            ("input tokens", str(self.usage.input_tokens)),
            ("output tokens", str(self.usage.output_tokens)),
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

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self.rows()
        )
        return f"<table>{cells}</table>"


_COUNTERS = ("totalRecordCount", "processedRecordCount", "successRecordCount", "errorRecordCount")


def reconcile(
    results: Results,
    status: str,
    counters: Mapping[str, Mapping[str, int | None]],
    total: int,
    *,
    cost_usd: float | None = None,
) -> Summary:
    """Compare what the join found, run by run, with each manifest and each job's counters.

    ``counters`` maps a job ARN to its four record counters. Call after a full iteration.
    """
    problems: list[str] = []
    manifests = results.manifests()
    by_source = {id(src): n for n, src in enumerate(results.sources)}
    for src, manifest in manifests:
        own = results.per_source[by_source[id(src)]]
        found = {
            "totalRecordCount": src.records,
            "processedRecordCount": own.succeeded + own.errored,
            "successRecordCount": own.succeeded,
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
                if theirs is not None and ours_tokens and theirs != ours_tokens:
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
    c = results.counts
    return Summary(
        job_arn=results.job_arn,
        status=status,
        total=total,
        succeeded=c["succeeded"],
        errored=c["errored"],
        missing=c["missing"],
        usage=results.usage,
        manifests=tuple(m for _, m in manifests),
        job_counters=totals,
        anomalies=tuple(results.anomalies),
        discrepancies=tuple(problems),
        jobs=sum(1 for src in results.sources if not src.is_file),
        attempts=len({src.attempt for src in results.sources}) or 1,
        cost_usd=cost_usd,
    )

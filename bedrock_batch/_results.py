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

from ._jsonl import iter_lines, loads_line
from ._outputs import Usage, output_embedding, output_text, output_usage
from ._s3uri import S3Uri

__all__ = ["Anomaly", "ErrorInfo", "Result", "ResultStatus", "Results", "Summary"]

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


class Results(Iterable[Result]):
    """Streams a job's results; ``anomalies`` and ``counts`` fill in as you iterate.

    Each iteration is a fresh pass over S3. Memory is bounded by the index of record ids.
    """

    def __init__(
        self,
        *,
        s3: Any,
        job_arn: str,
        output_uri: str,
        index: Mapping[str, Any],
        read_inputs: InputReader,
        expected_files: Iterable[str] = (),
        bucket_owner: str | None = None,
        chunk_size: int = 1 << 20,
    ) -> None:
        self._s3 = s3
        self.job_arn = job_arn
        self.job_id = job_arn.rsplit("/", 1)[-1]
        self.output = S3Uri.parse(output_uri).join(self.job_id)
        self._index = index
        self._read_inputs = read_inputs
        self._expected = list(expected_files)
        self._extra = {"ExpectedBucketOwner": bucket_owner} if bucket_owner else {}
        self._chunk = chunk_size
        self.anomalies: list[Anomaly] = []
        self.counts: dict[str, int] = {"succeeded": 0, "errored": 0, "missing": 0}
        self.usage = Usage()

    def _out_files(self) -> list[str]:
        keys = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(
            Bucket=self.output.bucket, Prefix=self.output.prefix, **self._extra
        ):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith(".out") and not key.endswith("/manifest.json.out"):
                    keys.append(key)
        return sorted(keys)

    def __iter__(self) -> Iterator[Result]:
        self.anomalies = []
        self.counts = {"succeeded": 0, "errored": 0, "missing": 0}
        self.usage = Usage()
        seen: set[str] = set()
        files = self._out_files()
        rel_found = {k[len(self.output.prefix) :] for k in files}
        for expected in self._expected:
            if expected not in rel_found:
                self.anomalies.append(
                    Anomaly(
                        "missing_output_file",
                        "expected output file is absent; its records are missing",
                        self.output.join(expected).key,
                    )
                )
        for key in files:
            body = self._s3.get_object(Bucket=self.output.bucket, Key=key, **self._extra)["Body"]
            for line_no, raw in iter_lines(body.iter_chunks(self._chunk)):
                result = self._join(raw, key, line_no, seen)
                if result is not None:
                    yield self._count(result)
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

    def _count(self, result: Result) -> Result:
        self.counts[result.status] += 1
        if result.status == "succeeded":
            self.usage = self.usage + result.usage
        return result

    def _join(self, raw: bytes, key: str, line_no: int, seen: set[str]) -> Result | None:
        try:
            obj = loads_line(raw)
            if not isinstance(obj, dict) or not isinstance(obj.get("recordId"), str):
                raise ValueError("not an object with a string recordId")
        except ValueError as err:
            m = _RID.search(raw)
            rid = m.group(1).decode("utf-8", "replace") if m else None
            preview = raw[:80].decode("utf-8", "replace")
            self.anomalies.append(
                Anomaly(
                    "unparseable_line", f"{err.__class__.__name__}: {preview!r}", key, line_no, rid
                )
            )
            return None
        rid = obj["recordId"]
        if rid not in self._index:
            self.anomalies.append(
                Anomaly(
                    "unknown_id", f"recordId {rid!r} is not an input of this job", key, line_no, rid
                )
            )
            return None
        if rid in seen:
            self.anomalies.append(
                Anomaly(
                    "duplicate_id",
                    f"recordId {rid!r} appears more than once; the first copy was kept",
                    key,
                    line_no,
                    rid,
                )
            )
            return None
        seen.add(rid)
        source = f"{key}:{line_no}"
        if "error" in obj and obj["error"] is not None:
            return Result(
                rid,
                self._index[rid],
                "errored",
                obj.get("modelInput"),
                None,
                ErrorInfo.from_wire(obj["error"]),
                self.job_arn,
                source,
            )
        if "modelOutput" not in obj:
            return Result(
                rid,
                self._index[rid],
                "errored",
                obj.get("modelInput"),
                None,
                ErrorInfo(0, "output line has neither modelOutput nor error"),
                self.job_arn,
                source,
            )
        return Result(
            rid,
            self._index[rid],
            "succeeded",
            obj.get("modelInput"),
            obj["modelOutput"],
            None,
            self.job_arn,
            source,
        )

    def read_manifest(self) -> dict[str, Any] | None:
        """``manifest.json.out`` of the job, or None (recorded as an anomaly) when absent."""
        key = self.output.join("manifest.json.out").key
        try:
            body = self._s3.get_object(Bucket=self.output.bucket, Key=key, **self._extra)[
                "Body"
            ].read()
        except Exception as err:
            code = getattr(err, "response", {}).get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                self.anomalies.append(
                    Anomaly("missing_manifest", "manifest.json.out is absent", key)
                )
                return None
            raise
        data = json.loads(body)
        return data if isinstance(data, dict) else None

    def to_jsonl(self, path: str) -> dict[str, int]:
        """Write one joined JSON line per input record to ``path``; returns the counts."""
        with open(path, "w", encoding="utf-8") as fh:
            for result in self:
                fh.write(json.dumps(result.to_dict(), ensure_ascii=False, default=str) + "\n")
        return dict(self.counts)


@attrs.frozen
class Summary:
    """Counts by status and tokens, reconciled with ``manifest.json.out`` and the job's counters."""

    job_arn: str
    status: str
    total: int
    succeeded: int
    errored: int
    missing: int
    usage: Usage
    manifest: dict[str, Any] | None
    job_counters: dict[str, int | None]
    anomalies: tuple[Anomaly, ...]
    discrepancies: tuple[str, ...]

    @property
    def consistent(self) -> bool:
        """True when results, manifest and counters agree and no anomaly was seen."""
        return not self.discrepancies and not self.anomalies

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs, as the text and HTML renderings show them."""
        return [
            ("job", self.job_arn),
            ("status", self.status),
            ("records", str(self.total)),
            ("succeeded", str(self.succeeded)),
            ("errored", str(self.errored)),
            ("missing", str(self.missing)),
            ("input tokens", str(self.usage.input_tokens)),
            ("output tokens", str(self.usage.output_tokens)),
            ("anomalies", str(len(self.anomalies))),
            (
                "reconciled",
                "yes" if self.consistent else "NO: " + "; ".join(self.discrepancies[:3]),
            ),
        ]

    def __str__(self) -> str:
        width = max(len(k) for k, _ in self.rows())
        return "\n".join(f"{k:<{width}}  {v}" for k, v in self.rows())

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self.rows()
        )
        return f"<table>{cells}</table>"


def reconcile(
    results: Results,
    job_status: str,
    counters: dict[str, int | None],
    manifest: dict[str, Any] | None,
    total: int,
) -> Summary:
    """Compare what the join found with the manifest and the job's counters."""
    c = results.counts
    found = {
        "totalRecordCount": total,
        "processedRecordCount": c["succeeded"] + c["errored"],
        "successRecordCount": c["succeeded"],
        "errorRecordCount": c["errored"],
    }
    problems = []
    if manifest is not None:
        for name, ours in found.items():
            theirs = manifest.get(name)
            if theirs is not None and theirs != ours:
                problems.append(f"manifest {name}={theirs}, results {ours}")
        for name, ours_tokens in (
            ("inputTokenCount", results.usage.input_tokens),
            ("outputTokenCount", results.usage.output_tokens),
        ):
            theirs = manifest.get(name)
            if theirs is not None and ours_tokens and theirs != ours_tokens:
                problems.append(f"manifest {name}={theirs}, results {ours_tokens}")
    for name, ours in found.items():
        theirs = counters.get(name)
        if (
            theirs is not None
            and theirs != ours
            and not (name == "totalRecordCount" and theirs == 0)
        ):
            problems.append(f"job {name}={theirs}, results {ours}")
    return Summary(
        job_arn=results.job_arn,
        status=job_status,
        total=total,
        succeeded=c["succeeded"],
        errored=c["errored"],
        missing=c["missing"],
        usage=results.usage,
        manifest=manifest,
        job_counters=counters,
        anomalies=tuple(results.anomalies),
        discrepancies=tuple(problems),
    )

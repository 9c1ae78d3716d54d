"""One record's outcome (:class:`Result`), read lazily from its output line.

The join builds a result from the line's *frame* (its top-level ``recordId`` and outcome, see
:mod:`._scan`) and keeps the line's bytes; ``model_input``, ``model_output``, ``error`` and
``usage`` are decoded the first time something asks for them (``text``, ``usage``,
``to_dict()``, equality...), and kept. A result built from values (a missing or rejected
record, a structured output validated as it was read, a line the scan left to a whole decode)
holds them from the start. Either way a result gives exactly the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from .._common._codec import decode
from .._families._protocol import ClientFamily
from .._families._unknown import UNKNOWN
from .._families._usage import NO_USAGE, Usage
from ._scan import ERRORED, NEITHER, Frame, body

__all__ = ["NEITHER_MESSAGE", "ErrorInfo", "LineContext", "Result", "ResultStatus"]

ResultStatus = Literal["succeeded", "errored", "missing", "rejected", "invalid_output"]
#: The error of a line that has neither ``modelOutput`` nor ``error``.
NEITHER_MESSAGE = "output line has neither modelOutput nor error"
_STATUS: tuple[ResultStatus, ...] = ("succeeded", "errored", "errored")


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


class LineContext:
    """What every result read from one output file shares: the file, its run, the family."""

    __slots__ = ("attempt", "family", "file", "job_arn")

    def __init__(self, file: str, job_arn: str | None, attempt: int, family: ClientFamily) -> None:
        self.file = file
        self.job_arn = job_arn
        self.attempt = attempt
        self.family = family

    def __reduce__(self) -> tuple[Any, ...]:
        return LineContext, (self.file, self.job_arn, self.attempt, self.family)


_FIELDS = ("record_id", "key", "status", "model_input", "model_output", "error", "job_arn", "source", "attempt", "usage", "parsed", "reused_from")  # fmt: skip


class Result:
    """The outcome of one input record.

    ``record_id``, ``key`` (the caller's), ``status``, ``model_input`` (the request, as the
    output line echoes it), ``model_output``, ``error`` (an :class:`ErrorInfo`), ``job_arn``,
    ``source`` (``"file:line"`` of the output line), ``attempt`` (0 for the first submission,
    n for the n-th retry), ``usage`` (input and output tokens; zeros without an output),
    ``parsed`` (a structured output's validated answer: the pydantic model's instance, or the
    dict) and ``family`` (the model family that reads ``model_output``). Read-only; the bodies
    are decoded from the output line on first use (see the module docstring): the answer and
    the request each on its own.
    """

    __slots__ = (
        "_attempt",
        "_ctx",
        "_error",
        "_family",
        "_frame",
        "_input",
        "_job_arn",
        "_key",
        "_line",
        "_output",
        "_parsed",
        "_raw",
        "_reused",
        "_rid",
        "_source",
        "_status",
        "_usage",
    )  # fmt: skip

    _rid: str
    _key: Any
    _status: ResultStatus
    _input: Any
    _output: Any
    _error: ErrorInfo | None
    _usage: Usage
    _parsed: Any
    _job_arn: str | None
    _source: str | None
    _attempt: int
    _family: ClientFamily
    _raw: bytes | None
    _frame: Frame | None
    _ctx: LineContext | None
    _line: int

    def __init__(
        self,
        record_id: str,
        key: Any,
        status: ResultStatus,
        model_input: Any = None,
        model_output: Any = None,
        error: ErrorInfo | None = None,
        job_arn: str | None = None,
        source: str | None = None,
        attempt: int = 0,
        usage: Usage = NO_USAGE,
        parsed: Any = None,
        reused_from: Mapping[str, str] | None = None,
        family: ClientFamily = UNKNOWN,
    ) -> None:
        self._rid = record_id
        self._key = key
        self._status = status
        self._input = model_input
        self._output = model_output
        self._error = error
        self._job_arn = job_arn
        self._source = source
        self._attempt = attempt
        self._usage = usage
        self._parsed = parsed
        self._family = family
        self._reused = reused_from
        self._raw = None
        self._ctx = None

    @classmethod
    def scanned(cls, key: Any, raw: bytes, frame: Frame, ctx: LineContext, line: int) -> Result:
        """A result read from an output line's frame: the bodies are decoded on first use."""
        self = cls.__new__(cls)
        self._rid = frame[0]
        self._key = key
        self._status = _STATUS[frame[1]]
        self._raw = raw
        self._frame = frame
        self._ctx = ctx
        self._line = line
        return self

    @classmethod
    def from_output(
        cls, record_id: str, key: Any, output: dict[str, Any], job_arn: str | None, source: str, attempt: int,
        family: ClientFamily = UNKNOWN,
    ) -> Result:  # fmt: skip
        """A succeeded result, its usage read once from the output by its family."""
        model_output = output["modelOutput"]
        usage = family.output_usage(model_output) if type(model_output) is dict else NO_USAGE
        reused = output.get("reusedFrom")
        return cls(record_id, key, "succeeded", output.get("modelInput"), model_output, None, job_arn, source, attempt, usage, None, reused, family)  # fmt: skip

    # -- the lazy part -----------------------------------------------------------------------

    def _part(self, which: int, name: str) -> Any:
        """One body of a scanned line, decoded alone (the whole line decoded when the part is
        not one JSON value by itself, or the scan did not place it: ``...``)."""
        raw, frame = self._raw, self._frame
        assert raw is not None
        assert frame is not None
        part = frame[which]
        if part is None:
            return None
        if part is not Ellipsis:
            try:
                return body(raw, part)
            except ValueError:
                pass
        try:
            obj = decode(raw)
        except ValueError:  # a sound frame, a body that is not JSON (see _scan)
            obj = {"error": {"errorMessage": "the output line is not JSON"}}
        return obj.get(name) if isinstance(obj, dict) else None

    def _read_output(self) -> None:
        """Decode the answer (or the error) of a scanned line, not the request."""
        assert self._frame is not None
        outcome = self._frame[1]
        if outcome == ERRORED:
            self._output = None
            self._error = ErrorInfo.from_wire(self._part(4, "error"))
        elif outcome == NEITHER:
            self._output = None
            self._error = ErrorInfo(0, NEITHER_MESSAGE)
        else:
            self._output = self._part(3, "modelOutput")
            self._error = None

    @property
    def record_id(self) -> str:
        """The record's id."""
        return self._rid

    @property
    def key(self) -> Any:
        """The caller's key of the record (None when it was given none)."""
        return self._key

    @property
    def status(self) -> ResultStatus:
        """``succeeded``, ``errored``, ``missing``, ``rejected`` or ``invalid_output``."""
        return self._status

    @property
    def model_input(self) -> Any:
        """The request body, as the output line echoes it (or as it was sent, when missing)."""
        try:
            return self._input
        except AttributeError:
            self._input = self._part(2, "modelInput")
            return self._input

    @property
    def model_output(self) -> Any:
        """The line's ``modelOutput`` (None unless the record was answered)."""
        try:
            return self._output
        except AttributeError:
            self._read_output()
            return self._output

    @property
    def error(self) -> ErrorInfo | None:
        """Why the record failed (None when it succeeded)."""
        try:
            return self._error
        except AttributeError:
            self._read_output()
            return self._error

    @property
    def job_arn(self) -> str | None:
        """The job that wrote the output line (None for an on-demand run or no line)."""
        return self._ctx.job_arn if self._ctx is not None else self._job_arn

    @property
    def source(self) -> str | None:
        """``"file:line"`` of the output line (None without one)."""
        if self._ctx is not None:
            return f"{self._ctx.file}:{self._line}"
        return self._source

    @property
    def attempt(self) -> int:
        """0 for the first submission, n for the n-th retry."""
        return self._ctx.attempt if self._ctx is not None else self._attempt

    @property
    def family(self) -> ClientFamily:
        """The model family that reads ``model_output`` (text, embedding, usage)."""
        return self._ctx.family if self._ctx is not None else self._family

    @property
    def usage(self) -> Usage:
        """Input and output tokens of this record (zeros when it has no output)."""
        try:
            return self._usage
        except AttributeError:
            output = self.model_output
            family = self.family
            self._usage = family.output_usage(output) if type(output) is dict else NO_USAGE
            return self._usage

    @property
    def parsed(self) -> Any:
        """A structured output's validated answer: the pydantic model's instance, or the dict
        (None for any other output)."""
        try:
            return self._parsed
        except AttributeError:  # read from its frame: the join validates structured ones
            return None

    @property
    def reused_from(self) -> Mapping[str, str] | None:
        """For an answer reused from an earlier batch (``reuse=``): a mapping with ``batch``
        and ``job_arn``, the batch and the job that paid for it (this batch paid nothing);
        else None."""
        try:
            return self._reused
        except AttributeError:  # read from its frame: only a reused copy carries the field
            raw = self._raw
            found = decode(raw).get("reusedFrom") if raw is not None and b'"reusedFrom"' in raw else None  # fmt: skip
            self._reused = found if isinstance(found, dict) else None
            return self._reused

    @property
    def ok(self) -> bool:
        """True when the record succeeded."""
        return self._status == "succeeded"

    @property
    def text(self) -> str | None:
        """The generated text, for every generation family and Converse; None otherwise."""
        return self.family.output_text(self.model_output)

    @property
    def reasoning(self) -> str | None:
        """The model's reasoning, where its family's output carries it apart from the answer
        (gpt-oss's leading ``<reasoning>`` block); None otherwise."""
        return self.family.output_reasoning(self.model_output)

    @property
    def embedding(self) -> list[float] | None:
        """The float embedding, for the Titan embedding models; None otherwise."""
        return self.family.output_embedding(self.model_output)

    def replace(self, **changes: Any) -> Result:
        """A copy with some fields changed (``status``, ``error``, ``parsed``...)."""
        family = changes.pop("family", self.family)
        values = {name: getattr(self, name) for name in _FIELDS}
        values.update(changes)
        return Result(**values, family=family)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ids, key, status, text/embedding, error, tokens and the raw output."""
        out: dict[str, Any] = {"recordId": self._rid, "key": self._key, "status": self._status}
        if self._status == "succeeded":
            emb = self.embedding
            if emb is not None:
                out["embedding"] = emb
            else:
                out["text"] = self.text
            usage = self.usage
            known = usage.known  # a family whose outputs carry no counts: unknown, not 0
            out["usage"] = {
                "inputTokens": usage.input_tokens if known else None,
                "outputTokens": usage.output_tokens if known else None,
            }
            if usage.cache_read_tokens or usage.cache_write_tokens:
                out["usage"]["cacheReadInputTokens"] = usage.cache_read_tokens
                out["usage"]["cacheWriteInputTokens"] = usage.cache_write_tokens
            out["modelOutput"] = self.model_output
        parsed = self.parsed
        if parsed is not None:
            dump = getattr(parsed, "model_dump", None)
            out["parsed"] = dump(mode="json") if callable(dump) else parsed
        error = self.error
        if error is not None:
            out["error"] = attrs.asdict(error)
        if self.reused_from is not None:
            out["reusedFrom"] = dict(self.reused_from)
        return out

    # -- value semantics ---------------------------------------------------------------------

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Result)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self._rid, self._status, self.source, self.attempt))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"Result({inner})"

    def __getstate__(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in _FIELDS}
        values["family"] = self.family
        return values

    def __setstate__(self, state: dict[str, Any]) -> None:
        Result.__init__(self, **state)

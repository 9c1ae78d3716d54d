"""Results: every input record joined to its output by ``recordId``.

Every input record comes back exactly once: ``succeeded`` (a ``modelOutput``), ``errored`` (an
``error`` object) or ``missing`` (no usable output line: the job stopped or timed out, a file
is missing, or its line was unparseable) — and, when records were skipped as they were added
(``on_invalid="skip"``), ``rejected`` (never sent; ``error.message`` says why; the caller's id
and key); and, for structured outputs, ``invalid_output`` (the model answered, but not as the schema asks). Output lines that cannot be joined — unknown ids,
second copies of an id, unparseable lines — are reported as :class:`Anomaly`, never dropped
silently, and never joined by position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._common._codec import decode, encode, has_lone_surrogate, scrub_surrogates
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import NOT_FOUND_CODES, ServiceError
from .._families._protocol import ClientFamily
from .._families._structured import parse_answer
from .._families._unknown import UNKNOWN
from .._families._usage import Usage
from .._records._store import RecordIndex
from ._result import NEITHER_MESSAGE, ErrorInfo, LineContext, Result, ResultStatus
from ._scan import scan

if TYPE_CHECKING:
    from .._ledger._ledger import Ledger

__all__ = [
    "NESTED_OUTPUT_SPELLINGS",
    "Anomaly",
    "ErrorInfo",
    "Join",
    "OutputSource",
    "Result",
    "ResultStatus",
    "output_spellings",
]

AnomalyKind = Literal[
    "unknown_id",
    "duplicate_id",
    "unparseable_line",
    "invalid_unicode",
    "missing_output_file",
    "missing_manifest",
    "foreign_output_file",
]
#: Job statuses after which Bedrock has written ``manifest.json.out``.
_WRITES_MANIFEST = frozenset({"Completed", "PartiallyCompleted", "Stopped"})
#: Request fields of a structured output (a forced tool, or Bedrock's own structured outputs).
_STRUCTURED = (b'"tool_choice"', b'"toolConfig"', b'"output_config"', b'"output_format"', b'"outputConfig"', b'"response_format"')  # fmt: skip
#: How Bedrock may name the output of an input file in a sub-folder of the job's input
#: (``a/data.jsonl``): ``"sub-path"`` (``{jobId}/a/data.jsonl.out``) and ``"flat"``
#: (``{jobId}/data.jsonl.out``). Facts §1 marks it UNVERIFIED, so both are read; narrow it
#: here once the service's behaviour is known.
NESTED_OUTPUT_SPELLINGS: tuple[str, ...] = ("sub-path", "flat")
_RID = re.compile(rb'"recordId"\s*:\s*"((?:[^"\\]|\\.)*)"')


def output_spellings(expected: str) -> tuple[str, ...]:
    """The names under which Bedrock may write the output ``expected`` (``{name}.out``) of an
    input file: as it is, and, for a file in a sub-folder, by its base name too (see
    :data:`NESTED_OUTPUT_SPELLINGS`)."""
    if "/" not in expected:
        return (expected,)
    spellings = {"sub-path": expected, "flat": expected.rsplit("/", 1)[1]}
    return tuple(spellings[s] for s in NESTED_OUTPUT_SPELLINGS if s in spellings)


def _empty_counts() -> dict[str, int]:
    """The three statuses every batch counts; others (``rejected``, ``invalid_output``) are
    added when they occur."""
    return {"succeeded": 0, "errored": 0, "missing": 0}


def _rejected(problem: dict[str, Any], seen: set[str]) -> Result:
    """A record skipped when it was added: never sent; ``error.message`` says why.

    Its id is the caller's, or (when it had none) ``<source:line>``, made unique among the
    batch's rejects (``seen``: the ids given so far in this pass, in the rejects' stored order)
    with ``#2``, ``#3``... when two calls had the same source and line. Its key is the caller's.
    """
    where = problem.get("source") or "record"
    line = problem.get("line")
    record_id = problem.get("record_id")
    if not record_id:
        record_id = base = f"<{where}:{line}>"
        n = 1
        while record_id in seen:
            n += 1
            record_id = f"{base[:-1]}#{n}>"
        seen.add(record_id)
    message = str(problem.get("message", ""))
    if problem.get("field"):
        message = f"{problem['field']}: {message}"
    source = f"{where}:{line}" if line is not None else where
    return Result(
        str(record_id), problem.get("key"), "rejected", None, None, ErrorInfo(0, message), None, source
    )  # fmt: skip


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


@attrs.frozen
class OutputSource:
    """Where one run's output lines are: a Bedrock job's ``{output}/{jobId}/`` folder, or the
    folder (or, for batches of version 0.1, the single file) an on-demand run wrote its
    answers to. ``attempt`` orders retries (the latest wins)."""

    location: str
    job_arn: str | None = None
    attempt: int = 0
    expected_files: tuple[str, ...] = ()
    status: str | None = None
    records: int | None = None
    single_file: bool = False
    #: Answers copied from earlier batches (``reuse=``): paid for by them, not by this batch.
    reused: bool = False

    @property
    def is_file(self) -> bool:
        """True for an on-demand run (its answers are not a Bedrock job's output)."""
        return self.job_arn is None


@attrs.define
class SourceCounts:
    """What one run's own output lines held (superseded lines and second copies included:
    every answer the run was paid for)."""

    succeeded: int = 0
    errored: int = 0
    #: Answers that break their schema: a success for Bedrock (its manifest counts them in
    #: ``successRecordCount``), and paid for.
    invalid_output: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: False when some succeeded line's output carried no token counts.
    usage_known: bool = True
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def usage(self) -> Usage:
        """Tokens of the run's answers (succeeded and ``invalid_output`` lines)."""
        return Usage(
            self.input_tokens, self.output_tokens, self.usage_known,
            self.cache_read_tokens, self.cache_write_tokens,
        )  # fmt: skip


InputReader = Callable[[Container[str]], Iterator[tuple[str, Any]]]
RejectReader = Callable[[], Iterator[dict[str, Any]]]


class Join(Iterable[Result]):
    """The join of a batch's outputs to its inputs: streams its results; ``anomalies`` and
    ``counts`` fill in as you iterate (the public :class:`~bedrock_batch.Results` adds the
    exports, partitions and renderings).

    Every input record comes back exactly once; when a record was retried, its latest attempt
    with an output wins (:meth:`history` shows all of them). Each iteration is a fresh pass
    over S3. Memory: the compact index of record ids, and a byte per record.
    """

    #: The batch's ledger, and whether its index is stored in S3 (set by the reader; what
    #: :meth:`partitions` plans from).
    ledger: Ledger | None = None
    index_in_s3: bool = False

    def __init__(
        self,
        *,
        s3: S3Access,
        sources: Iterable[OutputSource],
        index: RecordIndex,
        read_inputs: InputReader,
        read_rejects: RejectReader | None = None,
        models: Mapping[str, Any] | None = None,
        chunk_size: int = 1 << 20,
        family: ClientFamily | None = None,
        fan_out: Mapping[int, list[int]] | None = None,
    ) -> None:
        self._s3 = s3
        #: The family that reads the outputs (the unknown family reads them by their shape).
        self.family = family or UNKNOWN
        self.sources = sorted(sources, key=lambda src: -src.attempt)  # latest attempt first
        self.job_arn = next((src.job_arn for src in reversed(self.sources) if src.job_arn), None)
        self._index = index
        self._read_inputs = read_inputs
        self._read_rejects = read_rejects
        self._models = dict(models or {})
        self._chunk = chunk_size
        #: Record ordinal → the ordinals answered by its answer (``dedupe=True``).
        self._fan_out = fan_out or {}
        self._anomalies: list[Anomaly] = []
        self._counts: dict[str, int] = _empty_counts()
        self._tokens = [0, 0, 0, 0]
        self._usage_known = True
        self._per_source: list[SourceCounts] = []
        self._passes = 0  # passes started over the outputs
        #: Whether a pass adds up the answers' tokens (which decodes each ``modelOutput``):
        #: :attr:`usage`, :attr:`per_source` and the summary ask for a pass that does.
        self.count_tokens = False
        self._final_tokens = False
        #: What the last pass that ran to its end found (counts, tokens, anomalies, sources).
        self._final: tuple[dict[str, int], Usage, list[Anomaly], list[SourceCounts]] | None = None

    def _read(
        self, *, tokens: bool = False
    ) -> tuple[dict[str, int], Usage, list[Anomaly], list[SourceCounts]]:
        self.complete(tokens=tokens)  # no pass has run to its end: make one now
        assert self._final is not None
        return self._final

    def _usage(self) -> Usage:
        t = self._tokens
        return Usage(t[0], t[1], self._usage_known, t[2], t[3])

    def so_far(self) -> tuple[dict[str, int], Usage, list[Anomaly]]:
        """Counts, tokens and anomalies of the pass under way (or the last one), as far as it
        has read — without reading anything (the asyncio API reports progress with it). The
        tokens are those of a pass that counts them (:attr:`count_tokens`), else zeros."""
        return (
            dict(self._counts),
            self._usage(),
            list(self._anomalies),
        )

    @property
    def counts(self) -> dict[str, int]:
        """Results by status, from the last complete pass over the outputs (an iteration run to
        its end), else from a full pass made now: never the partial figures of an iteration
        stopped early or still under way."""
        return dict(self._read()[0])

    @property
    def anomalies(self) -> list[Anomaly]:
        """Output lines that could not be joined cleanly (see :attr:`counts` for when)."""
        return list(self._read()[2])

    @property
    def per_source(self) -> list[SourceCounts]:
        """What each run's own output lines held (see :attr:`counts` for when)."""
        return list(self._read(tokens=True)[3])

    @property
    def usage(self) -> Usage:
        """Tokens of the results' answers, ``invalid_output`` included (the latest attempt of
        each record; see :attr:`counts`). The summary's tokens count every answer paid for.
        Read from a pass that counts them (one is made if the last did not)."""
        return self._read(tokens=True)[1]

    def _files(self, src: OutputSource) -> tuple[S3Uri, list[str]]:
        folder, ours, _ = self._listing(src)
        return folder, ours

    def _listing(self, src: OutputSource) -> tuple[S3Uri, list[str], list[str]]:
        """(folder, the output files of this run, the other ``.out`` files in its folder).

        A Bedrock job's own files are ``{jobId}/{name}.out`` for each input file the ledger
        uploaded (the manifest names none): any other ``.out`` there was not written by the
        job for this batch, and is never read."""
        if src.single_file:
            uri = S3Uri.parse(src.location)
            return uri, [uri.key] if self._s3.exists(uri) else [], []
        folder = S3Uri.parse(src.location)
        if src.job_arn:
            folder = folder.join(src.job_arn.rsplit("/", 1)[-1])
        prefix = S3Uri(folder.bucket, folder.prefix)
        keys = sorted(
            key
            for key, _ in self._s3.list(prefix, suffix=".out")
            if not key.endswith("/manifest.json.out")
        )
        if not src.job_arn or not src.expected_files:
            return prefix, keys, []  # an on-demand run's answers; a ledger that names no files
        accepted = {n for f in src.expected_files for n in output_spellings(f)}
        ours = [k for k in keys if k[len(prefix.prefix) :] in accepted]
        return prefix, ours, [k for k in keys if k[len(prefix.prefix) :] not in accepted]

    def _lines(self, src: OutputSource) -> Iterator[tuple[str, int, bytes]]:
        folder, files, foreign = self._listing(src)
        if src.single_file and not files:
            self._anomalies.append(
                Anomaly("missing_output_file", "on-demand output file is absent", folder.key)
            )
        for key in foreign:
            self._anomalies.append(
                Anomaly(
                    "foreign_output_file",
                    "not the output of an input file this batch uploaded; not read",
                    key,
                )
            )
        rel_found = {k[len(folder.prefix) :] for k in files}
        for expected in src.expected_files if src.status == "Completed" else ():
            if not rel_found.intersection(output_spellings(expected)):
                self._anomalies.append(
                    Anomaly(
                        "missing_output_file",
                        "expected output file is absent; its records are missing",
                        folder.join(expected).key,
                    )
                )
        for key in files:
            for line_no, raw in self._s3.lines(S3Uri(folder.bucket, key), chunk_size=self._chunk):
                yield key, line_no, raw

    def __iter__(self) -> Iterator[Result]:
        for _, result in self.positioned():
            yield result

    def complete(self, *, tokens: bool = False) -> None:
        """Make sure a pass has run to its end (with the tokens counted, if ``tokens``)."""
        if self._final is None or (tokens and not self._final_tokens):
            previous, self.count_tokens = self.count_tokens, self.count_tokens or tokens
            try:
                for _ in self:
                    pass
            finally:
                self.count_tokens = previous

    def positioned(self) -> Iterator[tuple[int, Result]]:
        """Each result with its input position, in the order of the outputs: the record's
        place in the index, and after every record of the index the records skipped when
        they were added (``rejected``), in their order. Records with no output line come after
        the others, in input order."""
        self._passes += 1
        generation = self._passes
        tokens = self.count_tokens
        self._anomalies = []
        self._counts = _empty_counts()
        self._tokens = [0, 0, 0, 0]
        self._usage_known = True
        self._per_source = [SourceCounts() for _ in self.sources]
        index = self._index
        seen = bytearray(len(index))  # 0: not yet; else 1 + the source that answered it
        ordinal_of, key_at, scanned = index.ordinal_of, index.key_at, Result.scanned
        tally = self._counts
        for n, src in enumerate(self.sources):
            counts = self._per_source[n]
            mark = min(n + 1, 255)
            ctx: LineContext | None = None
            for key, line_no, raw in self._lines(src):
                if ctx is None or ctx.file != key:
                    ctx = LineContext(key, src.job_arn, src.attempt, self.family)
                frame = scan(raw)
                if frame is not None and not _structured(raw, frame[2]):
                    ordinal = ordinal_of(frame[0])
                    if ordinal is None:
                        self._unknown(frame[0], key, line_no)
                        continue
                    result = scanned(key_at(ordinal), raw, frame, ctx, line_no)
                else:  # decoded whole, as it always was
                    joined = self._join_decoded(raw, line_no, ctx)
                    if joined is None:
                        continue
                    ordinal, result = joined
                status = result._status
                if status == "succeeded":  # answered: paid for
                    counts.succeeded += 1
                elif status == "invalid_output":
                    counts.invalid_output += 1
                else:
                    counts.errored += 1
                if tokens and status != "errored":
                    usage = result.usage
                    counts.input_tokens += usage.input_tokens
                    counts.output_tokens += usage.output_tokens
                    counts.cache_read_tokens += usage.cache_read_tokens
                    counts.cache_write_tokens += usage.cache_write_tokens
                    counts.usage_known = counts.usage_known and usage.known
                first = seen[ordinal]
                if not first:
                    seen[ordinal] = mark
                    if tokens:
                        self._count(result, tokens)
                    else:
                        tally[status] = tally.get(status, 0) + 1
                    yield ordinal, result
                    for twin in self._fan_out.get(ordinal, ()) if self._fan_out else ():
                        if not seen[twin]:  # a duplicate body: the same answer, its own id
                            seen[twin] = mark
                            yield twin, self._count(result.replace(record_id=index.id_at(twin), key=key_at(twin)), False)  # fmt: skip
                elif first == mark:
                    self._anomalies.append(
                        Anomaly(
                            "duplicate_id",
                            f"recordId {result.record_id!r} appears more than once; the first copy was kept",
                            key,
                            line_no,
                            result.record_id,
                        )
                    )
        if seen.find(0) >= 0:  # records with no output line: ``seen`` is their bitmap
            wanted = _Unanswered(index, seen)
            for rid, model_input in self._read_inputs(wanted):
                found = index.ordinal_of(rid)
                if found is not None and not seen[found]:
                    seen[found] = 255
                    yield found, self._count(Result(rid, index.key_at(found), "missing", model_input), tokens)  # fmt: skip
            ordinal = seen.find(0)
            while ordinal >= 0:  # not even in the inputs any more
                yield ordinal, self._count(Result(index.id_at(ordinal), index.key_at(ordinal), "missing"), tokens)  # fmt: skip
                ordinal = seen.find(0, ordinal + 1)
        pseudo_ids: set[str] = set()
        rejects = self._read_rejects() if self._read_rejects else ()
        for position, rejected in enumerate(rejects, len(index)):
            yield position, self._count(_rejected(rejected, pseudo_ids), tokens)
        if generation == self._passes:  # no other pass started meanwhile (theirs is the state)
            self._final = (
                dict(self._counts),
                self._usage(),
                list(self._anomalies),
                [attrs.evolve(c) for c in self._per_source],
            )
            self._final_tokens = tokens

    def history(self, record_id: str) -> list[Result]:
        """Every output of one record across attempts, oldest first. A record that shares
        another's answer (``dedupe=True``) has that record's history, under its own id and key."""
        index, asked = self._index, record_id
        ordinal = index.ordinal_of(record_id) if self._fan_out else None
        if ordinal is not None:
            asked = next((index.id_at(s) for s, ts in self._fan_out.items() if ordinal in ts), asked)  # fmt: skip
        found = self._history(asked)
        if asked == record_id or ordinal is None:
            return found
        return [r.replace(record_id=record_id, key=index.key_at(ordinal)) for r in found]

    def _history(self, record_id: str) -> list[Result]:
        found = []
        needle = encode(record_id)
        for src in reversed(self.sources):
            ctx: LineContext | None = None
            for key, line_no, raw in self._lines(src):
                if needle in raw:
                    if ctx is None or ctx.file != key:
                        ctx = LineContext(key, src.job_arn, src.attempt, self.family)
                    joined = self._join(raw, line_no, ctx, quiet=True)
                    if joined is not None and joined[1].record_id == record_id:
                        found.append(joined[1])
        return found

    def _count(self, result: Result, tokens: bool) -> Result:
        status = result._status
        self._counts[status] = self._counts.get(status, 0) + 1
        if tokens and status in ("succeeded", "invalid_output"):  # an answer: paid for
            usage = result.usage
            self._tokens[0] += usage.input_tokens
            self._tokens[1] += usage.output_tokens
            self._tokens[2] += usage.cache_read_tokens
            self._tokens[3] += usage.cache_write_tokens
            if not usage.known:
                self._usage_known = False
        return result

    def _join(
        self, raw: bytes, line_no: int, ctx: LineContext, *, quiet: bool = False
    ) -> tuple[int, Result] | None:
        """The record an output line answers, and its result (None: not joined; an anomaly
        says why). The line's frame is scanned and its bodies left for later; a line that may
        be a structured output, or that the scan leaves alone, is decoded whole."""
        frame = scan(raw)  # (the pass has this inline)
        if frame is None or _structured(raw, frame[2]):
            return self._join_decoded(raw, line_no, ctx, quiet=quiet)
        rid = frame[0]
        ordinal = self._index.ordinal_of(rid)
        if ordinal is None:
            if not quiet:
                self._unknown(rid, ctx.file, line_no)
            return None
        return ordinal, Result.scanned(self._index.key_at(ordinal), raw, frame, ctx, line_no)

    def _unknown(self, rid: str, file: str, line_no: int) -> None:
        self._anomalies.append(
            Anomaly(
                "unknown_id", f"recordId {rid!r} is not an input of this job", file, line_no, rid
            )
        )

    def _join_decoded(
        self, raw: bytes, line_no: int, ctx: LineContext, *, quiet: bool = False
    ) -> tuple[int, Result] | None:
        key = ctx.file
        try:
            obj = decode(raw)
            if not isinstance(obj, dict) or not isinstance(obj.get("recordId"), str):
                raise ValueError("not an object with a string recordId")
        except ValueError as err:
            if not quiet:
                m = _RID.search(raw)
                rid = m.group(1).decode("utf-8", "replace") if m else None
                preview = raw[:80].decode("utf-8", "replace")
                self._anomalies.append(
                    Anomaly(
                        "unparseable_line",
                        f"{err.__class__.__name__}: {preview!r}",
                        key,
                        line_no,
                        rid,
                    )
                )
            return None
        if has_lone_surrogate(raw, obj):
            obj = scrub_surrogates(obj)
            if not quiet:
                self._anomalies.append(
                    Anomaly(
                        "invalid_unicode",
                        "the line holds a lone surrogate (not valid Unicode); it was replaced "
                        "by U+FFFD",
                        key,
                        line_no,
                        obj["recordId"],
                    )
                )
        rid = obj["recordId"]
        ordinal = self._index.ordinal_of(rid)
        if ordinal is None:
            if not quiet:
                self._unknown(rid, key, line_no)
            return None
        where = f"{key}:{line_no}"
        arn, attempt = ctx.job_arn, ctx.attempt
        caller_key = self._index.key_at(ordinal)
        if obj.get("error") is not None:
            error = ErrorInfo.from_wire(obj["error"])
            return ordinal, Result(rid, caller_key, "errored", obj.get("modelInput"), None, error, arn, where, attempt, family=ctx.family)  # fmt: skip
        if "modelOutput" not in obj:
            error = ErrorInfo(0, NEITHER_MESSAGE)
            return ordinal, Result(rid, caller_key, "errored", obj.get("modelInput"), None, error, arn, where, attempt, family=ctx.family)  # fmt: skip
        result = Result.from_output(rid, caller_key, obj, arn, where, attempt, ctx.family)
        if _structured(raw, ...):  # a structured output, perhaps
            forced, parsed, problem = parse_answer(result.model_input, result.model_output, self._models, ctx.family)  # fmt: skip
            if problem is not None:
                return ordinal, result.replace(status="invalid_output", error=ErrorInfo(0, problem))  # fmt: skip
            if forced:
                return ordinal, result.replace(parsed=parsed)
        return ordinal, result

    def manifests(self) -> list[tuple[OutputSource, dict[str, Any] | None]]:
        """``manifest.json.out`` of every Bedrock job (None, and an anomaly, when absent)."""
        out: list[tuple[OutputSource, dict[str, Any] | None]] = []
        for src in self.sources:
            if src.is_file or src.status not in _WRITES_MANIFEST:
                continue  # not ended yet (or ended without writing outputs): none to read
            folder = S3Uri.parse(src.location).join((src.job_arn or "").rsplit("/", 1)[-1])
            uri = folder.join("manifest.json.out")
            try:
                found = self._s3.get_json(uri)
            except ServiceError as err:  # pragma: no cover - get_json maps 404 to None
                if err.code not in NOT_FOUND_CODES:
                    raise
                found = None
            except ValueError:
                found = (None, "")
            if found is None:
                self._anomalies.append(
                    Anomaly("missing_manifest", "manifest.json.out is absent", uri.key)
                )
                out.append((src, None))
                continue
            data = found[0]
            out.append((src, data if isinstance(data, dict) else None))
        return out


def _structured(raw: bytes, model_input: Any) -> bool:
    """Whether a line's request may ask for a structured output (its answer is then validated
    as it is read): searched for in the ``modelInput`` value alone when the scan placed it."""
    if type(model_input) is slice:
        start, stop = model_input.start, model_input.stop
    elif model_input is None:  # no request: nothing asks for a structured output
        return False
    elif model_input is not Ellipsis:  # its bytes (msgspec.Raw)
        raw = bytes(model_input)
        start, stop = 0, len(raw)
    else:
        start, stop = 0, len(raw)
    if (
        raw.find(b'"tool', start, stop) < 0  # tool_choice, toolConfig
        and raw.find(b'"output', start, stop) < 0  # output_config, _format, outputConfig
        and raw.find(b'"response_format"', start, stop) < 0
    ):
        return False
    return any(raw.find(marker, start, stop) >= 0 for marker in _STRUCTURED)


class _Unanswered(Container[str]):
    """The records no output line answered, as the ids the inputs are searched for: a view of
    the join's bitmap (a byte per record), never a set of ids."""

    def __init__(self, index: RecordIndex, seen: bytearray) -> None:
        self._index = index
        self._seen = seen

    def __contains__(self, rid: object) -> bool:
        if not isinstance(rid, str):
            return False
        ordinal = self._index.ordinal_of(rid)
        return ordinal is not None and not self._seen[ordinal]

"""The eager join as it was before results were read lazily: the oracle of
``test_lazy_is_eager.py``.

Taken from ``bedrock_batch/_reader/_results.py`` at the commit before the lazy reader (its
``Result`` an attrs class holding decoded values, ``Join._join`` decoding every line whole, the
pass counting tokens as it goes), trimmed to what a pass over lines held in memory needs. Do not
"fix" it to follow the library: it is what the library must keep giving.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from bedrock_batch._common._codec import decode, has_lone_surrogate, scrub_surrogates
from bedrock_batch._families._protocol import ClientFamily
from bedrock_batch._families._structured import parse_answer
from bedrock_batch._families._unknown import UNKNOWN
from bedrock_batch._families._usage import NO_USAGE, Usage
from bedrock_batch._reader._results import Anomaly, ErrorInfo
from bedrock_batch._records._store import RecordIndex

_STRUCTURED = (b'"tool_choice"', b'"toolConfig"', b'"output_config"', b'"output_format"', b'"outputConfig"', b'"response_format"')  # fmt: skip
_RID = re.compile(rb'"recordId"\s*:\s*"((?:[^"\\]|\\.)*)"')


@attrs.frozen
class EagerResult:
    record_id: str
    key: Any
    status: str
    model_input: Any = None
    model_output: Any = None
    error: ErrorInfo | None = None
    job_arn: str | None = None
    source: str | None = None
    attempt: int = 0
    usage: Usage = attrs.field(default=NO_USAGE)
    parsed: Any = None
    family: ClientFamily = attrs.field(default=UNKNOWN, repr=False, eq=False)

    @classmethod
    def from_output(
        cls, record_id: str, key: Any, output: dict[str, Any], job_arn: str | None, source: str, attempt: int,
        family: ClientFamily = UNKNOWN,
    ) -> EagerResult:  # fmt: skip
        model_output = output["modelOutput"]
        usage = family.output_usage(model_output) if type(model_output) is dict else NO_USAGE
        return cls(record_id, key, "succeeded", output.get("modelInput"), model_output, None, job_arn, source, attempt, usage, None, family)  # fmt: skip

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def text(self) -> str | None:
        return self.family.output_text(self.model_output)

    @property
    def reasoning(self) -> str | None:
        return self.family.output_reasoning(self.model_output)

    @property
    def embedding(self) -> list[float] | None:
        return self.family.output_embedding(self.model_output)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"recordId": self.record_id, "key": self.key, "status": self.status}
        if self.status == "succeeded":
            emb = self.embedding
            if emb is not None:
                out["embedding"] = emb
            else:
                out["text"] = self.text
            usage = self.usage
            known = usage.known
            out["usage"] = {
                "inputTokens": usage.input_tokens if known else None,
                "outputTokens": usage.output_tokens if known else None,
            }
            if usage.cache_read_tokens or usage.cache_write_tokens:
                out["usage"]["cacheReadInputTokens"] = usage.cache_read_tokens
                out["usage"]["cacheWriteInputTokens"] = usage.cache_write_tokens
            out["modelOutput"] = self.model_output
        if self.parsed is not None:
            dump = getattr(self.parsed, "model_dump", None)
            out["parsed"] = dump(mode="json") if callable(dump) else self.parsed
        if self.error is not None:
            out["error"] = attrs.asdict(self.error)
        return out


class EagerJoin:
    """One pass over in-memory output files, joined the eager way."""

    def __init__(
        self,
        files: list[tuple[str, str | None, int, list[bytes]]],
        index: RecordIndex,
        inputs: Mapping[str, Any],
        family: ClientFamily,
        models: Mapping[str, Any] | None = None,
    ) -> None:
        self.files = files  # (file, job arn, attempt, lines), one source each, latest first
        self._index = index
        self._inputs = inputs
        self.family = family
        self._models = dict(models or {})
        self.anomalies: list[Anomaly] = []
        self.counts: dict[str, int] = {"succeeded": 0, "errored": 0, "missing": 0}
        self.tokens = [0, 0, 0, 0]
        self.usage_known = True

    def positioned(self) -> Iterator[tuple[int, EagerResult]]:
        index = self._index
        seen = bytearray(len(index))
        for n, (key, arn, attempt, lines) in enumerate(self.files):
            for line_no, raw in enumerate(lines, 1):
                joined = self._join(raw, key, line_no, arn, attempt)
                if joined is None:
                    continue
                ordinal, result = joined
                first = seen[ordinal]
                if not first:
                    seen[ordinal] = min(n + 1, 255)
                    yield ordinal, self._count(result)
                elif first == min(n + 1, 255):
                    self.anomalies.append(
                        Anomaly(
                            "duplicate_id",
                            f"recordId {result.record_id!r} appears more than once; the first copy was kept",
                            key,
                            line_no,
                            result.record_id,
                        )
                    )
        missing = {index.id_at(o): o for o, hit in enumerate(seen) if not hit}
        for rid, model_input in self._inputs.items():
            ordinal = missing.pop(rid, -1)
            if ordinal >= 0:
                yield ordinal, self._count(EagerResult(rid, index.key_at(ordinal), "missing", model_input))  # fmt: skip
        for rid, ordinal in sorted(missing.items()):
            yield ordinal, self._count(EagerResult(rid, index.key_at(ordinal), "missing"))

    def _count(self, result: EagerResult) -> EagerResult:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if result.status in ("succeeded", "invalid_output"):
            self.tokens[0] += result.usage.input_tokens
            self.tokens[1] += result.usage.output_tokens
            self.tokens[2] += result.usage.cache_read_tokens
            self.tokens[3] += result.usage.cache_write_tokens
            if not result.usage.known:
                self.usage_known = False
        return result

    def _join(
        self, raw: bytes, key: str, line_no: int, arn: str | None, attempt: int
    ) -> tuple[int, EagerResult] | None:
        try:
            obj = decode(raw)
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
        if has_lone_surrogate(raw, obj):
            obj = scrub_surrogates(obj)
            self.anomalies.append(
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
            self.anomalies.append(
                Anomaly(
                    "unknown_id", f"recordId {rid!r} is not an input of this job", key, line_no, rid
                )
            )
            return None
        where = f"{key}:{line_no}"
        caller_key = self._index.key_at(ordinal)
        if obj.get("error") is not None:
            error = ErrorInfo.from_wire(obj["error"])
            return ordinal, EagerResult(rid, caller_key, "errored", obj.get("modelInput"), None, error, arn, where, attempt)  # fmt: skip
        if "modelOutput" not in obj:
            error = ErrorInfo(0, "output line has neither modelOutput nor error")
            return ordinal, EagerResult(rid, caller_key, "errored", obj.get("modelInput"), None, error, arn, where, attempt)  # fmt: skip
        result = EagerResult.from_output(rid, caller_key, obj, arn, where, attempt, self.family)
        if any(marker in raw for marker in _STRUCTURED):
            forced, parsed, problem = parse_answer(result.model_input, result.model_output, self._models, self.family)  # fmt: skip
            if problem is not None:
                return ordinal, attrs.evolve(result, status="invalid_output", error=ErrorInfo(0, problem))  # fmt: skip
            if forced:
                return ordinal, attrs.evolve(result, parsed=parsed)
        return ordinal, result

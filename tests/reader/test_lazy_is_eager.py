"""The lazy reader gives exactly what the eager one gave.

Output lines are generated (hypothesis) for every model family — a body and an answer each
family's emulated model really gives, then twisted: text with quotes, backslashes, brackets and
control characters; bodies and answers that nest ``recordId``, ``error`` and ``modelOutput``
keys; error lines, ``"error": null``, lines with neither output nor error, ``modelOutput``
null; keys in any order, compact or spaced, ASCII-escaped or raw UTF-8; lone surrogates;
unknown and repeated ids; and lines that are not JSON at all (truncated, garbage, an array, no
recordId, a recordId that is not a string). Each file is joined by the library's
:class:`~bedrock_batch._reader._results.Join` and by the eager join it replaced
(``eager_oracle.py``), and every result is compared field by field — ``record_id``, ``key``,
``status``, ``model_input``, ``model_output``, ``error``, ``job_arn``, ``source``,
``attempt``, ``usage``, ``parsed``, ``text``, ``reasoning``, ``embedding``, ``ok``,
``to_dict()`` — with the counts, the tokens and the anomalies, under both scanners.

What the byte scanner does not prove (``_scan``'s docstring: bodies that are not well-formed
JSON behind a sound frame) is not generated: every body here is JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_batch._catalog import ModelInfo
from bedrock_batch._families._protocol import ClientFamily
from bedrock_batch._families._registry import family_for
from bedrock_batch._reader import _scan
from bedrock_batch._reader._results import Join, OutputSource
from bedrock_batch._records._store import RecordIndex
from bedrock_batch.local import RecordContext
from bedrock_batch.local._families import _registry as emulated
from bedrock_batch.local._families._models import resolve_model_id

from ..conftest import examples
from ..golden_bodies import CASES
from .eager_oracle import EagerJoin


def _examples() -> list[tuple[str, ClientFamily, dict[str, Any], dict[str, Any]]]:
    """One accepted golden body per (model, invocation), its family and the emulator's answer."""
    out = []
    done = set()
    for case in CASES:
        if case.error is not None or not isinstance(case.body, dict) or case.surface == "runtime":
            continue
        if (case.model, case.invocation) in done:
            continue
        info = resolve_model_id(case.model, "us-east-1").info
        client = family_for(case.model, case.invocation)
        if info is None or client is None:
            continue
        done.add((case.model, case.invocation))
        model: ModelInfo = info
        sim = emulated.family_for(model, case.invocation)
        ctx = RecordContext("r1", case.model, model, case.invocation, case.body, False)
        output = _short(sim.batch_output(sim.answer(ctx)))
        out.append((client.name, client, case.body, output))
    return out


def _short(value: Any) -> Any:
    """The value with its long lists (embeddings) cut to 4 items: the test stays fast."""
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value[:4]]
    return value


EXAMPLES = _examples()
FAMILIES = sorted({name for name, *_ in EXAMPLES})
IDS = ["R1", "r-2", 'q"uote', "back\\slash", "日本", "tab\there", "R00000007"]

text = st.lists(
    st.sampled_from(
        [
            "a",
            '"',
            "\\",
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\n",
            "\t",
            "\x01",
            "é",
            "日",
            "\u2028",
            "\ud800",
            " ",
            "recordId",
            "error",
            "modelOutput",
            "null",
        ]
    ),
    max_size=12,
).map("".join)
leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), text)  # fmt: skip
nested = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["recordId", "error", "modelOutput", "modelInput", "x", "text"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=6,
)


def _twist(value: Any, draw: Any) -> Any:
    """The value with one string replaced by generated text, or a nested key added."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        return {**value, key: _twist(value[key], draw)}
    if isinstance(value, dict) and draw(st.booleans()):
        return {**value, draw(st.sampled_from(["recordId", "error", "modelOutput", "x"])): draw(nested)}  # fmt: skip
    if isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        return [*value[:i], _twist(value[i], draw), *value[i + 1 :]]
    if isinstance(value, str):
        return draw(text)
    return value


def _dump(obj: Any, draw: Any) -> bytes:
    ascii_ = draw(st.booleans())
    spaced = draw(st.integers(0, 4)) == 0
    text_ = json.dumps(obj, ensure_ascii=ascii_, separators=(", ", ": ") if spaced else (",", ":"))  # fmt: skip
    return text_.encode("utf-8", "surrogatepass")


@st.composite
def output_line(draw: Any, family: str) -> bytes:
    _, _, body, output = draw(st.sampled_from([e for e in EXAMPLES if e[0] == family]))
    kind = draw(st.sampled_from(["ok", "ok", "ok", "error", "error-null", "neither", "output-null", "bad"]))  # fmt: skip
    rid: Any = draw(st.sampled_from(IDS) | text)
    if draw(st.booleans()):
        body = _twist(body, draw)
    if draw(st.booleans()):
        output = _twist(output, draw)
    members: list[tuple[str, Any]] = [("modelInput", body)]
    if kind in ("ok", "error-null"):
        members.append(("modelOutput", output))
    if kind == "output-null":
        members.append(("modelOutput", None))
    if kind == "error":
        error = draw(st.fixed_dictionaries({"errorCode": st.sampled_from([400, 429, "500", None]), "errorMessage": text}, optional={"retryable": st.booleans(), "expired": st.booleans(), "error": nested}))  # fmt: skip
        members.append(("error", error))
    if kind == "error-null":
        members.append(("error", None))
    if draw(st.integers(0, 3)) == 0:  # another key order than Bedrock's
        members = list(draw(st.permutations(members)))
    if draw(st.integers(0, 9)) == 0:
        rid = draw(st.sampled_from([1, None, ["R1"]]))  # not a string: unparseable
    at = len(members) if draw(st.integers(0, 3)) else draw(st.integers(0, len(members)))
    members.insert(at, ("recordId", rid))
    line = _dump(dict(members), draw)
    if kind == "bad":
        how = draw(st.sampled_from(["truncate", "garbage", "array", "no-id"]))
        if how == "truncate":
            line = line[: draw(st.integers(1, max(1, len(line) - 1)))]
        elif how == "garbage":
            line = draw(st.binary(min_size=1, max_size=40)).replace(b"\n", b"") or b"x"
        elif how == "array":
            line = b"[" + line + b"]"
        else:
            line = _dump({k: v for k, v in members if k != "recordId"}, draw)
    return line


class MemoryJoin(Join):
    """The library's join over output files held in memory (its S3 reads replaced)."""

    def __init__(self, files: dict[str, list[bytes]], inputs: dict[str, Any], **kw: Any) -> None:
        super().__init__(s3=None, read_inputs=self._inputs, **kw)  # type: ignore[arg-type]
        self._files = files
        self._input_bodies = inputs

    def _inputs(self, wanted: Any) -> Iterator[tuple[str, Any]]:
        return ((rid, body) for rid, body in self._input_bodies.items() if rid in wanted)

    def _lines(self, src: OutputSource) -> Iterator[tuple[str, int, bytes]]:
        for line_no, raw in enumerate(self._files[src.location], 1):
            yield src.location, line_no, raw


def _same(lazy: Any, eager: Any, touch_first: bool) -> None:
    if touch_first:  # the bodies decoded before anything else is read
        assert lazy.text == eager.text
    for name in ("record_id", "key", "status", "ok", "model_input", "model_output", "error", "job_arn", "source", "attempt", "usage", "parsed", "text", "reasoning", "embedding"):  # fmt: skip
        assert getattr(lazy, name) == getattr(eager, name), name
    assert lazy.to_dict() == eager.to_dict()


@pytest.fixture(params=["bytes", "msgspec"])
def scanner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "msgspec":
        typed = _scan._msgspec_scanner()
        if typed is None:
            pytest.skip("msgspec is not installed (the byte scanner is tested)")
        monkeypatch.setattr("bedrock_batch._reader._results.scan", typed)
    else:
        monkeypatch.setattr("bedrock_batch._reader._results.scan", _scan.scan_bytes)
    return str(request.param)


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
def test_lazy_results_are_the_eager_ones(scanner: str, family: str, data: st.DataObject) -> None:
    client = next(c for name, c, *_ in EXAMPLES if name == family)
    ids = data.draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=6, unique=True))
    index = RecordIndex()
    for n, rid in enumerate(ids):
        index.add(rid, json.dumps(n).encode() if n % 2 else None)
    files = {
        f"out/job/{name}": data.draw(st.lists(output_line(family), max_size=6))
        for name in ("a.jsonl.out", "b.jsonl.out")[: data.draw(st.integers(1, 2))]
    }
    retry = data.draw(st.booleans()) and len(files) == 2
    sources = [
        OutputSource(
            location, "arn:aws:bedrock:us-east-1:1:model-invocation-job/j", int(retry and i == 0)
        )
        for i, location in enumerate(files)
    ]
    inputs = {rid: {"in": rid} for rid in ids[::2]}
    lazy = MemoryJoin(files, inputs, sources=sources, index=index, family=client)
    order = sorted(sources, key=lambda s: -s.attempt)
    eager = EagerJoin([(s.location, s.job_arn, s.attempt, files[s.location]) for s in order], index, inputs, client)  # fmt: skip
    touch_first = data.draw(st.booleans())
    lazy.count_tokens = data.draw(st.booleans())
    got = list(lazy.positioned())
    want = list(eager.positioned())
    assert sorted(o for o, _ in got) == sorted(o for o, _ in want)  # every record once
    # in the same order, but for the records with no output line: input order now
    answered = [p for p in want if p[1].status != "missing"]
    assert [(o, r.record_id) for o, r in got[: len(answered)]] == [(o, r.record_id) for o, r in answered]  # fmt: skip
    by_ordinal = dict(got)
    for ordinal, expected in want:
        _same(by_ordinal[ordinal], expected, touch_first)
    assert lazy.anomalies == eager.anomalies
    assert lazy.counts == eager.counts
    assert lazy.usage.input_tokens == eager.tokens[0] and lazy.usage.output_tokens == eager.tokens[1]  # fmt: skip
    assert lazy.usage.known == eager.usage_known


def test_a_lazy_result_is_a_read_only_value_that_pickles_and_replaces() -> None:
    import pickle

    _name, client, body, output = next(e for e in EXAMPLES if e[0] == "anthropic")
    index = RecordIndex()
    index.add("R1")
    line = json.dumps({"modelInput": body, "modelOutput": output, "recordId": "R1"}).encode()
    lazy = MemoryJoin({"f": [line]}, {}, sources=[OutputSource("f", None, 0)], index=index, family=client)  # fmt: skip
    (result,) = list(lazy)
    copy = pickle.loads(pickle.dumps(result))  # decoded on the way (a Dask worker's results)
    assert copy == result and copy.text == result.text and copy.family.name == client.name
    assert result.model_output == output and result.source == "f:1"
    with pytest.raises(AttributeError):
        result.status = "errored"  # type: ignore[misc]
    changed = result.replace(status="invalid_output", parsed={"a": 1})
    assert (changed.status, changed.parsed, changed.text) == ("invalid_output", {"a": 1}, result.text)  # fmt: skip
    assert result.status == "succeeded" and result.parsed is None

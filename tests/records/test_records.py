"""The records part on its own: the store's transactions and byte ranges, intake that is
all-or-nothing, ids that never collide, and values that are not JSON refused with their path."""

from __future__ import annotations

import hashlib
import io
import json
import math
import tempfile
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bedrock_batch import StateError, ValidationError
from bedrock_batch._common._codec import EncodeError, decode, encode, find_invalid
from bedrock_batch._records._records import Records
from bedrock_batch._records._store import RecordStore

from ..conftest import BUCKET, HAIKU, claude_body, track


def records(**kwargs: Any) -> Records:
    return Records(HAIKU, input_uri=f"s3://{BUCKET}/in/", **kwargs)


# -- the store ---------------------------------------------------------------------------------


@given(st.lists(st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n"), min_size=1, max_size=40), st.data())  # fmt: skip
def test_store_ranges_rollback_and_digest(lines: list[bytes], data: st.DataObject) -> None:
    store = RecordStore()
    try:
        cut = data.draw(st.integers(0, len(lines)))
        for i, line in enumerate(lines[:cut]):
            store.append_line(f"id{i}", line)
        mark = store.mark()
        for i, line in enumerate(lines[cut:], start=cut):
            store.append_line(f"id{i}", line)
        assert store.content_digest() == hashlib.sha256(b"".join(lines)).hexdigest()
        start = data.draw(st.integers(0, len(lines)))
        end = data.draw(st.integers(start, len(lines)))
        out = io.BytesIO()
        size, sha = store.copy_range(start, end, out)
        assert out.getvalue() == b"".join(lines[start:end]) and size == len(out.getvalue())
        assert sha == hashlib.sha256(out.getvalue()).hexdigest()
        with tempfile.TemporaryFile() as fh:  # a real file
            assert store.copy_range(start, end, fh) == (size, sha)
            fh.flush()
            fh.seek(0)
            assert fh.read() == out.getvalue()
        view, view_size, view_sha = store.open_range(start, end)  # the single-PUT body
        with view:
            assert (view_size, view_sha) == (size, sha) and store.range_size(start, end) == size
            assert view.read() == out.getvalue()
            middle = data.draw(st.integers(0, size))
            assert view.seek(middle) == middle and view.tell() == middle
            assert view.read() == out.getvalue()[middle:]  # re-read for a retry
            view.seek(0)
            assert view.read(3) == out.getvalue()[:3]
        assert list(store.iter_lines(start, end)) == lines[start:end]
        store.rollback(mark)
        assert len(store) == cut and list(store.iter_lines()) == lines[:cut]
        assert store.content_digest() == hashlib.sha256(b"".join(lines[:cut])).hexdigest()
        assert all(f"id{i}" not in store for i in range(cut, len(lines)))
    finally:
        store.close()


def test_store_opens_no_file_until_a_record_arrives() -> None:
    store = RecordStore()
    assert store._handle is None
    store.append_line("a", b"{}\n")
    assert store.content_digest() and store._handle is not None
    store.close()
    assert store._handle is None and store.closed


# -- values that are not JSON ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


def _backends() -> list[Any]:
    from bedrock_batch._common import _codec

    found = [("json", _codec._strict_encode_public, _codec._strict_decode)]
    for name, make in (("orjson", _codec._orjson_encode), ("msgspec", _codec._msgspec_encode)):
        encoder = make()
        if encoder is not None:
            found.append((name, encoder, _codec.decode))
    return found


@pytest.mark.parametrize(("name", "enc", "dec"), _backends(), ids=[b[0] for b in _backends()])
@given(value=json_values)
@example(value=-(2**63) - 1)  # orjson reads integers beyond 64 bits as floats
@example(value=[1, 2**64])
def test_every_backend_writes_the_same_json(name: str, enc: Any, dec: Any, value: Any) -> None:
    assert find_invalid(value) is None
    assert decode(enc(value)) == dec(encode(value)) == value


@pytest.mark.parametrize(("name", "enc", "dec"), _backends(), ids=[b[0] for b in _backends()])
@given(bad=st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", object()]))
def test_every_backend_refuses_the_same_values(name: str, enc: Any, dec: Any, bad: Any) -> None:
    with pytest.raises(EncodeError) as info:
        enc({"a": [1, {"b": bad}]})
    assert info.value.path == "$.a[1].b"


@given(json_values, st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", "x\udfffy"]))
def test_a_bad_value_anywhere_is_refused_with_its_path(value: Any, bad: Any) -> None:
    holder = {"a": [value, {"b": bad}]}
    with pytest.raises(EncodeError) as info:
        encode(holder)
    assert info.value.path == "$.a[1].b"


def test_decode_refuses_nan_which_python_would_accept() -> None:
    with pytest.raises(ValueError, match="NaN is not JSON"):
        decode(b'{"x": NaN}')


# -- intake ------------------------------------------------------------------------------------

record_specs = st.lists(
    st.tuples(st.sampled_from(["ok", "ok", "ok", "bad-body", "nan", "bad-id"]), st.booleans()),
    min_size=1,
    max_size=25,
)


@given(record_specs)
def test_add_records_is_all_or_nothing(specs: list[tuple[str, bool]]) -> None:
    recs = records()
    try:
        recs.add(claude_body("before"), record_id=None, key=None)
        rows = []
        for i, (kind, with_id) in enumerate(specs):
            body: Any = claude_body(f"q{i}")
            if kind == "bad-body":
                body = {"prompt": "not claude"}
            elif kind == "nan":
                body = {**claude_body("x"), "temperature": math.nan}
            row: dict[str, Any] = {"modelInput": body}
            if with_id or kind == "bad-id":
                row["recordId"] = "bad id" if kind == "bad-id" else f"id-{i}"
            rows.append(row)
        bad = sum(kind != "ok" for kind, _ in specs)
        if bad:
            with pytest.raises(ValidationError) as info:
                recs.add_records(rows)
            assert len(info.value.problems) == bad
            assert len(recs) == 1
        else:
            assert recs.add_records(rows) == len(rows)
            assert len(recs) == 1 + len(rows)
        ids = recs.store.ids()
        assert len(ids) == len(set(ids))
    finally:
        recs.close()


@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_generated_and_explicit_ids_never_collide(explicit: list[bool]) -> None:
    """Any mix of lines with and without ids (explicit ids chosen to clash with generated
    ones) stores every record under a distinct id, explicit ids as given."""
    recs = records()
    try:
        lines = []
        for i, has_id in enumerate(explicit):
            row: dict[str, Any] = {"modelInput": claude_body(f"q{i}"), "n": i}
            if has_id:
                row["recordId"] = f"R{i:010d}"  # the id the generator would pick for ordinal i
            lines.append(json.dumps(row).encode())
        recs.add_jsonl(io.BytesIO(b"\n".join(lines)), key_field="n")
        ids = recs.store.ids()
        assert len(ids) == len(set(ids)) == len(explicit)
        by_key = dict(zip((recs.store.key_of(i) for i in ids), ids, strict=True))
        for i, has_id in enumerate(explicit):
            if has_id:
                assert by_key[i] == f"R{i:010d}"
        for rid, line in zip(ids, recs.store.iter_lines(), strict=True):
            assert decode(line)["recordId"] == rid  # the stored line says the same id
    finally:
        recs.close()


def test_records_refuse_additions_once_frozen_or_closed() -> None:
    frozen, closed = records(), records()
    frozen.freeze("submitted")
    closed.close()
    with pytest.raises(StateError, match="submitted"):
        frozen.add(claude_body("x"), record_id=None, key=None)
    with pytest.raises(StateError, match="closed"):
        closed.add(claude_body("x"), record_id=None, key=None)
    frozen.close()


def test_token_estimates_count_every_add_path() -> None:
    recs = records()
    recs.add(claude_body("hello", 100), record_id=None, key=None)
    recs.add_records([{"modelInput": claude_body("world", 50)}])
    assert recs.max_output_tokens == 150 and recs.estimated_input_tokens > 0
    recs.close()


# -- skip and report -----------------------------------------------------------------------------


def test_skip_and_report_sends_the_valid_records_and_accounts_for_the_rest(
    make_job: Any, session: Any
) -> None:
    import pandas as pd

    from bedrock_batch import BatchJob

    job = make_job()
    good = [{"recordId": f"g{i}", "modelInput": claude_body(f"q{i}")} for i in range(110)]
    bad = [
        b"{not json",
        json.dumps({"recordId": "no-body"}).encode(),
        json.dumps({"recordId": "wrong-family", "modelInput": {"prompt": "x"}}).encode(),
        json.dumps({"recordId": "dup", "modelInput": claude_body("a")}).encode(),
        json.dumps({"recordId": "dup", "modelInput": claude_body("b")}).encode(),
    ]
    lines = (
        [json.dumps(g).encode() for g in good[:50]]
        + bad
        + [json.dumps(g).encode() for g in good[50:]]
    )
    assert job.add_jsonl(io.BytesIO(b"\n".join(lines)), on_invalid="skip") == 111  # incl. first dup
    assert (
        job.add_dataframe(pd.DataFrame({"q": ["fine", None, ""]}), prompt="q", on_invalid="skip")
        == 1
    )
    assert [(p.line, p.record_id) for p in job.rejected] == [
        (51, None), (52, "no-body"), (53, "wrong-family"), (55, "dup"), (2, None), (3, None)
    ]  # fmt: skip
    with pytest.raises(ValidationError):  # the default stays: refuse everything
        job.add_records([{"modelInput": {"prompt": "x"}}])
    job.run()
    results = job.results()
    by_status: dict[str, list[Any]] = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r)
    assert len(by_status["succeeded"]) == 112 and len(by_status["rejected"]) == 6
    refused = {r.record_id: r for r in by_status["rejected"]}
    assert "anthropic_version: Field required" in refused["wrong-family"].error.message  # type: ignore[union-attr]
    assert refused["<<stream>:51>"].source == "<stream>:51"
    assert results.counts == {"succeeded": 112, "errored": 0, "missing": 0, "rejected": 6}
    summary = job.summary()
    assert summary.rejected == 6 and summary.total == 118 and "rejected" in str(summary)
    attached = track(BatchJob.attach(job.state_uri or "", session=session))
    assert sum(r.status == "rejected" for r in attached.results()) == 6
    assert job.retry() == 0  # rejected records are not sent again by a retry


# -- add_prompt's fast path (bedrock_batch._records._templates) ------------------------------------------

PROMPT_MODELS = [
    (HAIKU, "InvokeModel"),
    ("amazon.nova-micro-v1:0", "InvokeModel"),
    ("meta.llama3-1-8b-instruct-v1:0", "InvokeModel"),
    ("mistral.mistral-small-2402-v1:0", "InvokeModel"),
    ("amazon.titan-text-express-v1", "InvokeModel"),
    (HAIKU, "Converse"),
]


class _NoTemplates:
    """Sends every add_prompt the general way (build, check, encode), for comparison."""

    def find(self, *args: Any) -> None:
        return None


def _prompted(records: Records, prompt: Any, params: dict[str, Any]) -> Any:
    try:
        records.add_prompt(
            prompt, images=(), record_id=params.pop("record_id", None), key=params.pop("key", None),
            extra=None, **params,
        )  # fmt: skip
    except (ValidationError, TypeError) as err:
        return ("refused", type(err).__name__, str(err), getattr(err, "problems", None))
    return (
        "added",
        list(records.store.iter_lines()),
        records.store.content_digest(),
        records.estimated_input_tokens,
        records.max_output_tokens,
    )


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300_000), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
)  # fmt: skip
_texts = st.text(alphabet=st.characters(codec=None), max_size=40) | st.sampled_from(
    ["", " \n\t", "日本の文化について質問: お茶の作法は?", "\ud800 lone", 'quote " and \\ and \n', "\u2028\x00\x1f"]
)  # fmt: skip


@given(
    model=st.sampled_from(PROMPT_MODELS),
    prompts=st.lists(_texts | st.integers(), min_size=1, max_size=3),
    system=st.none() | _texts,
    max_tokens=_values,
    temperature=_values,
    top_p=_values,
    stops=st.none() | st.lists(_texts | st.integers(), max_size=3),
    record_id=st.none() | st.sampled_from(["doc-1", "bad id!", "R0000000001"]),
    key=st.none() | st.sampled_from([{"row": 1}, float("nan"), "k"]),
)
def test_the_fast_prompt_path_writes_what_the_general_path_writes(
    model: tuple[str, str], prompts: list[Any], system: Any, max_tokens: Any, temperature: Any,
    top_p: Any, stops: Any, record_id: Any, key: Any,
) -> None:  # fmt: skip
    """Same bytes, digest, token estimates and verdicts (with the same message) either way."""
    fast = Records(model[0], invocation_type=model[1])
    general = Records(model[0], invocation_type=model[1])
    general._templates = _NoTemplates()  # type: ignore[assignment]
    try:
        for i, prompt in enumerate(prompts):
            params = {
                "system": system, "max_tokens": max_tokens, "temperature": temperature,
                "top_p": top_p, "stop_sequences": stops,
                "record_id": record_id if i == 0 else None, "key": key,
            }  # fmt: skip
            assert _prompted(fast, prompt, dict(params)) == _prompted(general, prompt, dict(params))
    finally:
        fast.close()
        general.close()


def test_the_fast_path_is_taken_for_repeated_parameters() -> None:
    """A batch of prompts with the same parameters makes one template, checked once."""
    records = track(Records(HAIKU))
    checked: list[Any] = []
    original = records._body_problem
    records._templates._problem = lambda body: checked.append(body) or original(body)  # type: ignore[method-assign]
    for i in range(50):
        records.add_prompt(
            f"question {i}", system=None, max_tokens=300, temperature=None, top_p=None,
            stop_sequences=None, images=(), record_id=None, key=None, extra=None,
        )  # fmt: skip
    assert len(checked) == 1 and len(records) == 50

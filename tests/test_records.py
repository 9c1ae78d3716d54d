"""The records part on its own: the store's transactions and byte ranges, intake that is
all-or-nothing, ids that never collide, and values that are not JSON refused with their path."""

from __future__ import annotations

import hashlib
import io
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import StateError, ValidationError
from bedrock_batch._codec import EncodeError, decode, encode, find_invalid
from bedrock_batch._records import Records
from bedrock_batch._store import RecordStore

from .conftest import HAIKU, claude_body, track


def records(**kwargs: Any) -> Records:
    return Records(HAIKU, input_uri="s3://bkt/in/", **kwargs)


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
    from bedrock_batch import _codec

    found = [("json", _codec._strict_encode_public, _codec._strict_decode)]
    for name, make in (("orjson", _codec._orjson_encode), ("msgspec", _codec._msgspec_encode)):
        encoder = make()
        if encoder is not None:
            found.append((name, encoder, _codec.decode))
    return found


@pytest.mark.parametrize(("name", "enc", "dec"), _backends(), ids=[b[0] for b in _backends()])
@given(value=json_values)
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
        (51, None), (52, None), (53, "wrong-family"), (55, "dup"), (2, None), (3, None)
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

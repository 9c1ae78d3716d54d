"""Reading JSON Lines: any chunking gives the same lines, in linear time, and a line longer than
the bound is reported as one problem instead of being held in memory."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bedrock_batch import BatchJob, ValidationError
from bedrock_batch._common._codec import LINE_TOO_LONG, encode_line, iter_lines
from bedrock_batch._records import _records

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE = "arn:aws:iam::123456789012:role/R"


def _reference(data: bytes) -> list[tuple[int, bytes]]:
    """What splitting the whole file at once gives (the contract iter_lines keeps per chunk)."""
    lines = data.split(b"\n")
    last = lines.pop()
    out = []
    for number, raw in enumerate(lines, 1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line and not line.isspace():
            out.append((number, line))
    if last.strip():
        out.append((len(lines) + 1, last.rstrip(b"\r")))
    return out


@st.composite
def chunked(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    data = draw(st.binary(max_size=80).map(lambda b: bytes(b"ab\n\r "[x % 5] for x in b)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    bounds = [0, *cuts, len(data)]
    return data, [data[a:b] for a, b in itertools.pairwise(bounds)]


@given(chunked())
def test_any_chunking_gives_the_lines_of_the_whole(case: tuple[bytes, list[bytes]]) -> None:
    data, chunks = case
    assert list(iter_lines(chunks)) == _reference(data)


@given(chunked(), st.integers(1, 12))
def test_lines_over_the_bound_are_marked_and_the_rest_kept(
    case: tuple[bytes, list[bytes]], bound: int
) -> None:
    """The bound counts a line's bytes as stored (its ``\\r`` included), blank or not."""
    data, chunks = case
    raws = data.split(b"\n")
    expected = []
    for number, raw in enumerate(raws, 1):
        if len(raw) > bound:
            expected.append((number, LINE_TOO_LONG))
        elif number < len(raws):
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if line and not line.isspace():
                expected.append((number, line))
        elif raw.strip():
            expected.append((number, raw.rstrip(b"\r")))
    got = list(iter_lines(chunks, bound))
    assert got == expected
    assert all(line is LINE_TOO_LONG for _, line in got if line == LINE_TOO_LONG)


def test_a_file_without_newlines_is_one_specific_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A minified JSON array (the realistic case) is refused as one over-long line, naming the
    line and the format expected, without holding the line."""
    monkeypatch.setattr(_records, "MAX_LINE_BYTES", 10_000)
    array = b"[" + b",".join(b'{"modelInput": {"x": %d}}' % i for i in range(2_000)) + b"]"
    path = tmp_path / "minified.jsonl"
    path.write_bytes(array)
    job = BatchJob(HAIKU, ROLE, "s3://b/in/", "s3://b/out/")
    with pytest.raises(ValidationError, match=r"line 1.*longer than 10,000 bytes.*JSON Lines"):
        job.add_jsonl(path)
    # The same content as a stream, and a valid line after the long one, skipped and reported.
    stream = io.BytesIO(array + b"\n" + b'{"modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}\n')  # fmt: skip
    assert job.add_jsonl(stream, on_invalid="skip") == 1
    assert [p.line for p in job.rejected] == [1]
    job.close()


@pytest.mark.parametrize("depth", [1_000, 5_000, 100_000])
def test_deep_nesting_is_a_validation_error_naming_the_line(depth: int) -> None:
    body = b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "metadata": '  # fmt: skip
    line = b'{"modelInput": ' + body + b"[" * depth + b"]" * depth + b"}}\n"
    with BatchJob(HAIKU, ROLE, "s3://b/in/", "s3://b/out/") as job:
        with pytest.raises(ValidationError, match="nested too deeply") as err:
            job.add_jsonl(io.BytesIO(line))
        assert [p.line for p in err.value.problems] == [1]


def test_deep_nesting_decodes_to_a_value_error_on_every_backend() -> None:
    from bedrock_batch._common._codec import _strict_decode, decode

    deep = b"[" * 100_000 + b"]" * 100_000
    for read in (decode, _strict_decode):
        with pytest.raises(ValueError, match="nested too deeply"):
            read(deep)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)  # fmt: skip


@given(
    st.lists(st.tuples(st.dictionaries(st.text(max_size=4), _values, max_size=3), st.sampled_from(["canonical", "id last", "spaced", "escaped", "crlf"])), min_size=1, max_size=5),
)  # fmt: skip
@example([({"x": 2**70 + 1}, "id last"), ({"y": [-(2**65)]}, "canonical"), ({"é": "ü"}, "escaped")])
def test_add_jsonl_stores_each_record_as_its_canonical_encoding(
    records: list[tuple[dict[str, Any], str]],
) -> None:
    """Whatever the line's layout, the stored line is the record's canonical encoding, its
    values read exactly (integers beyond 64 bits included), whether the line as read was kept
    (already canonical) or re-encoded."""
    import json

    lines = []
    for n, (body, layout) in enumerate(records):
        rid = f"id{n}"
        if layout == "id last":
            line = json.dumps({"modelInput": body, "recordId": rid}, separators=(",", ":"), ensure_ascii=False)  # fmt: skip
        elif layout == "spaced":
            line = json.dumps({"recordId": rid, "modelInput": body}, ensure_ascii=False)
        elif layout == "escaped":
            line = json.dumps({"recordId": rid, "modelInput": body}, separators=(",", ":"))
        else:
            line = json.dumps({"recordId": rid, "modelInput": body}, separators=(",", ":"), ensure_ascii=False)  # fmt: skip
        lines.append(line.encode() + (b"\r\n" if layout == "crlf" else b"\n"))  # fmt: skip
    records_ = _records.Records("acme.model-v1")
    try:
        records_.add_jsonl(io.BytesIO(b"".join(lines)), key_field=None)
        got = list(records_.store.iter_lines())
    finally:
        records_.close()
    want = [{"recordId": f"id{n}", "modelInput": body} for n, (body, _) in enumerate(records)]
    assert [json.loads(g) for g in got] == want
    assert got == [encode_line(w) for w in want]

"""The export's columns built from packed rows (``_columns``) are the ones ``pyarrow.array()``
gives from the same rows as Python lists: every type, nulls, empty strings, non-ASCII text,
embeddings, keys of every kind, and batches of any size."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_batch._common._codec import encode
from bedrock_batch._reader._columns import assemble, pack
from bedrock_batch._reader._export import ROW_COLUMNS, arrow_schema

texts = st.text(max_size=40)
keys = st.one_of(
    st.none(),
    texts,
    st.integers(-(2**63), 2**63 - 1),
    st.dictionaries(st.sampled_from(["n", "topic", "ü"]), st.one_of(st.integers(0, 9), texts)),
)
floats = st.floats(-1e6, 1e6, allow_nan=False, width=32)
rows = st.tuples(
    keys,
    texts,
    st.sampled_from(["succeeded", "errored", "missing", "rejected", "invalid_output"]),
    st.one_of(st.none(), texts),
    st.one_of(st.none(), st.lists(floats, max_size=5)),
    st.one_of(st.none(), texts),
    st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
    st.one_of(st.none(), texts),
    st.one_of(st.none(), st.booleans()),
    st.integers(0, 2**40),
    st.integers(0, 2**40),
    st.integers(0, 2**31 - 1),
)


def _by_lists(batch: list[tuple[Any, ...]]) -> list[Any]:
    """The columns as the export made them before: ``pyarrow.array()`` of Python lists."""
    schema = arrow_schema()
    columns = [list(c) for c in zip(*batch, strict=True)] if batch else [[] for _ in ROW_COLUMNS]
    columns[0] = [k if k is None or isinstance(k, str) else encode(k).decode() for k in columns[0]]  # fmt: skip
    return [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)]


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, max_size=30))
def test_packed_columns_equal_pyarrow_arrays(batch: list[tuple[Any, ...]]) -> None:
    got = assemble(pa, [pack(r) for r in batch], objects=False, json_keys=True)
    for built, want, name in zip(got.arrays, _by_lists(batch), ROW_COLUMNS, strict=True):
        built.validate(full=True)
        assert built.equals(want), name
    assert got.keys == [k if isinstance(k, dict) or (k is not None and not isinstance(k, str)) else None for k in (r[0] for r in batch)]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(rows, max_size=30))
def test_objects_come_back_as_they_were(batch: list[tuple[Any, ...]]) -> None:
    """For pandas: the keys and the embeddings as objects, at full precision."""
    got = assemble(pa, [pack(r) for r in batch], objects=True, json_keys=False)
    assert got.keys == [r[0] for r in batch]
    assert got.embeddings == [r[4] for r in batch]
    assert got.arrays[0] is None and got.arrays[4] is None
    for i in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11):
        assert got.arrays[i].equals(_by_lists(batch)[i])

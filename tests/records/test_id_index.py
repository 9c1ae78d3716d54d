"""The compact id index answers exactly like a dict of ids, whatever the ids: runs of counting
ids, default ids at other ordinals, arbitrary text, and hash collisions (forced here with a
tiny hash), through renames and rollbacks; its hash is the same in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_batch._records._ids import IdIndex, default_id_factory, stable_hash
from bedrock_batch._records._store import RecordIndex

from ..conftest import examples


def tiny_hash(data: bytes) -> int:
    return len(data) % 3  # three values: almost every id collides with others


counting = st.builds(
    lambda prefix, width, n: f"{prefix}{n:0{width}d}",
    st.sampled_from(["R", "R0", "id-", "x", ""]),
    st.integers(1, 4),
    st.integers(0, 40),
)
defaults = st.integers(0, 60).map(default_id_factory)
texts = st.text(alphabet="ab9_.-é", min_size=1, max_size=6)
ids = st.one_of(counting, defaults, texts)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), ids, st.booleans()),
        st.tuples(st.just("run"), counting, st.integers(1, 12)),
        st.tuples(st.just("truncate"), st.integers(0, 200)),
        st.tuples(st.just("rename"), st.integers(0, 200), ids),
    ),
    max_size=60,
)


def check(index: RecordIndex, model: list[str], probes: list[str]) -> None:
    assert index.count == len(model)
    where = {rid: o for o, rid in enumerate(model)}
    for rid in [*model, *probes]:
        assert index.ordinal_of(rid) == where.get(rid), rid
        assert (rid in index) == (rid in where)
    assert [index.id_at(o) for o in range(len(model))] == model
    assert index.ids() == model
    assert index.ids(len(model) // 3, len(model) // 2 + 1) == model[len(model) // 3 : len(model) // 2 + 1]  # fmt: skip
    again = RecordIndex.from_lines(index.index_lines())
    assert again.ids() == model
    assert [again.ordinal_of(rid) for rid in model] == list(range(len(model)))
    if any(rid != default_id_factory(o) for o, rid in enumerate(model)):
        assert index.has_named


def run_ops(index: RecordIndex, steps: list[tuple[Any, ...]]) -> None:
    model: list[str] = []
    probes: list[str] = []

    def add(rid: str) -> None:
        if rid in model:
            probes.append(rid)
            return
        keyed = len(model) % 4 == 0
        index.add(rid, b'"k"' if keyed else None, default=rid == default_id_factory(len(model)))
        model.append(rid)

    for step in steps:
        if step[0] == "add":
            add(step[1] if step[2] else default_id_factory(len(model)))
        elif step[0] == "run":
            prefix = step[1].rstrip("0123456789")
            width = max(1, len(step[1]) - len(prefix))
            start = int(step[1][len(prefix) :] or 0)
            for n in range(start, start + step[2]):
                add(f"{prefix}{n:0{width}d}")
        elif step[0] == "truncate":
            count = min(step[1], len(model))
            probes.extend(model[count:])
            index.truncate(count)
            del model[count:]
        elif step[0] == "rename" and model:
            ordinal = step[1] % len(model)
            if step[2] in model:
                continue
            assert index.forget(model[ordinal]) == ordinal
            probes.append(model[ordinal])
            assert model[ordinal] not in index
            index.rename(ordinal, step[2])
            model[ordinal] = step[2]
        check(index, model, probes)
    check(index, model, probes)


@settings(max_examples=examples(80), deadline=None)
@given(steps=ops)
def test_the_index_answers_like_a_dict(steps: list[tuple[Any, ...]]) -> None:
    index = RecordIndex()
    run_ops(index, steps)
    index.close()


@settings(max_examples=examples(80), deadline=None)
@given(steps=ops)
def test_the_index_answers_like_a_dict_when_every_hash_collides(
    steps: list[tuple[Any, ...]],
) -> None:
    index = RecordIndex()
    index._id_index = IdIndex(hash_id=tiny_hash)
    run_ops(index, steps)
    index.close()


def test_ids_spill_to_a_file_and_are_still_found() -> None:
    index = RecordIndex()
    index._id_index = IdIndex(hash_id=tiny_hash)
    index._id_index._blob._bound = 64  # past 64 bytes the ids move to a temporary file
    model = [f"q{i * 7919 % 1000}z" for i in range(300)]
    for rid in model:
        index.add(rid)
    assert index._id_index._blob._file is not None
    assert index.ids() == model
    assert [index.ordinal_of(rid) for rid in model] == list(range(300))
    assert index.ordinal_of("q1001z") is None
    index.close()


def test_counting_ids_take_one_segment_however_many() -> None:
    index = RecordIndex()
    for i in range(1, 10_001):
        index.add(f"R{i:08d}")
    assert (
        len(index._id_index._start) == 1 and len(index._id_index._offsets) == 1
    )  # one run, no hashing
    assert index.ordinal_of("R00005000") == 4999
    assert index.ordinal_of("R00010001") is None
    index.close()


def test_the_hash_is_the_same_in_every_process() -> None:
    code = "from bedrock_batch._records._ids import stable_hash; print(stable_hash('R-é-1'.encode()))"  # fmt: skip
    seen = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # fmt: skip
        seen.add(int(out.stdout))
    assert seen == {stable_hash("R-é-1".encode())}

"""The record intake calls around the refusals of test_malformed_inputs.py: a refused call
lists every bad line and adds nothing, whatever came before it; a pipe is read once; generated
ids never collide with later explicit ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bedrock_batch import BatchJob, ValidationError

from ..conftest import claude_body
from .test_malformed_inputs import lines, rec

Make = Callable[..., BatchJob]


def test_jsonl_errors_list_every_bad_line_and_add_nothing(make_job: Make) -> None:
    job = make_job()
    src = lines(rec("ok1"), b"{bad", rec("x y"), rec("ok2"), rec("ok1"))
    with pytest.raises(ValidationError) as info:
        job.add_jsonl(src)
    assert [p.line for p in info.value.problems] == [2, 3, 5]
    assert len(job) == 0


def test_every_add_call_is_all_or_nothing(make_job: Make) -> None:
    """A refused record leaves nothing of its call behind, whatever came before it."""
    import pandas as pd

    job = make_job()
    job.add_prompt("kept")
    bad_last = [rec(f"r{i}") for i in range(5)] + [rec("bad", {"prompt": "x"})]
    with pytest.raises(ValidationError):
        job.add_jsonl(lines(*bad_last))
    with pytest.raises(ValidationError):
        job.add_records(
            [{"modelInput": claude_body(f"q{i}")} for i in range(5)] + [{"modelInput": {}}]
        )
    with pytest.raises(ValidationError):
        job.add_dataframe(pd.DataFrame({"q": ["a", "b", "c", ""]}), prompt="q")
    with pytest.raises(ValidationError):
        job.add_jsonl(lines(rec("s1"), {"recordId": "s2", "modelInput": claude_body("\ud800")}))
    assert len(job) == 1
    assert job.add_jsonl(lines(*[rec(f"r{i}") for i in range(5)])) == 5  # the ids were freed
    assert len(job) == 6


def test_add_jsonl_reads_a_pipe_once(make_job: Make, tmp_path: Any) -> None:
    """A FIFO can be read only once: every line is added (and validated) from that one read."""
    import os
    import threading

    fifo = tmp_path / "records.fifo"
    os.mkfifo(fifo)
    data = b"".join(json.dumps(rec(f"p{i}")).encode() + b"\n" for i in range(30))

    def write() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    job = make_job()
    assert job.add_jsonl(fifo) == 30
    writer.join()
    assert len(job) == 30 and job.plan().records == 30


def test_generated_ids_never_collide_with_later_explicit_ids(make_job: Make) -> None:
    """A line without recordId must not get an id that a later line claims explicitly."""
    job = make_job()
    rows = [{"modelInput": claude_body(f"anon {i}"), "n": i} for i in range(60)]
    rows += [
        {"recordId": f"R{i:010d}", "modelInput": claude_body(f"named {i}"), "n": 60 + i}
        for i in range(60)
    ]
    assert job.add_jsonl(lines(*rows), key_field="n") == 120
    results = list(job.run())
    assert len(results) == 120 and len({r.record_id for r in results}) == 120
    assert sorted(r.key for r in results) == list(range(120))
    named = {r.record_id: r.key for r in results if r.key >= 60}
    assert named == {f"R{i:010d}": 60 + i for i in range(60)}  # explicit ids kept as given

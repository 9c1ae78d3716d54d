"""A job with half its records missing reads in the memory of one with none: the records with
no output line are the join's bitmap (a byte per record), never a dict and a set of their ids.

Measured with tracemalloc over a pass of the library's join on output lines made on the fly
(no download: the S3 reads are replaced, as in ``test_lazy_is_eager.py``), so the figure is
the join's own. The 1,000,000-record size is opt-in (``-m bigmem``).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from bedrock_batch._families._registry import family_for
from bedrock_batch._reader._results import Join, OutputSource
from bedrock_batch._records._ids import default_id_factory
from bedrock_batch._records._store import RecordIndex

from ..conftest import HAIKU

LINE = (
    '{"modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":'
    '"user","content":[{"type":"text","text":"q"}]}]},"modelOutput":{"id":"m","type":"message",'
    '"role":"assistant","content":[{"type":"text","text":"an answer"}],"stop_reason":"end_turn",'
    '"usage":{"input_tokens":5,"output_tokens":3}},"recordId":"%s"}'
)


class GeneratedJoin(Join):
    """The join over one output file whose lines answer every ``step``-th record."""

    def __init__(self, n: int, step: int) -> None:
        index = RecordIndex()
        for i in range(n):
            index.add(default_id_factory(i), default=True)
        super().__init__(
            s3=None,  # type: ignore[arg-type]
            sources=[OutputSource("out/j/a.jsonl.out", "arn:j", 0)],
            index=index,
            read_inputs=lambda wanted: iter(()),  # the inputs are gone: missing, no body
            family=family_for(HAIKU),
        )
        self._n, self._step = n, step

    def _lines(self, src: OutputSource) -> Iterator[tuple[str, int, bytes]]:
        for i in range(0, self._n, self._step):
            yield src.location, i + 1, (LINE % default_id_factory(i)).encode()


def peak_of_a_pass(n: int, step: int) -> tuple[int, dict[str, Any]]:
    join = GeneratedJoin(n, step)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in join:
            pass
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, join.counts


@pytest.mark.parametrize(
    "n", [40_000, pytest.param(1_000_000, marks=pytest.mark.bigmem)], ids=["40k", "1M"]
)
def test_half_the_records_missing_read_flat(n: int) -> None:
    full, counts = peak_of_a_pass(n, 1)
    assert counts == {"succeeded": n, "errored": 0, "missing": 0}
    half, counts = peak_of_a_pass(n, 2)
    assert counts == {"succeeded": n // 2, "errored": 0, "missing": n // 2}
    # a dict and a set of the missing ids cost some 200 bytes a record; the bitmap is one byte
    # a record, and is there with or without missing records
    assert half - full <= 16 * n // 2 + 64 * 1024, (full, half)

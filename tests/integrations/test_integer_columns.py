"""DataFrames whose columns are labelled by integers (``pd.DataFrame(list_of_lists)``) are taken
as they are: ``prompt=0, key=1`` name the columns, a row function sees the integer labels, and
a label that reads the same (``"0"`` for ``0``, and back for polars, whose names are strings)
finds its column. A column the frame lacks is a ``KeyError`` naming the ones it has."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from bedrock_batch import BatchJob
from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

N = 120


def rows() -> list[list[Any]]:
    return [[f"question {i}", f"k{i}", f"r{i}"] for i in range(N)]


def keys_and_ids(job: BatchJob) -> dict[str, Any]:
    return {r.record_id: r.key for r in job.results()}


def test_pandas_integer_column_labels(local: LocalBedrock) -> None:
    df = pd.DataFrame(rows())
    assert list(df.columns) == [0, 1, 2]
    job = job_on(local)
    assert job.add_dataframe(df, prompt=0, key=1, record_id=2, max_tokens=32) == N
    job.run()
    assert keys_and_ids(job) == {f"r{i}": f"k{i}" for i in range(N)}
    again = job_on(local)
    assert again.add_dataframe(df, prompt=lambda row: row[0], key="1", max_tokens=32) == N
    with pytest.raises(KeyError, match=r"no column 7 \(its columns: \[0, 1, 2\]\)"):
        job_on(local).add_dataframe(df, prompt=7)


def test_polars_names_read_as_integers(local: LocalBedrock) -> None:
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"0": [r[0] for r in rows()], "1": [r[1] for r in rows()]})
    job = job_on(local)
    assert job.add_dataframe(df, prompt=0, key=1, max_tokens=32) == N
    job.run()
    assert sorted(keys_and_ids(job).values()) == sorted(f"k{i}" for i in range(N))
    with pytest.raises(KeyError, match="no column 2"):
        job_on(local).add_dataframe(df, prompt=0, key=2)

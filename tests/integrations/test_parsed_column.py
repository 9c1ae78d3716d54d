"""Structured outputs get a ``parsed`` column (issue 20): the validated answer as JSON text, the
same in ``to_pandas()``, ``to_arrow()``, CSV/Parquet files and ``bedrock_batch.dask``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("dask.dataframe")

from bedrock_batch.dask import read_results  # noqa: E402

N = 40


class City(BaseModel):
    name: str
    population: int


def test_structured_answers_are_a_parsed_column_everywhere(
    local: LocalBedrock, tmp_path: Path
) -> None:
    job = job_on(local)
    for i in range(N):
        job.add_prompt(f"City {i}?", output_schema=City, key=f"c{i}", max_tokens=200)
    job.add_prompt("no schema here", key="plain", max_tokens=50)
    results = job.run()
    expected = {r.key: r.parsed for r in results}
    assert sum(isinstance(p, City) for p in expected.values()) == N and expected["plain"] is None

    frame = results.to_pandas()
    assert "parsed" in frame.columns
    got = {k: None if pd.isna(v) else v for k, v in zip(frame["key"], frame["parsed"], strict=True)}
    assert got["plain"] is None
    assert {k: City(**json.loads(v)) for k, v in got.items() if k != "plain"} == {
        k: v for k, v in expected.items() if k != "plain"
    }
    table = results.to_arrow()
    assert str(table.schema.field("parsed").type) == "string"
    assert table.column("parsed").to_pylist() == [got[k] for k in frame["key"]]
    results.to_parquet(str(tmp_path / "r.parquet"))
    assert pq.read_table(tmp_path / "r.parquet").column("parsed").to_pylist() == [
        got[k] for k in frame["key"]
    ]

    dask_frame = read_results(job).compute(scheduler="sync")
    assert list(dask_frame.columns) == table.column_names == list(frame.columns)
    assert dask_frame["parsed"].dtype == table.to_pandas(types_mapper=pd.ArrowDtype)["parsed"].dtype
    by_key = dict(zip(dask_frame["key"], dask_frame["parsed"], strict=True))
    assert {k: (None if pd.isna(v) else v) for k, v in by_key.items()} == got

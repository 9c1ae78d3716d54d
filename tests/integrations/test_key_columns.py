"""Keys that are dicts (the quickstart's ``key={"topic": ...}``) become ``key_<name>`` columns in
``to_pandas()`` and ``to_arrow()``, so the results merge back onto the caller's own frame;
``bedrock_batch.dask.read_results`` gives the same columns with the same types."""

from __future__ import annotations

import pandas as pd
import pytest

from bedrock_batch import PollConfig
from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

pa = pytest.importorskip("pyarrow")
pytest.importorskip("dask.dataframe")

from bedrock_batch.dask import read_results  # noqa: E402

N = 150


def _user_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "topic": [f"topic {i}" for i in range(N)],
            "question": [f"What is topic {i}?" for i in range(N)],
        }
    )


def test_dict_keys_become_columns_the_results_merge_on(local: LocalBedrock) -> None:
    df = _user_frame()
    job = job_on(
        local, max_records_per_file=60, poll=PollConfig(initial=60, max_interval=600, jitter=0)
    )
    for i, row in df.iterrows():
        key = {"topic": row["topic"], "n": int(str(i)), "weight": 0.5 if i == 3 else None}
        if i == 4:
            key["n"] = 2.5  # ints and a float: a float column
        if i == 5:
            key["extra"] = {"nested": [1, 2]}  # anything else: JSON text
        job.add_prompt(row["question"], key=key, max_tokens=40)
    results = job.run()

    out = results.to_pandas()
    assert list(out.columns[:5]) == ["key", "key_topic", "key_n", "key_weight", "key_extra"]
    merged = df.merge(out, left_on="topic", right_on="key_topic", how="left", validate="1:1")
    assert len(merged) == N and merged["status"].eq("succeeded").all()
    assert merged["key_topic"].tolist() == df["topic"].tolist()
    assert out["key_n"].dtype == "float64" and out.loc[out["key_topic"] == "topic 4", "key_n"].item() == 2.5  # fmt: skip
    assert out["key_extra"].dropna().tolist() == ['{"nested":[1,2]}']

    table = results.to_arrow()
    assert table.column_names[:5] == ["key", "key_topic", "key_n", "key_weight", "key_extra"]
    assert str(table.schema.field("key_topic").type) == "string"
    assert str(table.schema.field("key_weight").type) == "double"

    frame = read_results(job).compute(scheduler="sync")
    assert list(frame.columns) == table.column_names == list(out.columns)
    expected = table.to_pandas(types_mapper=pd.ArrowDtype)
    assert list(frame.dtypes) == list(expected.dtypes)
    by_id = frame.set_index("record_id").sort_index()
    single = expected.set_index("record_id").sort_index()
    assert by_id["key_topic"].tolist() == single["key_topic"].tolist()


def test_keys_that_are_not_dicts_make_no_columns(local: LocalBedrock) -> None:
    job = job_on(local)
    for i in range(N):
        job.add_prompt(f"q{i}", key=f"k{i}" if i % 2 else None, max_tokens=20)
    out = job.run().to_pandas()
    assert not [c for c in out.columns if c.startswith("key_")]

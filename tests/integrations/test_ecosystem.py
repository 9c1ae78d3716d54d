"""DataFrames in and out, progress displays, and notebook rendering."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from bedrock_batch import BatchJob, PollConfig, ValidationError
from bedrock_batch.local import LocalBedrock

from ..conftest import HAIKU, job_on


def job_for(local: LocalBedrock, model: str = HAIKU) -> BatchJob:
    return job_on(local, model, poll=PollConfig(initial=60, max_interval=600, jitter=0))


def test_pandas_in_and_out(local: LocalBedrock) -> None:
    df = pd.DataFrame({"id": range(120), "question": [f"日本について {i}" for i in range(120)]})
    job = job_for(local)
    assert job.add_dataframe(df, prompt="question", key="id", max_tokens=64) == 120
    job.run()
    out = job.results().to_pandas()
    assert list(out.columns)[:3] == ["key", "record_id", "status"]
    assert len(out) == 120 and set(out["key"]) == set(range(120))
    assert (out["status"] == "succeeded").all() and out["text"].str.len().gt(0).all()
    assert (out["output_tokens"] > 0).all()
    first = next(iter(job.results()))
    assert type(first.key) is int  # numpy scalars became JSON-safe Python ints


def test_prompt_function_and_record_id_column(local: LocalBedrock) -> None:
    df = pd.DataFrame({"rid": [f"row-{i}" for i in range(100)], "topic": ["tea"] * 100})
    job = job_for(local)
    job.add_dataframe(df, prompt=lambda row: f"Tell me about {row['topic']}", record_id="rid")
    assert job.plan().records == 100
    with pytest.raises(ValidationError, match="exactly one"):
        job_for(local).add_dataframe(df)
    with pytest.raises(KeyError, match="nope"):
        job_for(local).add_dataframe(df, prompt="nope")


def test_polars_embeddings_to_arrow_in_batches(local: LocalBedrock) -> None:
    df = pl.DataFrame(
        {"doc": [f"document {i}" for i in range(150)], "doc_id": [f"d{i}" for i in range(150)]}
    )
    job = job_for(local, "amazon.titan-embed-text-v2:0")
    job.add_dataframe(df, text="doc", key="doc_id", dimensions=256)
    job.run()
    batches = list(job.results().iter_arrow_batches(batch_size=40))
    assert [b.num_rows for b in batches] == [40, 40, 40, 30]
    table = job.results().to_arrow()
    assert isinstance(table, pa.Table) and table.num_rows == 150
    assert table.schema.field("embedding").type == pa.list_(pa.float32())
    assert len(table.column("embedding")[0].as_py()) == 256
    assert table.column("text").null_count == 150
    assert sorted(table.column("key").to_pylist()) == sorted(f"d{i}" for i in range(150))


def test_errors_and_missing_columns_in_frames(local: LocalBedrock) -> None:
    from bedrock_batch.local import Faults

    local.faults.record_error_ids = frozenset({"R0000000001"})
    job = job_for(local)
    job.add_dataframe(pd.DataFrame({"q": [f"q{i}" for i in range(100)]}), prompt="q")
    job.run()
    out = job.results().to_pandas()
    bad = out[out["status"] == "errored"].iloc[0]
    assert bad["record_id"] == "R0000000001" and bad["error_code"] == 400 and pd.isna(bad["text"])
    assert isinstance(Faults(), Faults)


class _Strict(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag


def test_notebook_rendering_of_job_summary_and_progress(local: LocalBedrock) -> None:
    from IPython.core.formatters import DisplayFormatter

    job = job_for(local)
    for i in range(100):
        job.add_prompt(f"q{i} <b>&", max_tokens=20)
    formatter = DisplayFormatter()
    before, _ = formatter.format(job)
    assert "not submitted" in before["text/html"]
    job.submit()
    from tqdm.notebook import tqdm as notebook_tqdm

    bars: list[Any] = []

    def render(status: Any) -> None:  # what a notebook shows: an ipywidgets bar per poll
        if not bars:
            bars.append(notebook_tqdm(total=status.total_records or 0, display=False))
        bars[0].total = status.total_records or bars[0].total
        bars[0].n = status.processed_records or 0
        bars[0].set_description(status.status)
        bars[0].refresh()

    job.wait(callback=render)
    assert bars[0].n == 100 and "Completed" in bars[0].desc
    bars[0].close()
    data, _ = formatter.format(job.summary())
    html = data["text/html"]
    parser = _Strict()
    parser.feed(html)
    assert parser.stack == [] and "reconciled" in html and "<table>" in html


def test_progress_bars_for_wait_upload_and_results(
    local: LocalBedrock, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = job_for(local)
    for i in range(100):
        job.add_prompt(f"q{i}")
    job.submit(progress=True)
    job.wait(progress=True)
    job.results().to_jsonl(str(tmp_path / "r.jsonl"), progress=True)
    err = capsys.readouterr().err
    assert "upload" in err and "results" in err and "Completed" in err and "100/100" in err


def test_plain_progress_line_without_tqdm() -> None:
    from bedrock_batch._common._progress import CountDisplay

    stream = io.StringIO()
    display = CountDisplay("results", total=2000, stream=stream)
    display._bar = None  # as if tqdm were not installed
    for _ in range(2000):
        display.update(1)
    display.close()
    assert stream.getvalue().endswith("results: 2000/2000 rec\n")


@pytest.mark.parametrize("model", [HAIKU, "amazon.titan-embed-text-v2:0"])
def test_the_arrow_built_frame_equals_the_list_built_one(local: LocalBedrock, model: str) -> None:
    """to_pandas builds through Arrow (bounded memory); the frame is the one Python lists give:
    same columns, types and values, keys as the caller's objects, embeddings at full precision."""
    from bedrock_batch._reader._export import _pandas_from_lists, pandas_frame

    local.faults.record_error_ids = frozenset({"R0000000003"})
    job = job_for(local, model)
    for i in range(110):
        key = {"row": i} if i % 2 else i
        if "embed" in model:
            job.add_embedding(f"doc {i}", key=key, dimensions=256)
        else:
            job.add_prompt(f"q{i}", key=key, max_tokens=30)
    job.run()
    rows = list(job.results())
    arrow_built, list_built = pandas_frame(rows), _pandas_from_lists(rows)

    def plain(frame: Any) -> list[dict[str, Any]]:
        cells = frame.astype(object).where(frame.notna(), None)
        return [
            {k: v for k, v in row.items() if k != "embedding"} for row in cells.to_dict("records")
        ]

    assert list(arrow_built.columns) == list(list_built.columns)
    assert plain(arrow_built) == plain(list_built)
    assert list(arrow_built["embedding"]) == list(list_built["embedding"])
    for name in ("input_tokens", "output_tokens", "attempt"):
        assert arrow_built[name].dtype == "int64"
    by_id = arrow_built.set_index("record_id")
    assert by_id.loc["R0000000001", "key"] == {"row": 1} and by_id.loc["R0000000002", "key"] == 2
    assert by_id.loc["R0000000003", "status"] == "errored"
    if "embed" in model:
        first = next(r for r in rows if r.ok)
        got = arrow_built.loc[arrow_built["record_id"] == first.record_id, "embedding"].iloc[0]
        assert got == first.embedding  # float64, not float32

"""One export module for results: JSONL, CSV, Parquet, Arrow and pandas, in input order by
default (``order="input"``) or in the order Bedrock wrote the outputs (``order="output"``).

Local Bedrock shuffles each output file (``shuffle_window``) and the batch is cut into several
files, so the outputs come back out of input order; every format is read back with pandas and
pyarrow and compared with the joined results themselves."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

from bedrock_batch import BatchJob, PollConfig, Results
from bedrock_batch._reader._export import ROW_COLUMNS
from bedrock_batch.local import LocalBedrock

from ..conftest import claude_body, job_on

N = 330


def _job(local: LocalBedrock) -> tuple[BatchJob, list[str]]:
    """A finished batch of N records in three input files, two of them errored, and one record
    skipped when added; returns the job and the ids in input order."""
    local.faults.record_error_ids = frozenset({"R0000000007", "R0000000200"})
    job = job_on(
        local, max_records_per_file=120, poll=PollConfig(initial=60, max_interval=600, jitter=0)
    )
    ids = [job.add_prompt(f"question {i}", key={"n": i}, max_tokens=30) for i in range(N - 1)]
    lines = [json.dumps({"modelInput": claude_body("last one", 30), "key": "last"}), "{broken"]
    job.add_jsonl(io.BytesIO("\n".join(lines).encode() + b"\n"), on_invalid="skip")
    ids.append("R" + f"{N - 1:010d}")
    job.run()
    return job, ids


@pytest.fixture
def finished(local: LocalBedrock) -> tuple[BatchJob, list[str], list[str], dict[str, Any]]:
    """The batch, its ids in input order, in output order (as iteration gives them), and each
    record's result as ``to_dict()``."""
    job, ids = _job(local)
    joined = list(job.results())
    by_id = {r.record_id: r.to_dict() for r in joined}
    output_order = [r.record_id for r in joined]
    accepted = [rid for rid in output_order if by_id[rid]["status"] != "rejected"]
    assert sorted(accepted) == sorted(ids)
    assert accepted != ids  # the premise: Bedrock's order is not the input order
    assert [by_id[rid]["status"] for rid in output_order[-1:]] == ["rejected"]
    return job, ids, output_order, by_id


def _expected(ids: list[str], output_order: list[str]) -> list[str]:
    """Input order: the accepted records as added, then the rejected ones."""
    rejected = [rid for rid in output_order if rid not in set(ids)]
    return [*ids, *rejected]


def _check_rows(rows: list[dict[str, Any]], by_id: dict[str, Any]) -> None:
    """Each row holds its record's values (keys as JSON text unless strings)."""
    for row in rows:
        want = by_id[row["record_id"]]
        assert row["status"] == want["status"]
        key = want["key"]
        assert row["key"] == (key if isinstance(key, str) or key is None else json.dumps(key, separators=(",", ":")))  # fmt: skip
        if want["status"] == "succeeded":
            assert row["text"] == want["text"] and row["text"]
            assert row["input_tokens"] == want["usage"]["inputTokens"] > 0
            assert row["output_tokens"] == want["usage"]["outputTokens"] > 0
        else:
            assert row["error_message"] == want["error"]["message"]


def _norm(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


@pytest.mark.parametrize("order", ["input", "output"])
def test_files_round_trip_in_either_order(finished: Any, tmp_path: Path, order: str) -> None:
    job, ids, output_order, by_id = finished
    want = _expected(ids, output_order) if order == "input" else output_order
    results: Results = job.results()

    counts = results.to_jsonl(str(tmp_path / "r.jsonl"), order=order)
    assert counts == {"succeeded": N - 2, "errored": 2, "missing": 0, "rejected": 1}
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text("utf-8").splitlines()]
    assert [x["recordId"] for x in lines] == want
    assert lines == [by_id[rid] for rid in want]
    frame = pd.read_json(tmp_path / "r.jsonl", lines=True, dtype=False)
    assert list(frame["recordId"]) == want
    table = pa_json.read_json(tmp_path / "r.jsonl")
    assert table.column("recordId").to_pylist() == want

    assert results.to_csv(str(tmp_path / "r.csv"), order=order) == counts
    frame = pd.read_csv(tmp_path / "r.csv", dtype={"key": str}, keep_default_na=False, na_values=[""])  # fmt: skip
    assert list(frame.columns) == list(ROW_COLUMNS)
    assert list(frame["record_id"]) == want
    rows = [{k: _norm(v) for k, v in row.items()} for row in frame.to_dict("records")]
    _check_rows(rows, by_id)
    table = pa_csv.read_csv(tmp_path / "r.csv")
    assert table.column("record_id").to_pylist() == want

    assert results.to_parquet(str(tmp_path / "r.parquet"), order=order) == counts
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.schema.names == list(ROW_COLUMNS)
    assert table.column("record_id").to_pylist() == want
    _check_rows(table.to_pylist(), by_id)
    assert list(pd.read_parquet(tmp_path / "r.parquet")["record_id"]) == want


@pytest.mark.parametrize("order", ["input", "output"])
def test_arrow_and_pandas_in_either_order(finished: Any, order: str) -> None:
    job, ids, output_order, by_id = finished
    want = _expected(ids, output_order) if order == "input" else output_order
    results = job.results()
    table = results.to_arrow(order=order)
    assert isinstance(table, pa.Table)
    assert table.column("record_id").to_pylist() == want
    _check_rows(table.to_pylist(), by_id)
    batches = list(results.iter_arrow_batches(100, order=order))
    assert [b.num_rows for b in batches] == [100, 100, 100, 31]
    # the streamed batches keep the fixed columns; the table adds key_n (the keys are {"n": i})
    assert pa.Table.from_batches(batches).equals(table.drop_columns(["key_n"]))
    keys = table.column("key").to_pylist()
    assert table.column("key_n").to_pylist() == [json.loads(k)["n"] if k and k[0] == "{" else None for k in keys]  # fmt: skip
    frame = results.to_pandas(order=order)
    assert list(frame["record_id"]) == want
    assert list(frame["key"]) == [by_id[rid]["key"] for rid in want]  # the caller's objects
    assert frame["input_tokens"].dtype == "int64"


def test_input_order_is_the_default(finished: Any, tmp_path: Path) -> None:
    job, ids, output_order, _ = finished
    want = _expected(ids, output_order)
    results = job.results()
    assert results.to_arrow().column("record_id").to_pylist() == want
    assert list(results.to_pandas()["record_id"]) == want
    results.to_csv(str(tmp_path / "r.csv"))
    assert list(pd.read_csv(tmp_path / "r.csv")["record_id"]) == want
    results.to_jsonl(str(tmp_path / "r.jsonl"))
    lines = (tmp_path / "r.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(x)["recordId"] for x in lines] == want
    results.to_parquet(str(tmp_path / "r.parquet"))
    assert pq.read_table(tmp_path / "r.parquet").column("record_id").to_pylist() == want


def test_an_unknown_order_is_refused(finished: Any, tmp_path: Path) -> None:
    job = finished[0]
    with pytest.raises(ValueError, match="order must be"):
        job.results().to_csv(str(tmp_path / "r.csv"), order="sorted")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="order must be"):
        job.results().to_arrow(order="random")  # type: ignore[arg-type]


@pytest.fixture
def anyio_backend() -> str:
    """anyio's pytest plugin runs the asyncio test on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_the_asyncio_results_export_the_same_files(
    local: LocalBedrock, tmp_path: Path
) -> None:
    from bedrock_batch.aio import AsyncBatchJob

    job, ids = _job(local)
    results = AsyncBatchJob.wrap(job).results()
    for fmt in ("csv", "parquet", "jsonl"):
        counts = await getattr(results, f"to_{fmt}")(str(tmp_path / f"a.{fmt}"))
        getattr(job.results(), f"to_{fmt}")(str(tmp_path / f"b.{fmt}"))
        assert counts["rejected"] == 1
        assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()
    assert list(pd.read_csv(tmp_path / "a.csv")["record_id"])[: len(ids)] == ids
    frame = await results.to_pandas(order="output")
    assert list(frame["record_id"]) == [r.record_id for r in job.results()]

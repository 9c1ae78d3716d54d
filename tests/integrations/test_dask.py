"""Results on Dask: the partitions keep the join's promises (checked against the single-process
reader, in-process), and ``read_results`` reads them on a 2-worker ``distributed`` cluster of
processes against a Local Bedrock server."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bedrock_batch import BatchJob, PollConfig, Quotas, Result, Results
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import (
    BUCKET,
    HAIKU,
    ROLE,
    create_job,
    endpoint_env,
    job_on,
    put_records,
    serving,
    track,
)

pa = pytest.importorskip("pyarrow")
pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from bedrock_batch.dask import Partition, meta, read_results  # noqa: E402

SMALL = Quotas(min_records_per_job=20, max_records_per_job=100, max_concurrent_jobs=3)


def fill(job: BatchJob, n: int) -> None:
    """Keys of several kinds (dicts, strings, none) and some ids of the caller's own."""
    for i in range(n):
        key = {"row": i} if i % 3 == 0 else f"k{i}" if i % 3 == 1 else None
        job.add_prompt(f"question {i}", max_tokens=60, key=key, record_id=f"doc-{i}" if i % 7 == 0 else None)  # fmt: skip


def row(r: Result) -> tuple[Any, ...]:
    return (r.record_id, r.key, r.status, r.model_output, r.error, r.job_arn, r.source, r.attempt, r.usage)  # fmt: skip


def read_in_parallel(results: Results) -> tuple[list[Partition], list[Result]]:
    """Every partition pickled (as a cluster would ship it), then read on its own."""
    parts = [pickle.loads(pickle.dumps(p)) for p in results.partitions()]
    rows: list[Result] = []
    for part in parts:
        got = list(part.results())
        assert len(got) == len(part)  # a partition knows its row count before reading
        rows += got
    return parts, rows


def assert_like_single_process(results: Results) -> list[Partition]:
    parts, parallel = read_in_parallel(results)
    single = list(results)
    ids = [r.record_id for r in parallel]
    assert len(ids) == len(set(ids)) == len(single)  # every record exactly once
    by_id = sorted(map(row, parallel)), sorted(map(row, single))
    assert sorted(by_id[0], key=lambda t: t[0]) == sorted(by_id[1], key=lambda t: t[0])
    table = pa.concat_tables([p.to_arrow() for p in parts]).sort_by("record_id")
    assert table.equals(results.to_arrow().sort_by("record_id"))
    return parts


def rewrite(s3: Any, key: str, edit: Any) -> None:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    lines = [line for line in body.split(b"\n") if line]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\n".join(edit(lines)) + b"\n")


def output_keys(s3: Any, arn: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"out/{arn.rsplit('/', 1)[1]}/")
    return sorted(o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".jsonl.out"))


# -- the plan's promises, in-process ------------------------------------------------------------


def test_several_jobs_and_retries_give_the_single_process_rows() -> None:
    faults = Faults(record_error_rate=0.2)
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}, faults=faults, seed=3) as local:
        job = job_on(local, max_records_per_file=40)
        fill(job, 260)
        job.submit()
        job.wait()
        assert job.retry(include_non_retryable=True) >= 20  # a follow-up batch job
        job.wait()
        job.retry(include_non_retryable=True)  # what is left: on demand
        job.wait()
        results = job.results()
        parts = assert_like_single_process(results)
        kinds = [(p.kind, p.attempt) for p in parts]
        assert kinds.count(("range", 0)) == 9  # 3 jobs x 3 input files
        assert {k for k in kinds if k[0] == "listed"} >= {("listed", 1), ("listed", 2)}
        assert sum(len(p) for p in parts) == 260
        assert sum(len(p.skip) for p in parts) > 0  # first-attempt records a retry answered
        for part in parts:
            blob = pickle.dumps(part)
            assert b"botocore" not in blob and b"boto3" not in blob  # no client inside
            if part.kind == "range":
                assert len(blob) < 2048  # a range carries a few numbers, not rows or keys


def test_duplicates_garbage_lost_and_foreign_lines() -> None:
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}) as local:
        job = job_on(local, max_records_per_file=40)
        fill(job, 120)
        job.submit()
        job.wait()
        s3 = local.client("s3")
        first, second = output_keys(s3, job.job_arns[0])[:2]

        def damage(lines: list[bytes]) -> list[bytes]:
            error = b'{"recordId":"%s","modelInput":{},"error":{"errorCode":500,"errorMessage":"late copy"}}'
            copy = error % json.loads(lines[3])["recordId"].encode()
            unknown = b'{"recordId":"nobody","modelOutput":{}}'
            return [*lines[:5], copy, b"{not json", unknown, *lines[6:]]  # line 5 lost

        rewrite(s3, first, damage)
        assert_like_single_process(job.results())
        results = job.results()
        rows = {r.record_id: r for r in results}
        assert sum(r.status == "missing" for r in rows.values()) == 1
        assert {a.kind for a in results.anomalies} == {
            "duplicate_id",
            "unparseable_line",
            "unknown_id",
        }

        # a line answering a record of another input file: that file's own line answers it
        rewrite(s3, first, lambda lines: [*lines, next(iter(_lines(s3, second)))])
        _, parallel = read_in_parallel(job.results())
        ids = [r.record_id for r in parallel]
        assert len(ids) == len(set(ids)) == 120
        moved = parallel[[r.source for r in parallel].index(f"{second}:1")]
        assert moved.status == "succeeded"


def _lines(s3: Any, key: str) -> Iterator[bytes]:
    yield from (x for x in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().split(b"\n") if x)


def test_a_retry_without_an_output_line_leaves_the_first_answer() -> None:
    faults = Faults(record_error_rate=0.3)
    with LocalBedrock(clock="manual", quotas={HAIKU: SMALL}, faults=faults, seed=5) as local:
        job = job_on(local)
        fill(job, 100)
        job.submit()
        job.wait()
        assert job.retry(include_non_retryable=True) >= 20
        job.wait()
        s3 = local.client("s3")
        retry_file = output_keys(s3, job.job_arns[-1])[0]
        dropped = next(_lines(s3, retry_file))
        rewrite(s3, retry_file, lambda lines: lines[1:])
        parts = assert_like_single_process(job.results())
        rid = json.loads(dropped)["recordId"]
        mine = next(r for p in parts for r in p.results() if r.record_id == rid)
        assert (mine.status, mine.attempt) == ("errored", 0)  # attempt 0's line, not "missing"


def test_jobs_never_created_and_on_demand_runs() -> None:
    quotas = Quotas(min_records_per_job=20, max_records_per_job=50, max_concurrent_jobs=1)
    with LocalBedrock(clock="manual", quotas={HAIKU: quotas}) as local:
        job = job_on(local)
        fill(job, 150)
        job.submit()  # one job created, two waiting for the slot
        local.advance(hours=1)
        job.stop()  # the two waiting are never created
        job.wait(raise_on_failure=False)
        parts = assert_like_single_process(job.results())
        assert sum(p.bucket is None for p in parts) == 2  # their records: missing, no file read
        on_demand = job_on(local, mode="on_demand")
        fill(on_demand, 30)
        on_demand.submit()
        on_demand.wait()
        parts = assert_like_single_process(on_demand.results())
        assert parts[0].kind == "range" and {p.kind for p in parts[1:]} == {"listed"}  # chunks
        assert len(parts[0]) == 0  # the run's range: nothing left unanswered


def test_a_job_not_created_by_bedrock_batch(local: LocalBedrock, session: Any, s3: Any, bedrock: Any) -> None:  # fmt: skip
    put_records(s3, 60, key="raw/a.jsonl")
    put_records(s3, 60, key="raw/b.jsonl", start=60)
    arn = create_job(bedrock, inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/raw/"}})  # fmt: skip
    local.advance(hours=1)
    rewrite(s3, output_keys(s3, arn)[0], lambda lines: lines[2:])  # two records missing
    job = track(BatchJob.attach(arn, session=session))
    parts = assert_like_single_process(job.results())
    assert [p.kind for p in parts] == ["listed", "listed", "listed"]  # two files, the missing


def test_index_of_version_0_1(local: LocalBedrock, session: Any, s3: Any) -> None:
    """Batches submitted by version 0.1 listed every record in index.jsonl, without ``n``."""
    job = job_on(local)
    fill(job, 140)
    job.submit()
    job.wait()
    assert job.ledger is not None and job.state_uri is not None
    key = f"in/{job.ledger.batch_id}/index.jsonl"
    old = [b'{"recordId":"%s","key":%s}' % (rid.encode(), k) for rid, k in _index_entries(job)]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\n".join(old) + b"\n")
    again = track(BatchJob.attach(job.state_uri, session=session))
    parts = assert_like_single_process(again.results())
    keys = {r.record_id: r.key for p in parts for r in p.results()}
    assert keys == {r.record_id: r.key for r in job.results()}  # the keys read back from 0.1


def _index_entries(job: BatchJob) -> Iterator[tuple[str, bytes]]:
    for r in job.results():
        yield r.record_id, json.dumps(r.key).encode()


def test_skipped_records_and_structured_outputs_come_back_as_the_reader_gives_them() -> None:
    import io

    from ..families.test_structured import Person, tool_responder

    with LocalBedrock(clock="manual", responder=tool_responder({4, 9})) as local:
        job = job_on(local, max_records_per_file=40)
        lines = [json.dumps({"recordId": f"r{i}", "modelInput": {"x": 1}}) for i in range(2)]
        assert (
            job.add_jsonl(io.BytesIO("\n".join(lines).encode() + b"\n{broken"), on_invalid="skip")
            == 0
        )
        for i in range(110):
            job.add_prompt(f"who is person {i}", output_schema=Person, max_tokens=200)
        job.submit()
        job.wait()
        results = job.results()
        parts = assert_like_single_process(results)
        kinds = [p.kind for p in parts]
        assert kinds.count("rejected") == 1 and sum(map(len, parts)) == 113
        statuses = [r.status for p in parts for r in p.results()]
        assert statuses.count("rejected") == 3 and statuses.count("invalid_output") == 2
        parsed = [r.parsed for p in parts for r in p.results() if r.status == "succeeded"]
        assert len(parsed) == 108 and all(isinstance(x, Person) for x in parsed)


def test_importing_the_package_imports_no_optional_extra() -> None:
    code = (
        "import sys, bedrock_batch, bedrock_batch.aio; "
        "bedrock_batch.BatchJob; bedrock_batch.Results; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed', 'pandas', 'pyarrow', 'aiobotocore', 'aiohttp')]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- on a cluster ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Any, str]]:
    """A Local Bedrock server, a finished batch of several jobs with retries, and a
    ``distributed`` client on 2 worker processes (their credentials from the environment)."""
    faults = Faults(record_error_rate=0.15)
    with (
        serving(BUCKET, clock="manual", quotas={HAIKU: SMALL}, faults=faults, seed=7) as server,
        pytest.MonkeyPatch.context() as env,
    ):
        local = server.local
        for name, value in endpoint_env(server.endpoint_url).items():
            if name.startswith("AWS_"):
                env.setenv(name, value)
        import boto3

        session = boto3.Session()
        poll = PollConfig(initial=30, max_interval=600, jitter=0)
        with BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=session,
            sleep=local.advance, poll=poll, max_records_per_file=50,
        ) as job:  # fmt: skip
            fill(job, 300)
            job.submit()
            job.wait()
            assert job.retry(include_non_retryable=True) > 0
            job.wait()
            handle = job.state_uri
        assert handle is not None
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            ) as lc,
            distributed.Client(lc) as client,
        ):
            yield client, handle


def test_read_results_on_a_cluster_matches_to_arrow(cluster: tuple[Any, str]) -> None:
    client, handle = cluster
    import boto3

    with BatchJob.attach(handle, session=boto3.Session()) as job:  # another process, as it were
        frame = read_results(job)
        single = job.results().to_arrow()
        assert frame.npartitions == len(job.results().partitions()) > 6
        fields = job.results().partitions()[0].key_fields
    assert fields == (("row", "int64"),)  # some keys are {"row": i}: a key_row column
    assert list(frame.dtypes) == list(meta(fields).dtypes)
    computed = client.compute(frame).result()
    table = pa.Table.from_pandas(computed, preserve_index=False)
    assert table.schema.equals(single.schema)  # same columns, same Arrow types
    assert table.num_rows == single.num_rows == 300
    assert len(set(table.column("record_id").to_pylist())) == 300
    assert table.sort_by("record_id").equals(single.sort_by("record_id"))
    assert set(computed["attempt"].to_list()) == {0, 1}
    clients_made = client.run(lambda: len(__import__("bedrock_batch._reader._partitions")._reader._partitions._CLIENTS))  # fmt: skip
    assert sum(clients_made.values()) >= 1  # the workers read S3 themselves


def test_read_results_from_a_handle_with_column_projection(cluster: tuple[Any, str]) -> None:
    client, handle = cluster
    import boto3

    frame = read_results(handle, session=boto3.Session())
    counts = client.compute(frame[["record_id", "status"]].groupby("status").count()).result()
    with BatchJob.attach(handle, session=boto3.Session()) as job:
        summary = job.summary()
    got = {str(k): int(v) for k, v in counts["record_id"].items()}
    assert got == {s: n for s, n in [("succeeded", summary.succeeded), ("errored", summary.errored)] if n}  # fmt: skip

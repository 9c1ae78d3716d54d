"""Inputs written by a cluster: ``submit_dataframe`` / ``submit_partitions`` on a 2-worker
``distributed.LocalCluster`` of processes against a Local Bedrock server, checked against the
single-process path (``add_dataframe`` + ``submit``): the same ids, bodies, keys and answers,
jobs within the same quotas, every record back exactly once, and no shard read by the driver."""

from __future__ import annotations

import itertools
import json
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import (
    BatchJob,
    BudgetError,
    PollConfig,
    QuotaError,
    Quotas,
    StateError,
    ValidationError,
)
from bedrock_batch.local import Faults

from ..conftest import BUCKET, HAIKU, ROLE, endpoint_env, serving

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from bedrock_batch._uploader._cluster import (  # noqa: E402
    SHARDS_DIR,
    ShardRef,
    group_shards,
    load_manifest,
)
from bedrock_batch.dask import submit_dataframe, submit_partitions  # noqa: E402

#: The emulator's quotas (the jobs' own ``quotas=`` are stricter: SMALL, or the 200k test's).
ROOMY = Quotas(min_records_per_job=100, max_records_per_job=50_000, max_records_per_file=10_000)
SMALL = Quotas(
    min_records_per_job=100, max_records_per_job=1500, max_records_per_file=400,
    max_concurrent_jobs=20,
)  # fmt: skip


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[Any, Any]]:
    """A Local Bedrock server (manual clock, small quotas) and a ``distributed`` client on 2
    worker processes that reach it through the endpoint environment."""
    with (
        serving(BUCKET, clock="manual", quotas={HAIKU: ROOMY}) as server,
        pytest.MonkeyPatch.context() as mp,
    ):
        for name, value in endpoint_env(server.endpoint_url).items():
            if name.startswith("AWS_"):
                mp.setenv(name, value)
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            ) as lc,
            distributed.Client(lc) as client,
        ):  # fmt: skip
            yield server, client


class Gets:
    """The GetObject calls a client makes, by key."""

    def __init__(self, client: Any) -> None:
        self.keys: list[str] = []
        client.meta.events.register("before-parameter-build.s3.GetObject", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        self.keys.append(params["Key"])

    def shards(self, prefix: str) -> list[str]:
        """Shard objects read (index parts and manifests are not shards)."""
        root = f"{prefix}{SHARDS_DIR}/"
        return [k for k in self.keys if k.startswith(root) and k.count("/") == root.count("/")]


def new_job(server: Any, prefix: str, **kwargs: Any) -> tuple[BatchJob, Any]:
    """A job on ``server`` (its own clients: the S3 one is returned, to count its reads)."""
    import boto3

    session = boto3.Session()
    url = server.endpoint_url
    s3 = session.client("s3", endpoint_url=url)
    job = BatchJob(
        HAIKU, ROLE, f"s3://{BUCKET}/{prefix}", f"s3://{BUCKET}/out/", session=session,
        s3_client=s3, bedrock_client=session.client("bedrock", endpoint_url=url),
        runtime_client=session.client("bedrock-runtime", endpoint_url=url),
        sleep=server.local.advance, poll=PollConfig(initial=30, max_interval=600, jitter=0),
        **kwargs,
    )  # fmt: skip
    return job, s3


def frame(n: int, *, empty: tuple[int, ...] = ()) -> Any:
    rows = {
        "q": [None if i in empty else f"question {i} " + "x" * (i % 37) for i in range(n)],
        "n": list(range(n)),
    }
    return pd.DataFrame(rows)


def key(row: Any) -> Any:
    """Keys of several kinds (a function of the row: a Dask frame's object columns become
    strings)."""
    n = int(row["n"])
    return {"row": n} if n % 3 else f"k{n}"


def inputs(s3: Any, job: BatchJob) -> dict[str, Any]:
    """Every input line of the batch's first attempt, by record id."""
    out: dict[str, Any] = {}
    assert job.ledger is not None
    for entry in job.ledger.attempts[0].jobs:
        bucket, key = entry.input_uri[5:].split("/", 1)
        for f in entry.files:
            body = s3.get_object(Bucket=bucket, Key=key + f.name)["Body"].read()
            lines = [json.loads(x) for x in body.splitlines()]
            assert len(lines) == f.records
            for line in lines:
                assert line["recordId"] not in out
                out[line["recordId"]] = line["modelInput"]
    return out


def answers(job: BatchJob) -> dict[str, tuple[Any, ...]]:
    return {r.record_id: (r.key, r.status, r.model_output) for r in job.results()}


def assert_within_quotas(job: BatchJob, total: int) -> None:
    assert job.ledger is not None
    jobs = job.ledger.attempts[0].jobs
    seen = 0
    for entry in jobs:
        assert SMALL.min_records_per_job <= entry.records <= SMALL.max_records_per_job
        assert all(f.records <= SMALL.max_records_per_file for f in entry.files)
        assert entry.start == seen  # contiguous, each record in exactly one job
        seen = entry.end
    assert seen == total


#: Rows of the comparison with the single-process path: 7 partitions of ~457 over 3 jobs of at
#: most 1,500 (SMALL), so partitions straddle jobs and files.
ROWS = 3200


def test_same_records_and_results_as_the_single_process_path(env: tuple[Any, Any]) -> None:
    server, _ = env
    pdf = frame(ROWS)
    run = uuid.uuid4().hex[:8]
    single, s3_single = new_job(server, f"single-{run}/", quotas=SMALL)
    with single:
        single.add_dataframe(pdf, prompt="q", key=key, max_tokens=50, system="be brief")
        single.submit()
        single.wait()
        one = answers(single)
        one_inputs = inputs(s3_single, single)
    job, s3 = new_job(server, f"cluster-{run}/", quotas=SMALL)
    gets = Gets(s3)
    with job:
        ddf = dd.from_pandas(pdf, npartitions=7)
        submit_dataframe(ddf, job, prompt="q", key=key, max_tokens=50, system="be brief")
        assert gets.shards(f"cluster-{run}/") == []
        job.wait()
        assert job.summary().succeeded == ROWS
        got = answers(job)
        assert got == one  # same ids, keys, statuses and answers
        assert inputs(s3, job) == one_inputs  # same bodies under the same ids
        assert_within_quotas(job, ROWS)
        assert len(job.job_arns) >= 3  # 3200 records, at most 1500 a job
        handle = job.state_uri
        assert handle is not None
    with BatchJob.attach(
        handle, s3_client=s3, bedrock_client=server.local.session().client("bedrock")
    ) as again:
        assert answers(again) == one
    # every shard the driver copied stays unread by it (results read outputs, not shards)
    assert gets.shards(f"cluster-{run}/") == []
    # the manifests in S3 are what the workers reported: records, bytes, first and last id
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"cluster-{run}/shards/manifests/")[
            "Contents"
        ]
    ]
    stored = sorted(
        (load_manifest(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys),
        key=lambda m: m.partition,
    )
    assert [m.partition for m in stored] == list(range(7))
    assert sum(m.records for m in stored) == ROWS
    assert stored[0].first_id == "R0000000000"
    assert stored[-1].last_id == f"R{ROWS - 1:010d}"
    for a, b in itertools.pairwise(stored):
        assert int(b.first_id[1:]) == int(a.last_id[1:]) + 1 == b.offset
        assert sum(s.records for s in a.shards) == a.records


def test_a_refused_row_fails_the_call_before_any_job(env: tuple[Any, Any]) -> None:
    server, _ = env
    prefix = f"refused-{uuid.uuid4().hex[:8]}/"
    job, s3 = new_job(server, prefix, quotas=SMALL)
    before = len(server.local.session().client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"])  # fmt: skip
    with job, pytest.raises(ValidationError) as err:
        submit_dataframe(dd.from_pandas(frame(600, empty=(5, 444)), npartitions=3), job, prompt="q")
    assert sorted(p.line for p in err.value.problems) == [6, 445]  # rows across partitions
    assert "no job was created" in str(err.value)
    after = server.local.session().client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"]  # fmt: skip
    assert len(after) == before
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    assert not [o for o in listed if not o["Key"].startswith(f"{prefix}{SHARDS_DIR}/")]  # no ledger


def test_skip_gives_the_single_process_ids_and_reports_the_rows(env: tuple[Any, Any]) -> None:
    server, _ = env
    pdf = frame(900, empty=(0, 301, 302, 899))
    run = uuid.uuid4().hex[:8]
    single, s3_single = new_job(server, f"s1-{run}/", quotas=SMALL)
    with single:
        single.add_dataframe(pdf, prompt="q", key=key, on_invalid="skip")
        single.submit()
        single.wait()
        one, one_rejected = answers(single), single.rejected
        one_inputs = inputs(s3_single, single)
    job, s3 = new_job(server, f"s2-{run}/", quotas=SMALL)
    with job:
        submit_dataframe(dd.from_pandas(pdf, npartitions=4), job, prompt="q", key=key, on_invalid="skip")  # fmt: skip
        job.wait()
        assert [p.line for p in job.rejected] == [p.line for p in one_rejected] == [1, 302, 303, 900]  # fmt: skip
        assert [p.key for p in job.rejected] == [p.key for p in one_rejected]
        assert inputs(s3, job) == one_inputs
        got = answers(job)
        assert {k: v for k, v in got.items() if v[1] != "rejected"} == {
            k: v for k, v in one.items() if v[1] != "rejected"
        }
        assert job.summary().rejected == 4


def test_partitions_from_functions_resume_the_same_batch(env: tuple[Any, Any]) -> None:
    server, _ = env
    prefix = f"parts-{uuid.uuid4().hex[:8]}/"
    pdf = frame(360)
    loaders = [lambda a=a: pdf.iloc[a : a + 120] for a in range(0, 360, 120)]
    job, _ = new_job(server, prefix, quotas=SMALL)
    with job:
        submit_partitions(loaders, job, prompt="q", max_tokens=20)
        arns, handle = job.job_arns, job.state_uri
    again, _ = new_job(server, prefix, quotas=SMALL)
    with again:
        submit_partitions(loaders, again, prompt="q", max_tokens=20)  # same shards: same batch
        assert again.state_uri == handle
        assert again.job_arns == arns
        again.wait()
        ids = sorted(r.record_id for r in again.results())
        assert ids == [f"R{i:010d}" for i in range(360)]


def test_retry_reads_the_copied_inputs(env: tuple[Any, Any]) -> None:
    """Another server, whose records fail at random: the same workers upload to it."""
    faults = Faults(record_error_rate=0.2)
    with serving(BUCKET, clock="manual", quotas={HAIKU: SMALL}, faults=faults, seed=3) as server:
        job, _ = new_job(server, "retry/", quotas=SMALL)
        with job:
            submit_dataframe(dd.from_pandas(frame(700), npartitions=3), job, prompt="q")
            job.wait()
            errored = job.summary().errored
            assert errored > 0
            assert job.retry(include_non_retryable=True) == errored
            job.wait()
            results = list(job.results())
            assert sorted(r.record_id for r in results) == [f"R{i:010d}" for i in range(700)]
            assert sum(r.attempt > 0 for r in results) == errored


def test_a_small_batch_runs_on_demand(env: tuple[Any, Any]) -> None:
    server, _ = env
    job, _ = new_job(server, f"od-{uuid.uuid4().hex[:8]}/", quotas=SMALL)
    with job:
        submit_partitions([frame(30).iloc[:15], frame(30).iloc[15:]], job, prompt="q")
        job.wait()
        assert [r.status for r in job.results()] == ["succeeded"] * 30


def test_what_submit_dataframe_refuses(env: tuple[Any, Any]) -> None:
    server, _ = env
    ddf = dd.from_pandas(frame(10), npartitions=2)
    job, _ = new_job(server, "refuse/", quotas=SMALL)
    with job:
        with pytest.raises(ValidationError, match="exactly one"):
            submit_dataframe(ddf, job, prompt="q", text="q")
        with pytest.raises(ValidationError, match="record_id"):
            submit_dataframe(ddf, job, prompt="q", record_id="k")
        job.add_prompt("hello")
        with pytest.raises(StateError, match="new BatchJob"):
            submit_dataframe(ddf, job, prompt="q")
    tiny, _ = new_job(server, "refuse/", quotas=SMALL, max_bytes_per_file=100)
    with tiny, pytest.raises(QuotaError) as err:
        submit_dataframe(ddf, tiny, prompt="q")
    assert err.value.quota == "max_file_bytes"


@pytest.mark.bigmem
def test_200k_rows_on_the_cluster_driver_memory(env: tuple[Any, Any]) -> None:
    """200,000 rows made on the workers: every record back once, jobs within the quotas, no
    shard read by the driver. Its resident memory is printed (``-s``), but the emulator's S3
    lives in this process too; ``benchmarks/bench_dask_inputs.py`` measures the driver alone."""
    psutil = pytest.importorskip("psutil")
    server, _ = env
    n, per = 200_000, 20_000
    quotas = ROOMY
    proc = psutil.Process(os.getpid())
    peak = [proc.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak.append(proc.memory_info().rss)

    def part(a: int) -> Any:
        return pd.DataFrame({"q": [f"question {i}" for i in range(a, a + per)], "k": list(range(a, a + per))})  # fmt: skip

    ddf = dd.from_map(part, list(range(0, n, per)))
    job, s3 = new_job(server, f"big-{uuid.uuid4().hex[:8]}/", quotas=quotas)
    gets = Gets(s3)
    watcher = threading.Thread(target=sample, daemon=True)
    before = proc.memory_info().rss
    watcher.start()
    try:
        with job:
            submit_dataframe(ddf, job, prompt="q", key="k", max_tokens=20)
            submit_peak = max(peak)
            job.wait()
            assert gets.shards(job.input_uri.split("/", 3)[3]) == []
            assert job.ledger is not None
            entries = job.ledger.attempts[0].jobs
            assert len(entries) == 4
            assert all(e.records <= 50_000 and all(f.records <= 10_000 for f in e.files) for e in entries)  # fmt: skip
            seen = bytearray(n)  # every record exactly once, its key the row's
            for r in job.results():
                i = int(r.record_id[1:])
                assert not seen[i]
                seen[i] = 1
                assert r.key == i
                assert r.status == "succeeded"
            assert seen.count(1) == n
    finally:
        done.set()
        watcher.join()
    mb = 1 << 20
    print(f"\ndriver RSS: {before / mb:.0f} MB before, peak {submit_peak / mb:.0f} MB during submit, {max(peak) / mb:.0f} MB through results")  # fmt: skip


# -- job planning from shards (pure) -----------------------------------------------------------


@given(
    st.lists(st.tuples(st.integers(1, 50), st.integers(1, 500)), min_size=1, max_size=60),
    st.integers(50, 400),
    st.integers(500, 5000),
)
def test_group_shards_keeps_every_shard_once_within_the_quotas(
    sizes: list[tuple[int, int]], max_records: int, max_bytes: int
) -> None:
    refs = [ShardRef(f"{i:064x}", r, b) for i, (r, b) in enumerate(sizes)]
    groups = group_shards(refs, max_records_per_job=max_records, max_job_bytes=max_bytes)
    assert [a for a, _ in groups] == [0, *[b for _, b in groups[:-1]]]  # contiguous
    assert groups[-1][1] == len(refs)
    assert all(a < b for a, b in groups)
    for a, b in groups:
        records = sum(s.records for s in refs[a:b])
        size = sum(s.bytes for s in refs[a:b])
        assert (records <= max_records and size <= max_bytes) or b - a == 1
    lower = max(
        -(-sum(s.records for s in refs) // max_records), -(-sum(s.bytes for s in refs) // max_bytes)
    )
    assert len(groups) >= lower


# -- the cost cap ---------------------------------------------------------------------------------


def test_a_cap_below_the_bound_refuses_before_any_upload_with_the_single_process_bound(env: tuple[Any, Any]) -> None:  # fmt: skip
    server, _ = env
    pdf = frame(600)
    run = uuid.uuid4().hex[:8]
    single, _ = new_job(server, f"cap1-{run}/", quotas=SMALL, max_cost_usd=0.001)
    with single:
        single.add_dataframe(pdf, prompt="q", key=key, max_tokens=50)
        with pytest.raises(BudgetError) as one:
            single.submit()
    job, s3 = new_job(server, f"cap2-{run}/", quotas=SMALL, max_cost_usd=0.001)
    with job, pytest.raises(BudgetError) as err:
        submit_dataframe(dd.from_pandas(pdf, npartitions=3), job, prompt="q", key=key, max_tokens=50)  # fmt: skip
    assert err.value.bound == one.value.bound > 0.001  # the same rule, summed over partitions
    assert "prices of" in str(err.value) and "600 records" in str(err.value)
    assert (
        s3.list_objects_v2(Bucket=BUCKET, Prefix=f"cap2-{run}/").get("KeyCount") == 0
    )  # nothing uploaded
    assert job.ledger is None


def test_a_cap_above_the_bound_lets_the_batch_run(env: tuple[Any, Any]) -> None:
    server, _ = env
    job, _ = new_job(server, f"cap3-{uuid.uuid4().hex[:8]}/", quotas=SMALL, max_cost_usd=5.0)
    with job:
        submit_dataframe(dd.from_pandas(frame(500), npartitions=2), job, prompt="q", max_tokens=50)
        job.wait()
        assert sorted(r.record_id for r in job.results()) == [f"R{i:010d}" for i in range(500)]
        assert job.summary().cost_usd <= 5.0


def image_body(row: Any) -> dict[str, Any]:
    """A Claude body with an image: no token rule from its bytes."""
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA"}}  # fmt: skip
    content = [image, {"type": "text", "text": str(row["q"])}]
    return {"messages": [{"role": "user", "content": content}], "max_tokens": 10, "anthropic_version": "bedrock-2023-05-31"}  # fmt: skip


def test_a_capped_call_reports_refused_rows_and_unbounded_records(env: tuple[Any, Any]) -> None:
    server, _ = env
    job, _ = new_job(server, f"cap4-{uuid.uuid4().hex[:8]}/", quotas=SMALL, max_cost_usd=5.0)
    with job, pytest.raises(ValidationError) as err:  # a refused row: the same error as uncapped
        submit_dataframe(dd.from_pandas(frame(300, empty=(7,)), npartitions=2), job, prompt="q")
    assert [p.line for p in err.value.problems] == [8]
    job, _ = new_job(server, f"cap5-{uuid.uuid4().hex[:8]}/", quotas=SMALL, max_cost_usd=5.0)
    with job, pytest.raises(BudgetError, match="image"):
        submit_dataframe(dd.from_pandas(frame(200), npartitions=2), job, model_input=image_body)

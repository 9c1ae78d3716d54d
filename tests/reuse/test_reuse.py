"""``reuse="s3://..."``: a batch never pays twice for a question answered before, and the cache
cannot serve an answer no job produced (issue 21).

What was sent is counted in the emulator: the input lines of every job Bedrock was asked to
create, and every bedrock-runtime call."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from pydantic import BaseModel, field_validator

from bedrock_batch import BatchJob, PollConfig, Quotas
from bedrock_batch._reuse._keys import content_key
from bedrock_batch.local import Faults, LocalBedrock

from ..conftest import BUCKET, HAIKU, ROLE, track

QUOTAS = Quotas(min_records_per_job=10, max_records_per_job=1000, max_concurrent_jobs=4)
CACHE = f"s3://{BUCKET}/cache/"
pytestmark = pytest.mark.emulator(quotas={HAIKU: QUOTAS})


class Sent:
    """What the emulator was sent: job input lines and runtime calls, through this session."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.invokes = 0
        session.events.register("before-call.bedrock-runtime", self._count)

    def _count(self, **_: Any) -> None:
        self.invokes += 1

    def jobs(self) -> list[dict[str, Any]]:
        return list(self.session.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"])  # fmt: skip

    def job_lines(self) -> int:
        s3, n = self.session.client("s3"), 0
        for job in self.jobs():
            uri = job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
            bucket, _, prefix = uri[len("s3://") :].partition("/")
            for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
                if obj["Key"].endswith(".jsonl"):
                    body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    n += sum(1 for line in body.split(b"\n") if line.strip())
        return n


def handle(local: LocalBedrock, session: Any, *, inputs: str = "in", quotas: Quotas = QUOTAS, **kwargs: Any) -> BatchJob:  # fmt: skip
    """An empty BatchJob reading ``s3://BUCKET/{inputs}/``, waiting on ``local``'s clock."""
    return track(
        BatchJob(
            HAIKU, ROLE, f"s3://{BUCKET}/{inputs}/", f"s3://{BUCKET}/out/", session=session,
            sleep=local.advance, poll=PollConfig(initial=30, max_interval=600, jitter=0),
            quotas=quotas, **kwargs,
        )
    )  # fmt: skip


def batch(local: LocalBedrock, session: Any, questions: list[int], *, inputs: str = "in", **kwargs: Any) -> BatchJob:  # fmt: skip
    """A batch of the prompts ``questions``; ``inputs``: another prefix makes the same records
    another batch (under one prefix they are the same batch, resumed)."""
    kwargs.setdefault("reuse", CACHE)
    job = handle(local, session, inputs=inputs, **kwargs)
    for n, q in enumerate(questions):
        job.add_prompt(f"question {q}: what is {q} squared?", max_tokens=30, key={"q": q, "n": n})
    return job


def cache_entries(session: Any) -> list[tuple[str, dict[str, Any]]]:
    s3 = session.client("s3")
    out = []
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="cache/").get("Contents", []):
        body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
        out += [(obj["Key"], json.loads(line)) for line in body.split(b"\n") if line.strip()]
    return out


def rewrite_cache(session: Any, change: Any) -> None:
    """Replace every cache object by one whose entries went through ``change``."""
    s3 = session.client("s3")
    by_key: dict[str, list[dict[str, Any]]] = {}
    for key, entry in cache_entries(session):
        by_key.setdefault(key, []).append(change(entry))
    for key, entries in by_key.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body="".join(json.dumps(e) + "\n" for e in entries).encode())  # fmt: skip


def first_batch(local: LocalBedrock, session: Any, n: int = 100) -> BatchJob:
    job = batch(local, session, list(range(n)))
    job.submit()
    job.wait()
    assert job.summary().succeeded == n
    return job


def test_a_second_batch_with_90_percent_of_the_questions_sends_only_the_new_10(local: LocalBedrock, session: Any) -> None:  # fmt: skip
    first = first_batch(local, session)
    assert len(cache_entries(session)) == 100  # every succeeded answer published, once
    sent = Sent(session)
    before = sent.job_lines()
    second = batch(local, session, list(range(10, 110)))  # 90 old questions, 10 new
    assert (second.plan().records, second.plan().reused) == (10, 90)
    second.submit()
    second.wait()
    assert sent.job_lines() - before == 10 and sent.invokes == 0
    results = list(second.results())
    assert sorted(r.key["q"] for r in results) == list(range(10, 110))  # every record, once
    assert all(r.status == "succeeded" for r in results)
    reused = [r for r in results if r.reused_from is not None]
    assert sorted(r.key["q"] for r in reused) == list(range(10, 100))
    assert {r.reused_from["job_arn"] for r in reused} == {first.job_arn}
    assert {r.reused_from["batch"] for r in reused} == {first.state_uri}
    answer_of = {r.key["q"]: r.text for r in first.results()}
    assert all(r.text == answer_of[r.key["q"]] for r in reused)
    summary = second.summary()
    assert (summary.total, summary.succeeded, summary.reused) == (100, 100, 90)
    assert summary.consistent, summary
    fresh = sum(r.usage.output_tokens for r in results if r.reused_from is None)
    assert summary.usage.output_tokens == fresh  # reused answers cost nothing


def test_a_batch_of_the_same_bodies_in_another_order_and_keys_sends_nothing(local: LocalBedrock, session: Any) -> None:  # fmt: skip
    first_batch(local, session, 40)
    sent = Sent(session)
    jobs_before = sent.jobs()
    order = list(range(40))
    random.Random(7).shuffle(order)
    again = batch(local, session, order, dedupe=True)
    again.submit()
    again.wait()
    assert sent.jobs() == jobs_before and sent.invokes == 0  # nothing sent: no job, no call
    results = list(again.results())
    assert sorted(r.key["n"] for r in results) == list(range(40))
    assert all(r.status == "succeeded" and r.reused_from for r in results)
    summary = again.summary()
    assert (summary.reused, summary.deduplicated, summary.cost_usd) == (40, 0, 0)


FORGERIES = ["no such job", "etag mismatch", "not the job's output", "another record's line", "a made-up file in the job's folder", "another region", "another account"]  # fmt: skip


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_cache_entry_is_never_served(local: LocalBedrock, session: Any, forgery: str, caplog: Any) -> None:  # fmt: skip
    first = first_batch(local, session, 20)
    s3 = session.client("s3")
    out_file = cache_entries(session)[0][1]["out"]
    bucket, _, key = out_file[len("s3://") :].partition("/")
    if forgery == "not the job's output":  # a copy of a real output, by whoever can write S3
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        etag = s3.put_object(Bucket=bucket, Key="forged/out.jsonl.out", Body=body)["ETag"]
    if forgery == "a made-up file in the job's folder":  # the right answers, in no input's output
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        fake = key.rsplit("/", 1)[0] + "/fake.jsonl.out"
        etag = s3.put_object(Bucket=bucket, Key=fake, Body=body)["ETag"]
    if forgery == "another record's line":
        lines = [json.loads(x) for x in s3.get_object(Bucket=bucket, Key=key)["Body"].read().split(b"\n") if x.strip()]  # fmt: skip
        ids = [x["recordId"] for x in lines]

    def forge(entry: dict[str, Any]) -> dict[str, Any]:
        if forgery == "no such job":
            return {**entry, "job": first.job_arn.rsplit("/", 1)[0] + "/nosuchjob000"}
        if forgery == "etag mismatch":
            return {**entry, "etag": '"0123456789abcdef0123456789abcdef"'}
        if forgery == "not the job's output":
            return {**entry, "out": f"s3://{bucket}/forged/out.jsonl.out", "etag": etag}
        if forgery == "a made-up file in the job's folder":
            return {**entry, "out": f"s3://{bucket}/{fake}", "etag": etag}
        if forgery in ("another region", "another account"):
            arn = entry["job"].split(":")
            arn[3 if forgery == "another region" else 4] = "eu-west-3" if forgery == "another region" else "210987654321"  # fmt: skip
            return {**entry, "job": ":".join(arn)}
        return {**entry, "rid": ids[(ids.index(entry["rid"]) + 1) % len(ids)]}

    rewrite_cache(session, forge)
    sent = Sent(session)
    before = sent.job_lines()
    again = batch(local, session, list(range(20)), inputs="in2")
    with caplog.at_level("DEBUG", logger="bedrock_batch"):
        again.submit()
    again.wait()
    assert sent.job_lines() - before == 20  # every record sent normally
    assert not any(r.reused_from for r in again.results())
    assert again.reusing is not None and len(again.reusing.refused) == 20
    assert again.summary().reused == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "cache" in r.getMessage()]  # fmt: skip
    assert len(warned) == 1 and warned[0].startswith("20 answer cache entries not served"), warned
    assert (
        sum("not served" in r.getMessage() for r in caplog.records if r.levelname == "DEBUG") == 20
    )
    if forgery in ("another region", "another account"):  # not even described
        assert again.reusing.refused.by_reason == {"the job is not of this account and region": 20}


@pytest.mark.emulator(quotas={HAIKU: QUOTAS}, faults=Faults(record_error_ids={"R0000000003"}))
def test_an_errored_answer_is_neither_published_nor_reused(
    local: LocalBedrock, session: Any
) -> None:
    first = batch(local, session, list(range(20)))
    first.submit()
    first.wait()
    errored = [r for r in first.results() if r.status == "errored"]
    assert [r.record_id for r in errored] == ["R0000000003"]
    entries = cache_entries(session)
    assert len(entries) == 19
    bad_key = content_key(HAIKU, "InvokeModel", errored[0].model_input).hex()
    assert bad_key not in {e["k"] for _, e in entries}
    sent = Sent(session)
    again = batch(local, session, list(range(20)), inputs="in2")
    again.submit()
    again.wait()
    assert sent.invokes == 1  # only the errored question, on demand (below the minimum)
    results = {r.key["q"]: r for r in again.results()}
    assert results[errored[0].key["q"]].reused_from is None
    assert sum(1 for r in results.values() if r.reused_from) == 19


def test_attach_gives_the_same_results_without_the_cache(local: LocalBedrock, session: Any) -> None:
    first_batch(local, session, 30)
    again = batch(local, session, list(range(20, 40)))
    again.submit()
    again.wait()
    mine = sorted((r.to_dict() for r in again.results()), key=lambda d: d["recordId"])
    s3 = session.client("s3")
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="cache/")["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    assert again.state_uri is not None
    with BatchJob.attach(again.state_uri, session=session) as attached:
        theirs = sorted((r.to_dict() for r in attached.results()), key=lambda d: d["recordId"])
        summary = attached.summary()
        in_order = list(attached.results().to_pandas()["key"])
    assert [k["q"] for k in in_order] == list(range(20, 40))  # as added, reused ones too
    assert theirs == mine and len(mine) == 20
    assert sum(1 for d in mine if "reusedFrom" in d) == 10
    assert (summary.reused, summary.total, summary.succeeded) == (10, 20, 20)


class Answer(BaseModel):
    value: int


def strict_answer() -> type[BaseModel]:
    class Answer(BaseModel):  # the same JSON schema; a rule the old answers break
        value: int

        @field_validator("value")
        @classmethod
        def negative(cls, v: int) -> int:
            if v >= 0:
                raise ValueError("must be negative now")
            return v

    return Answer


def structured(local: LocalBedrock, session: Any, model: type[BaseModel], inputs: str = "in") -> BatchJob:  # fmt: skip
    job = batch(local, session, [], inputs=inputs)
    for q in range(12):
        job.add_prompt(f"question {q}", output_schema=model, max_tokens=200, key={"q": q})
    return job


def test_a_reused_structured_answer_the_current_schema_rejects_is_sent_again(local: LocalBedrock, session: Any) -> None:  # fmt: skip
    first = structured(local, session, Answer)
    first.submit()
    first.wait()
    assert first.summary().succeeded == 12
    assert all(r.parsed.value >= 0 for r in first.results())
    same = structured(local, session, Answer, inputs="in3")
    assert same.plan().reused == 12  # the schema still accepts them: reused
    sent = Sent(session)
    before = sent.job_lines()
    stricter = structured(local, session, strict_answer(), inputs="in2")
    assert stricter.plan().reused == 0
    stricter.submit()
    stricter.wait(raise_on_failure=False)
    assert sent.job_lines() - before == 12  # every record sent again
    assert stricter.reusing is not None and len(stricter.reusing.refused) == 12
    assert not any(r.reused_from for r in stricter.results())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_asyncio_wait_publishes_too(local: LocalBedrock, session: Any) -> None:
    from bedrock_batch.aio import AsyncBatchJob

    async def sleep(seconds: float) -> None:
        local.advance(seconds)

    job = AsyncBatchJob.wrap(batch(local, session, list(range(12))), sleep=sleep)
    await job.submit()
    await job.wait()
    assert len(cache_entries(session)) == 12
    again = batch(local, session, list(range(12)), inputs="in2")
    assert (again.plan().records, again.plan().reused) == (0, 12)


def test_a_cache_that_cannot_be_written_does_not_fail_the_batch(local: LocalBedrock, session: Any, caplog: Any) -> None:  # fmt: skip
    s3 = session.client("s3")
    s3.create_bucket(Bucket="gone")
    job = batch(local, session, list(range(12)), reuse="s3://gone/cache/")
    job.submit()
    s3.delete_bucket(Bucket="gone")  # empty until the batch publishes
    with caplog.at_level("WARNING", logger="bedrock_batch"):
        assert job.wait().status == "Completed"
    assert "were not published" in caplog.text
    assert job.summary().succeeded == 12


def test_a_script_run_again_after_a_crash_resumes_its_batch_although_the_cache_changed(local: LocalBedrock, session: Any) -> None:  # fmt: skip
    first_batch(local, session, 30)
    crashed = batch(local, session, list(range(20, 60)), inputs="inB", dedupe=True)
    assert (crashed.plan().records, crashed.plan().reused) == (30, 10)
    crashed.submit()  # its job is created (and paid); the process dies before wait()
    sent = Sent(session)
    jobs = sent.jobs()
    other = batch(local, session, list(range(40, 60)), inputs="inC")  # answers some of what it sent
    other.submit()
    other.wait()
    assert len(cache_entries(session)) == 50
    again = batch(local, session, list(range(20, 60)), inputs="inB", dedupe=True)  # the same script
    plan = again.plan()
    assert (plan.records, plan.reused, plan.state_uri) == (30, 10, crashed.state_uri)
    again.submit()
    assert len(sent.jobs()) == len(jobs) + 1  # only the other batch's: no second paid job
    assert again.job_arns == crashed.job_arns
    again.wait()
    results = list(again.results())
    assert sorted(r.key["q"] for r in results) == list(range(20, 60))
    assert all(r.status == "succeeded" for r in results)
    assert again.summary().reused == 10

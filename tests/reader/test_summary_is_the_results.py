"""Issue 18's problem 8: the summary is the results. It counts every status (``invalid_output``
and ``rejected`` included), reconciles each job's manifest with the records sent to it (an invalid
answer is a success for Bedrock), counts the tokens and cost of every answer paid for (superseded
attempts' answers included), and a long-lived handle's ``results()`` reads the ledger again as its
``summary()`` does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from bedrock_batch import BatchJob, Price
from bedrock_batch.local import LocalBedrock, RecordContext

from ..conftest import BUCKET, HAIKU, job_on

PRICE = Price(1000.0, 4000.0, batch_factor=0.5)
TOKENS_IN, TOKENS_OUT = 20, 15


class Answer(BaseModel):
    word: str
    n: int


def responder(broken: set[int]) -> Any:
    """A model that calls the forced tool; the answers of ``broken`` prompts break the schema."""

    def respond(ctx: RecordContext) -> dict[str, Any]:
        i = int(ctx.model_input["messages"][0]["content"][0]["text"].split()[-1])
        name = ctx.model_input["tool_choice"]["name"]
        answer = {"word": f"w{i}", "n": "not a number" if i in broken else i}
        return {
            "id": f"msg_{i}", "type": "message", "role": "assistant", "model": ctx.model_id,
            "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": answer}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": TOKENS_IN, "output_tokens": TOKENS_OUT},
        }  # fmt: skip

    return respond


def manifests(local: LocalBedrock) -> list[dict[str, Any]]:
    s3 = local.session().client("s3")
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"]
    return [
        json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
        for o in found
        if o["Key"].endswith("manifest.json.out")
    ]


def test_invalid_answers_and_rejects_are_counted_reconciled_and_paid_for() -> None:
    broken = set(range(0, 120, 10))  # 12 invalid answers
    with LocalBedrock(clock="manual", responder=responder(broken)) as local:
        job = job_on(local, prices={HAIKU: PRICE})
        for i in range(120):
            job.add_prompt(f"Answer {i}", max_tokens=100, output_schema=Answer, key=i)
        job.add_records([{"recordId": "no-body", "key": "x"}], on_invalid="skip")
        job.run()
        [manifest] = manifests(local)
        assert manifest["successRecordCount"] == 120  # Bedrock paid and counted every answer

        summary = job.summary()
        counts = job.results().counts
        assert counts == {"succeeded": 108, "errored": 0, "missing": 0, "invalid_output": 12, "rejected": 1}  # fmt: skip
        assert (summary.succeeded, summary.invalid_output, summary.errored) == (108, 12, 0)
        assert (summary.missing, summary.rejected, summary.total) == (0, 1, 121)
        assert sum(counts.values()) == summary.total
        assert summary.consistent, summary.discrepancies  # reconciled with the manifest
        assert re.search(r"^invalid output +12$", str(summary), re.M)
        assert re.search(r"^reconciled +yes$", str(summary), re.M)
        assert summary.usage.input_tokens == 120 * TOKENS_IN == manifest["inputTokenCount"]
        assert summary.usage.output_tokens == 120 * TOKENS_OUT == manifest["outputTokenCount"]
        assert summary.cost_usd == pytest.approx(PRICE.cost(summary.usage, batch=True))

        # another process retries the invalid answers (on demand: 12 records); the first
        # handle, still open, sees it in its results as in its summary
        broken.clear()
        other = BatchJob.attach(
            job.state_uri or "", session=local.session(), sleep=local.advance, poll=job.poll
        )
        assert other.retry(statuses=["invalid_output"]) == 12
        other.wait()
        assert job.results().counts == {"succeeded": 120, "errored": 0, "missing": 0, "rejected": 1}  # fmt: skip
        after = job.summary()
        assert (after.succeeded, after.invalid_output, after.rejected) == (120, 0, 1)
        assert after.consistent, after.discrepancies
        # every answer paid for: the 12 superseded invalid answers and their 12 retries
        assert after.usage.input_tokens == 132 * TOKENS_IN
        assert after.usage.output_tokens == 132 * TOKENS_OUT
        batch = PRICE.cost(summary.usage, batch=True)
        on_demand = PRICE.cost(after.usage, batch=False) - PRICE.cost(summary.usage, batch=False)
        assert after.cost_usd == pytest.approx(batch + on_demand)


def test_on_demand_answers_the_join_discarded_are_paid_for() -> None:
    """Two copies of an on-demand answer (a slice answered twice, e.g. by a process that took
    over a claim): the join keeps one, the summary's tokens and cost count both."""
    with LocalBedrock(clock="manual", responder=responder(set())) as local:
        job = job_on(local, mode="on_demand", prices={HAIKU: PRICE})
        for i in range(10):
            job.add_prompt(f"Answer {i}", max_tokens=100, output_schema=Answer, key=i)
        job.run()
        s3 = local.session().client("s3")
        ledger = job.ledger
        assert ledger is not None and ledger.attempts[0].on_demand is not None
        prefix = ledger.attempts[0].on_demand.answers_prefix()
        listed = s3.list_objects_v2(Bucket=prefix.bucket, Prefix=prefix.key)["Contents"]
        chunk = next(o for o in listed if o["Key"].endswith(".jsonl.out"))
        s3.copy_object(
            Bucket=prefix.bucket,
            Key=chunk["Key"].replace(".jsonl.out", "-again.jsonl.out"),
            CopySource={"Bucket": prefix.bucket, "Key": chunk["Key"]},
        )
        results = job.results()
        assert results.counts["succeeded"] == 10 and results.usage.input_tokens == 10 * TOKENS_IN
        summary = job.summary()
        assert summary.succeeded == 10
        assert summary.usage.input_tokens == 20 * TOKENS_IN
        assert summary.usage.output_tokens == 20 * TOKENS_OUT
        assert summary.cost_usd == pytest.approx(PRICE.cost(summary.usage, batch=False))

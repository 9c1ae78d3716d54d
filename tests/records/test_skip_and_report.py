"""Skip and report: every input comes back exactly once under an id of its own, with its key,
and nothing that ran is sent again by a retry of the rejected ones.

Local Bedrock answers through a responder that counts the model invocations by prompt, so
"paid twice" is what the emulator saw, not what the library reports.
"""

from __future__ import annotations

import io
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_batch import BatchJob, PollConfig, Quotas, ValidationError
from bedrock_batch.local import LocalBedrock, RecordContext, synthetic

from ..conftest import BUCKET, HAIKU, ROLE, claude_body, examples

ANY_SIZE = Quotas(min_records_per_job=1)
KINDS = ("valid", "bad_body", "no_body", "not_json", "bad_id")


class Invocations:
    """Counts the records Local Bedrock answered, by prompt text (batch and on demand)."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()

    def __call__(self, ctx: RecordContext) -> dict[str, Any]:
        messages = ctx.model_input.get("messages") or [{}]
        content = messages[0].get("content")
        text = content if isinstance(content, str) else content[0]["text"]
        self.count[text] += 1
        return synthetic(ctx)


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[LocalBedrock, Invocations]]:
    invocations = Invocations()
    with LocalBedrock(clock="manual", responder=invocations, default_quotas=ANY_SIZE) as local:
        local.session().client("s3").create_bucket(Bucket=BUCKET)
        yield local, invocations


_batches = itertools.count()


def new_job(local: LocalBedrock) -> BatchJob:
    n = next(_batches)
    return BatchJob(
        HAIKU, ROLE, f"s3://{BUCKET}/in/{n}/", f"s3://{BUCKET}/out/{n}/",
        session=local.session(), sleep=local.advance, quotas=ANY_SIZE, mode="batch",
        poll=PollConfig(initial=30, max_interval=600, jitter=0),
    )  # fmt: skip


def line_of(kind: str, n: int, named: bool) -> tuple[str, dict[str, Any] | None]:
    """One input: its JSONL line and the same as an add_records mapping (None: not JSON)."""
    key = {"input": n}
    rec: dict[str, Any] = {"key": key, "modelInput": claude_body(f"input {n}", 20)}
    if named:
        rec["recordId"] = f"doc-{n}"
    if kind == "bad_body":
        rec["modelInput"] = {"messages": [{"role": "user", "content": f"input {n}"}]}
    elif kind == "no_body":
        del rec["modelInput"]
    elif kind == "bad_id":
        rec["recordId"] = f"bad id {n}!"
    elif kind == "not_json":
        return '{"recordId": "doc-' + str(n) + '", "modelInput": ', None
    return json.dumps(rec), rec


inputs = st.lists(
    st.tuples(st.sampled_from(KINDS), st.booleans(), st.sampled_from(["jsonl", "records"])),
    min_size=1,
    max_size=24,
).filter(lambda xs: any(k == "valid" for k, _, _ in xs))


def add_all(job: BatchJob, drawn: list[tuple[str, bool, str]]) -> None:
    """Cut the inputs into calls (a new call where the method changes), each skipping."""
    n = 0
    for method, group in itertools.groupby(drawn, key=lambda x: x[2]):
        made = []
        for kind, named, _ in group:
            readable = "no_body" if method == "records" and kind == "not_json" else kind
            made.append(line_of(readable, n, named))
            n += 1
        if method == "jsonl":
            text = "\n".join(line for line, _ in made) + "\n"
            job.add_jsonl(io.StringIO(text), key_field="key", on_invalid="skip")
        else:
            job.add_records([rec for _, rec in made if rec is not None], on_invalid="skip")


@settings(
    max_examples=examples(15)
)  # each example is a whole batch (and a retry); 15 cover the kinds
@given(drawn=inputs)
def test_every_input_comes_back_once_under_its_own_id_and_rejects_are_never_resent(
    emulator: tuple[LocalBedrock, Invocations], drawn: list[tuple[str, bool, str]]
) -> None:
    local, invocations = emulator
    invocations.count.clear()
    kinds = [
        "no_body" if method == "records" and kind == "not_json" else kind
        for kind, _, method in drawn
    ]
    with new_job(local) as job:
        add_all(job, drawn)
        job.run()
        results = list(job.results())
        ids = [r.record_id for r in results]
        assert len(ids) == len(set(ids)), Counter(ids).most_common(3)
        # every input exactly once: by its key (the unreadable lines have none), with its status
        by_key = Counter((r.key["input"], r.status) for r in results if r.key is not None)
        keyed = {n: k for n, k in enumerate(kinds) if k != "not_json"}
        assert by_key == Counter(
            (n, "succeeded" if k == "valid" else "rejected") for n, k in keyed.items()
        )
        assert sum(r.key is None for r in results) == kinds.count("not_json")
        assert all(r.status == "rejected" for r in results if r.key is None)
        # a refused record keeps the caller's id
        for r in results:
            if r.status == "rejected" and r.key is not None:
                n = r.key["input"]
                named = drawn[n][1] or kinds[n] == "bad_id"
                assert r.record_id.startswith(("doc-", "bad id")) == named, r
        # each valid input was invoked once; a retry of the rejected ones sends nothing
        valid = {f"input {n}" for n, k in enumerate(kinds) if k == "valid"}
        assert invocations.count == Counter(valid)
        try:
            job.retry(statuses=["rejected"])
        except ValidationError as err:
            refusal = str(err)
        else:
            job.wait()
            refusal = ""
        assert invocations.count == Counter(valid), "records that ran were sent again"
        assert "cannot send rejected records" in refusal


def test_the_issue_s_case_three_refused_records_between_valid_ones(
    emulator: tuple[LocalBedrock, Invocations],
) -> None:
    """Three refused records without ids, each followed by a valid one: 3 duplicate ids."""
    local, invocations = emulator
    invocations.count.clear()
    records: list[dict[str, Any]] = []
    for n in range(10):
        records.append({"key": n, "modelInput": claude_body(f"input {n}", 20)})
        if n in (2, 5, 7):
            records.append({"key": f"bad {n}", "modelInput": {"messages": []}})
    with new_job(local) as job:
        assert job.add_records(records, on_invalid="skip") == 10
        assert [p.record_id for p in job.rejected] == [None, None, None]
        assert [p.key for p in job.rejected] == ["bad 2", "bad 5", "bad 7"]
        results = list(job.run())
        assert len({r.record_id for r in results}) == 13
        rejected = sorted((r.key, r.record_id) for r in results if r.status == "rejected")
        assert rejected == [("bad 2", "<record:4>"), ("bad 5", "<record:8>"), ("bad 7", "<record:11>")]  # fmt: skip
        with pytest.raises(ValidationError, match="cannot send rejected records"):
            job.retry(statuses=["errored", "rejected"])
        assert sum(invocations.count.values()) == 10


def test_a_refused_id_stays_taken_and_same_named_rows_from_two_calls_stay_apart(
    emulator: tuple[LocalBedrock, Invocations],
) -> None:
    pd = pytest.importorskip("pandas")
    local, _ = emulator
    with new_job(local) as job:
        bad = {"recordId": "R0000000001", "key": "k-bad", "modelInput": {"messages": []}}
        job.add_records([bad, {"key": "k0", "modelInput": claude_body("a", 20)}], on_invalid="skip")  # fmt: skip
        again = {"recordId": "R0000000001", "key": "k-again", "modelInput": claude_body("b", 20)}
        job.add_records([again], on_invalid="skip")  # the refused record's id is still its own
        job.add_prompt("c", max_tokens=20, key="k2")  # generated: skips the refused id
        for i in range(2):  # two DataFrames refusing their second row: two distinct rejects
            frame = pd.DataFrame({"q": ["fine", None], "who": [f"ann{i}", f"bob{i}"]})
            job.add_dataframe(frame, prompt="q", key="who", max_tokens=20, on_invalid="skip")
        results = list(job.run())
        assert len(results) == 8  # the caller's duplicate keeps its (duplicate) id: 7 ids
        assert Counter(r.record_id for r in results).most_common(2)[1][1] == 1
        by_key = {r.key: r for r in results}
        assert set(by_key) == {"k-bad", "k0", "k-again", "k2", "ann0", "bob0", "ann1", "bob1"}
        assert (by_key["k-bad"].record_id, by_key["k-bad"].status) == ("R0000000001", "rejected")
        error = by_key["k-again"].error
        assert by_key["k-again"].status == "rejected" and error and "duplicate" in error.message
        assert by_key["k2"].status == "succeeded" and by_key["k2"].record_id != "R0000000001"
        assert (by_key["bob0"].record_id, by_key["bob1"].record_id) == ("<DataFrame:2>", "<DataFrame:2#2>")  # fmt: skip

"""Adding a model family is its two modules, a catalogue row and golden cases — nothing else.

The toy family's client module (``toy_client.py``) and emulator module
(``tests/local/toy_family.py``) are registered with a catalogue row by a fixture; its golden
cases hold both sides to the same verdicts; a 120-record batch then runs through ``BatchJob``
on Local Bedrock: built, checked, uploaded, answered, read back and accounted for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bedrock_batch import BatchJob, PollConfig, Quotas, ValidationError, family_of
from bedrock_batch._catalog import CATALOG, ModelInfo
from bedrock_batch._families import _registry as client_registry
from bedrock_batch.local import LocalBedrock
from bedrock_batch.local._families import _registry as local_registry
from bedrock_batch.local._families._rules_common import Refusal

from ..golden_bodies import mal
from ..local.toy_family import TOY, TOY_MODEL
from .toy_client import TOY_CLIENT

ROLE = "arn:aws:iam::123456789012:role/R"

#: The toy's golden cases: (body, the service's message or None when accepted).
GOLDEN: list[tuple[dict[str, object], str | None]] = [
    ({"prompt": "tea?"}, None),
    ({"prompt": "tea?", "max_words": 64}, None),
    ({"prompt": "tea?", "temperature": 1}, mal("#", "extraneous key [temperature] is not permitted")),
    ({"max_words": 3}, mal("#", "required key [prompt] not found")),
    ({"prompt": "tea?", "max_words": 65}, mal("#/max_words", "65 is not less or equal to 64")),
]  # fmt: skip


@pytest.fixture
def toy() -> Iterator[ModelInfo]:
    """Both modules registered and the catalogue row added; all removed afterwards."""
    CATALOG[TOY_MODEL.model_id] = TOY_MODEL
    client_registry.register(TOY_CLIENT)
    local_registry.register(TOY)
    try:
        yield TOY_MODEL
    finally:
        local_registry.unregister(TOY.name)
        client_registry.unregister(TOY_CLIENT.name)
        del CATALOG[TOY_MODEL.model_id]


@pytest.mark.parametrize(("body", "message"), GOLDEN)
def test_both_sides_give_the_golden_verdicts(
    toy: ModelInfo, body: dict[str, object], message: str | None
) -> None:
    assert TOY_CLIENT.check(dict(body), toy) == message
    try:
        TOY.check(body, toy, on_demand=False)
        emulated = None
    except Refusal as refusal:
        emulated = str(refusal)
    assert emulated == message


def test_a_new_family_runs_a_batch_of_120_records_end_to_end(toy: ModelInfo) -> None:
    assert family_of(toy.model_id) == TOY_CLIENT.name
    assert family_of(f"us.{toy.model_id}") == TOY_CLIENT.name
    quotas = {toy.model_id: Quotas(min_records_per_job=100, max_records_per_job=1_000)}
    with LocalBedrock(clock="manual", quotas=quotas) as local:
        session = local.session()
        session.client("s3").create_bucket(Bucket="bkt")
        with BatchJob(toy.model_id, ROLE, "s3://bkt/in/", "s3://bkt/out/", session=session,
                      sleep=local.advance, poll=PollConfig(initial=60, jitter=0)) as job:  # fmt: skip
            for i in range(120):
                job.add_prompt(f"What is tea ceremony {i}?", max_tokens=1 + i % 64, key={"i": i})
            with pytest.raises(ValidationError, match="prompt and max_tokens only"):
                job.add_prompt("tea?", system="be brief")  # the toy's own builder refuses
            with pytest.raises(ValidationError, match="max_words"):
                job.add({"prompt": "tea?", "max_words": 65})  # its own rules, before upload
            plan = job.plan()
            assert plan.records == 120 and plan.mode == "batch"
            job.submit()
            job.wait()
            results = sorted(job.results(), key=lambda r: r.key["i"])
            summary = job.summary()
            manifest_keys = [
                o["Key"]
                for o in session.client("s3").list_objects_v2(Bucket="bkt", Prefix="out/")["Contents"]
                if o["Key"].endswith("manifest.json.out")
            ]  # fmt: skip
            manifests = [
                json.loads(session.client("s3").get_object(Bucket="bkt", Key=k)["Body"].read())
                for k in manifest_keys
            ]
    assert [r.key["i"] for r in results] == list(range(120))
    assert all(r.status == "succeeded" for r in results)
    for r in results:  # read back through the toy's own readers
        assert r.text is not None and r.text.startswith(f"What is tea ceremony {r.key['i']}?")
        assert r.model_output is not None and r.text == r.model_output["answer"]
        assert r.usage.known and 0 < r.usage.output_tokens <= 1 + r.key["i"] % 64
    assert summary.succeeded == 120 and summary.discrepancies == ()
    assert summary.usage.input_tokens == sum(m["inputTokenCount"] for m in manifests)
    assert summary.usage.output_tokens == sum(m["outputTokenCount"] for m in manifests)
    assert summary.usage.output_tokens == sum(r.usage.output_tokens for r in results)


def test_without_its_modules_the_model_is_refused(toy: ModelInfo) -> None:
    """The registration is what makes the family work: unregistered, the client refuses to
    build for it (Local Bedrock's refusal: tests/local/test_families.py)."""
    client_registry.unregister(TOY_CLIENT.name)
    try:
        with (
            BatchJob(toy.model_id, ROLE, "s3://bkt/in/", "s3://bkt/out/") as job,
            pytest.raises(ValidationError),
        ):
            job.add_prompt("tea?")
    finally:
        client_registry.register(TOY_CLIENT)

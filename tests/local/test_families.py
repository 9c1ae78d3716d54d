"""Local Bedrock's model families as plug-ins.

- every registered emulated family implements every part of :class:`EmulatedFamily`, each
  part exercised by a real call on a valid body from the golden table;
- the golden table (``tests/golden_bodies.py``) has accepted and refused cases for every
  registered family, as the emulator itself resolves them;
- a new family registered on the emulator side (``toy_family.py``: its module; a catalogue row
  added and removed by a fixture) answers a 120-record batch job end to end, and bedrock-runtime
  calls, through real boto3 clients.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from bedrock_batch._catalog import CATALOG, ModelInfo
from bedrock_batch.local import LocalBedrock, RecordContext, synthetic
from bedrock_batch.local._families import _registry
from bedrock_batch.local._families._models import resolve_model_id
from bedrock_batch.local._families._protocol import EmulatedFamily
from bedrock_batch.local._families._rules_common import Refusal

from ..conftest import BUCKET, ROLE, jsonl, read_out
from ..golden_bodies import CASES, Case, mal
from .toy_family import TOY, TOY_MODEL

REGION = "us-east-1"
BUILT_IN = [family.name for family in _registry.registered()]
PROTOCOL_PARTS = sorted(
    [
        "name",
        *(
            name
            for name, _ in inspect.getmembers(EmulatedFamily, inspect.isfunction)
            if not name.startswith("_")
        ),
    ]
)


def _model(case: Case) -> ModelInfo:
    info = resolve_model_id(case.model, REGION).info
    assert info is not None, case.model
    return info


def _family_name(case: Case) -> str:
    return _registry.family_for(_model(case), case.invocation).name


def _cases(name: str, *, accepted: bool) -> list[Case]:
    return [
        c
        for c in CASES
        if _family_name(c) == name and (c.error is None) == accepted and isinstance(c.body, dict)
    ]


def test_the_protocol_has_the_parts_the_issue_names() -> None:
    assert PROTOCOL_PARTS == [
        "answer",
        "batch_output",
        "check",
        "encoded_answer",
        "name",
        "s3_locations",
        "usage",
    ]


def test_the_built_in_families_are_registered_once_each() -> None:
    assert sorted(BUILT_IN) == sorted(
        {"converse", *(info.family for info in CATALOG.values())} - {TOY_MODEL.family}
    )
    for name in BUILT_IN:
        assert _registry.get(name).name == name


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_family_implements_every_protocol_part(name: str) -> None:
    family = _registry.get(name)
    assert isinstance(family, EmulatedFamily)
    for part in PROTOCOL_PARTS:
        assert hasattr(type(family), part), (name, part)
    case = _cases(name, accepted=True)[0]
    model = _model(case)
    on_demand = case.surface == "runtime"
    body = copy.deepcopy(case.body)

    # check: accepts the valid body, refuses a golden refusal with the golden message
    family.check(body, model, on_demand=on_demand)
    refused = next(
        c for c in _cases(name, accepted=False) if _refused_by_family(family, c) is not None
    )
    assert _refused_by_family(family, refused) == refused.error

    # answer: a JSON object, deterministic, and what the default responder answers
    ctx = RecordContext("r1", case.model, model, case.invocation, body, on_demand)
    answer = family.answer(ctx)
    assert isinstance(answer, dict) and json.loads(json.dumps(answer)) == answer
    assert family.answer(ctx) == answer
    assert synthetic(ctx) == answer

    # usage: counts of the answer it gave (embeddings generate no tokens)
    used_in, used_out = family.usage(body, answer)
    assert used_in > 0
    assert (used_out == 0) if model.is_embedding else (used_out > 0)
    assert family.usage(body, None) == (0, 0) or name == "mistral"

    # encoded_answer: no fast path, or exactly the answer with its usage
    fast = family.encoded_answer(ctx)
    if fast is not None:
        assert json.loads(fast[0]) == answer
        assert fast[1:] == (used_in, used_out)

    # s3_locations: every URI it names is one the body references
    uris = list(family.s3_locations(body))
    assert all(isinstance(u, str) and u in json.dumps(body) for u in uris)

    # batch_output: a JSON object with the same usage as the answer
    written = family.batch_output(copy.deepcopy(answer))
    assert isinstance(written, dict) and json.loads(json.dumps(written)) == written
    assert family.usage(body, written) == (used_in, used_out)


def _refused_by_family(family: EmulatedFamily, case: Case) -> str | None:
    try:
        family.check(case.body, _model(case), on_demand=case.surface == "runtime")
    except Refusal as refusal:
        return str(refusal)
    return None


@pytest.mark.parametrize("name", ["nova", "converse"])
def test_families_with_s3_references_name_them(name: str) -> None:
    family = _registry.get(name)
    uri = "s3://bkt/images/cat.png"
    block = {"image": {"format": "png", "source": {"s3Location": {"uri": uri}}}}
    body = {"messages": [{"role": "user", "content": [{"text": "what is it?"}, block]}]}
    assert list(family.s3_locations(body)) == [uri]


def test_the_golden_table_has_cases_for_every_registered_family() -> None:
    covered = {_family_name(c) for c in CASES}
    for family in _registry.registered():
        assert family.name in covered, family.name
        assert _cases(family.name, accepted=True), family.name
        assert _cases(family.name, accepted=False), family.name


# --- a new family, registered on the emulator side --------------------------------------------


@pytest.fixture
def toy() -> Iterator[ModelInfo]:
    """The toy family registered and its catalogue row added, both removed afterwards."""
    CATALOG[TOY_MODEL.model_id] = TOY_MODEL
    _registry.register(TOY)
    try:
        yield TOY_MODEL
    finally:
        _registry.unregister(TOY.name)
        del CATALOG[TOY_MODEL.model_id]


def test_a_new_family_answers_a_batch_job_of_120_records(toy: ModelInfo) -> None:
    good = [
        {
            "recordId": f"q{i:03d}",
            "modelInput": {"prompt": f"What is tea ceremony {i}?", "max_words": 1 + i % 64},
        }
        for i in range(117)
    ]
    bad = [
        {"recordId": "bad-extra", "modelInput": {"prompt": "tea?", "temperature": 1}},
        {"recordId": "bad-missing", "modelInput": {"max_words": 3}},
        {"recordId": "bad-range", "modelInput": {"prompt": "tea?", "max_words": 65}},
    ]
    with LocalBedrock(clock="manual") as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="toy/in.jsonl", Body=jsonl(good + bad))
        bedrock = local.client("bedrock")
        arn = bedrock.create_model_invocation_job(
            jobName="toy-family",
            roleArn=ROLE,
            modelId=toy.model_id,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/toy/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
        )["jobArn"]
        local.run_until_idle()
        job = bedrock.get_model_invocation_job(jobIdentifier=arn)
        assert job["status"] == "Completed", job.get("message")
        job_id = arn.rsplit("/", 1)[1]
        lines = {line["recordId"]: line for line in read_out(s3, f"out/{job_id}/in.jsonl.out")}
        manifest = json.loads(
            s3.get_object(Bucket=BUCKET, Key=f"out/{job_id}/manifest.json.out")["Body"].read()
        )

    assert len(lines) == 120
    tokens_in = tokens_out = 0
    for record in good:
        line = lines[record["recordId"]]
        assert line["modelInput"] == record["modelInput"]
        output = line["modelOutput"]
        assert set(output) == {"answer", "finish", "tokens"}
        assert output["answer"].startswith(record["modelInput"]["prompt"])
        assert 0 < output["tokens"]["out"] <= record["modelInput"]["max_words"]
        assert output["finish"] in ("stop", "length")
        tokens_in += output["tokens"]["in"]
        tokens_out += output["tokens"]["out"]
    assert lines["bad-extra"]["error"]["errorMessage"] == mal(
        "#", "extraneous key [temperature] is not permitted"
    )
    assert lines["bad-missing"]["error"]["errorMessage"] == mal(
        "#", "required key [prompt] not found"
    )
    assert lines["bad-range"]["error"]["errorMessage"] == mal(
        "#/max_words", "65 is not less or equal to 64"
    )
    assert all(lines[r["recordId"]]["error"]["errorCode"] == 400 for r in bad)
    assert manifest == {
        "totalRecordCount": 120,
        "processedRecordCount": 120,
        "successRecordCount": 117,
        "errorRecordCount": 3,
        "inputTokenCount": tokens_in,
        "outputTokenCount": tokens_out,
    }


def test_a_new_family_answers_bedrock_runtime(toy: ModelInfo) -> None:
    with LocalBedrock(clock="manual") as local:
        runtime = local.client("bedrock-runtime")
        response = runtime.invoke_model(
            modelId=toy.model_id, body=json.dumps({"prompt": "Why tea?", "max_words": 20})
        )
        answer = json.loads(response["body"].read())
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-bedrock-input-token-count"] == str(answer["tokens"]["in"])
        assert headers["x-amzn-bedrock-output-token-count"] == str(answer["tokens"]["out"])
        with pytest.raises(ClientError) as err:
            runtime.invoke_model(modelId=toy.model_id, body=json.dumps({"question": "Why tea?"}))
        assert err.value.response["Error"]["Message"] == mal("#", "required key [prompt] not found")
        # Converse on the new model is the shared Converse family's, with the row's capabilities
        conversation = [{"role": "user", "content": [{"text": "Why tea?"}]}]
        reply = runtime.converse(modelId=toy.model_id, messages=conversation)
        assert reply["output"]["message"]["content"][0]["text"].startswith("Why tea?")
        tool = {"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "object"}}}}
        with pytest.raises(ClientError) as err:
            runtime.converse(
                modelId=toy.model_id, messages=conversation, toolConfig={"tools": [tool]}
            )
        assert err.value.response["Error"]["Message"] == "This model doesn't support tool use."


def test_a_catalogue_row_without_a_registered_family_is_refused() -> None:
    CATALOG[TOY_MODEL.model_id] = TOY_MODEL
    try:
        with LocalBedrock(clock="manual") as local:
            runtime = local.client("bedrock-runtime")
            with pytest.raises(ClientError) as err:
                runtime.invoke_model(modelId=TOY_MODEL.model_id, body=json.dumps({"q": "x"}))
    finally:
        del CATALOG[TOY_MODEL.model_id]
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "does not emulate the model family 'toy-echo'" in err.value.response["Error"]["Message"]

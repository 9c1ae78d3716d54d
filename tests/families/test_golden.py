"""The golden table (tests/golden_bodies.py) against the emulator and, separately, the client.

- the emulator: every batch case is a record of a real batch job (its output line must carry
  the expected error, or a ``modelOutput``), every runtime case a real bedrock-runtime call;
- the client: ``bedrock_batch._families._schemas.check_model_input`` must give the same message.

Removing a rule from either implementation makes its cases fail here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrock_batch._catalog import lookup_model
from bedrock_batch._families._schemas import check_model_input
from bedrock_batch.local import LocalBedrock, Quotas

from ..conftest import BUCKET, ROLE
from ..golden_bodies import CASES, FAMILIES, Case

BATCH = [c for c in CASES if c.surface in ("batch", "both")]
RUNTIME = [c for c in CASES if c.surface in ("runtime", "both")]
CLIENT = [c for c in CASES if c.client]


def test_the_table_covers_every_family_and_both_invocation_types() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(FAMILIES.values()) == {FAMILIES[c.model] for c in CASES}
    for family in set(FAMILIES.values()):
        cases = [c for c in CASES if FAMILIES[c.model] == family and c.invocation == "InvokeModel"]
        assert any(c.error is None for c in cases), family
        assert sum(c.error is not None for c in cases) >= 5, family
    converse = [c for c in CASES if c.invocation == "Converse"]
    assert {c.surface for c in converse} == {"batch", "runtime", "both"}
    tool_cases = {c.id for c in CASES if "tool" in c.id}
    assert {"a_tool_forced", "n_tool_forced", "m_tool_forced", "cr_tool_forced"} <= tool_cases
    assert "c_tool_config_in_batch" in tool_cases


@pytest.fixture(scope="module")
def batch_lines() -> Iterator[dict[str, dict[str, Any]]]:
    """Every batch case as a record of a real job: one job per (model, invocation type)."""
    groups: dict[tuple[str, str], list[Case]] = {}
    for case in BATCH:
        groups.setdefault((case.model, case.invocation), []).append(case)
    with LocalBedrock(clock="manual", default_quotas=Quotas(min_records_per_job=1)) as local:
        s3 = local.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        bedrock = local.client("bedrock")
        arns = []
        for n, ((model, invocation), cases) in enumerate(sorted(groups.items())):
            key = f"golden/{n}/in.jsonl"
            lines = "".join(
                json.dumps({"recordId": c.id, "modelInput": c.body}) + "\n" for c in cases
            )
            s3.put_object(Bucket=BUCKET, Key=key, Body=lines.encode())
            arns.append(
                bedrock.create_model_invocation_job(
                    jobName=f"golden-{n}",
                    roleArn=ROLE,
                    modelId=model,
                    modelInvocationType=invocation,
                    inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/{key}"}},
                    outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
                )["jobArn"]
            )
        local.run_until_idle()
        out: dict[str, dict[str, Any]] = {}
        for arn in arns:
            assert bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] == "Completed"
            job_id = arn.rsplit("/", 1)[1]
            body = s3.get_object(Bucket=BUCKET, Key=f"out/{job_id}/in.jsonl.out")["Body"].read()
            for raw in body.split(b"\n"):
                if raw.strip():
                    line = json.loads(raw)
                    out[line["recordId"]] = line
        yield out


@pytest.mark.parametrize("case", BATCH, ids=[c.id for c in BATCH])
def test_emulator_batch_record(case: Case, batch_lines: dict[str, dict[str, Any]]) -> None:
    line = batch_lines[case.id]
    if case.error is None:
        assert "error" not in line, line.get("error")
        assert isinstance(line["modelOutput"], dict)
    else:
        assert "modelOutput" not in line
        assert line["error"]["errorCode"] == 400
        assert line["error"]["errorMessage"] == case.error


@pytest.fixture(scope="module")
def runtime() -> Iterator[Any]:
    with LocalBedrock(clock="manual") as local:
        yield local.client("bedrock-runtime")


def _call(runtime: Any, case: Case) -> dict[str, Any]:
    if case.invocation == "Converse":
        return dict(runtime.converse(modelId=case.model, **case.body))
    response = runtime.invoke_model(modelId=case.model, body=json.dumps(case.body))
    return dict(json.loads(response["body"].read()))


@pytest.mark.parametrize("case", RUNTIME, ids=[c.id for c in RUNTIME])
def test_emulator_runtime_call(case: Case, runtime: Any) -> None:
    if case.error is None:
        assert _call(runtime, case)
        return
    with pytest.raises(ClientError) as err:
        _call(runtime, case)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["Error"]["Message"] == case.error


@pytest.mark.parametrize("case", CLIENT, ids=[c.id for c in CLIENT])
def test_client_validation(case: Case) -> None:
    info, _ = lookup_model(case.model)
    assert info is not None
    message = check_model_input(case.body, info.family, invocation_type=case.invocation, model=info)
    assert message == case.error

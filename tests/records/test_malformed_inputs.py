"""Fail before you pay: every malformed input is refused with its own error, before any S3
object or job exists.

The cases share one emulator (a module's): each must leave it as it found it, with no object
and no job, which the test checks after each (a case that leaves something fails there). The
calls around them (all or nothing, a pipe read once, ids) are in test_intake_calls.py."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bedrock_batch import BatchJob, QuotaError, Quotas, ValidationError
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, claude_body, job_factory

Make = Callable[..., BatchJob]
HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def good(job: BatchJob, n: int = 120) -> BatchJob:
    for i in range(n):
        job.add_prompt(f"question {i}", max_tokens=100)
    return job


def lines(*objs: Any) -> io.BytesIO:
    out = b""
    for o in objs:
        out += (o if isinstance(o, bytes) else json.dumps(o).encode()) + b"\n"
    return io.BytesIO(out)


def rec(rid: Any = "a1", body: Any = None) -> dict[str, Any]:
    return {"recordId": rid, "modelInput": claude_body("x") if body is None else body}


def submit_with(
    make: Make, *, n: int = 120, model: str | None = None, body: Any = None, **kw: Any
) -> None:
    job = make(model, **kw) if model else make(**kw)
    if body is not None:
        job.add(body)
    good(job, n).submit()


def converse(**extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": [{"text": "hi"}]}], **extra}


CASES: list[tuple[str, Callable[[Make], Any], type[Exception], str]] = [
    # -- JSONL files -----------------------------------------------------------------------
    (
        "jsonl: not JSON",
        lambda m: good(m()).add_jsonl(lines(rec("a"), b"{oops")),
        ValidationError,
        "line 2",
    ),
    (
        "jsonl: array line",
        lambda m: m().add_jsonl(lines([1, 2])),
        ValidationError,
        "not a JSON object",
    ),
    (
        "jsonl: no modelInput",
        lambda m: m().add_jsonl(lines({"recordId": "a"})),
        ValidationError,
        "no modelInput",
    ),
    (
        "jsonl: modelInput not an object",
        lambda m: m().add_jsonl(lines({"recordId": "a", "modelInput": "hi"})),
        ValidationError,
        "no modelInput",
    ),
    (
        "jsonl: recordId not a string",
        lambda m: m().add_jsonl(lines(rec(7))),
        ValidationError,
        "must be a string",
    ),
    (
        "jsonl: recordId with a space",
        lambda m: m().add_jsonl(lines(rec("a b"))),
        ValidationError,
        "does not match",
    ),
    (
        "jsonl: recordId too long",
        lambda m: m().add_jsonl(lines(rec("a" * 200))),
        ValidationError,
        "does not match",
    ),
    (
        "jsonl: duplicate in file",
        lambda m: m().add_jsonl(lines(rec("a"), rec("a"))),
        ValidationError,
        "duplicate recordId",
    ),
    (
        "jsonl: duplicate of added record",
        lambda m: _dup_across(m),
        ValidationError,
        "duplicate recordId",
    ),
    (
        "jsonl: truncated last line",
        lambda m: m().add_jsonl(
            io.BytesIO(json.dumps(rec("a")).encode() + b'\n{"recordId": "b", "modelIn')
        ),
        ValidationError,
        "line 2",
    ),
    (
        "jsonl: empty file",
        lambda m: m().add_jsonl(io.BytesIO(b"\n\n")),
        ValidationError,
        "holds no records",
    ),
    (
        "jsonl: invalid UTF-8",
        lambda m: m().add_jsonl(io.BytesIO(b'{"recordId": "a", "modelInput": {"x": "\xff"}}\n')),
        ValidationError,
        "not valid JSON",
    ),
    (
        "jsonl: body wrong for family",
        lambda m: m().add_jsonl(lines(rec("a", {"prompt": "x"}))),
        ValidationError,
        "anthropic_version: Field required",
    ),
    # -- records added one by one ---------------------------------------------------------
    ("add: duplicate id", lambda m: _dup_added(m), ValidationError, "duplicate record id 'd'"),
    (
        "add: empty id",
        lambda m: m().add(claude_body("x"), record_id=""),
        ValidationError,
        "does not match",
    ),
    (
        "add: key not JSON",
        lambda m: m().add(claude_body("x"), key=object()),
        ValidationError,
        "JSON-serialisable",
    ),
    ("add_prompt: empty prompt", lambda m: m().add_prompt("   "), ValidationError, "non-empty"),
    (
        "add_prompt: embedding model",
        lambda m: m("amazon.titan-embed-text-v2:0").add_prompt("x"),
        ValidationError,
        "add_embedding",
    ),
    (
        "add_embedding: generation model",
        lambda m: m().add_embedding("x"),
        ValidationError,
        "embedding model",
    ),
    # -- bodies the model would refuse -----------------------------------------------------
    (
        "claude: no anthropic_version",
        lambda m: m().add({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}),
        ValidationError,
        "anthropic_version: Field required",
    ),
    (
        "claude: max_tokens over ceiling",
        lambda m: m().add(claude_body("x", max_tokens=100_000)),
        ValidationError,
        "maximum allowed",
    ),
    (
        "claude: modelId inside modelInput",
        lambda m: m().add({**claude_body("x"), "modelId": "m"}),
        ValidationError,
        "Extra inputs are not permitted",
    ),
    (
        "claude: assistant first",
        lambda m: m().add(
            {**claude_body("x"), "messages": [{"role": "assistant", "content": "x"}]}
        ),
        ValidationError,
        "first message",
    ),
    (
        "claude: temperature 2",
        lambda m: m().add({**claude_body("x"), "temperature": 2}),
        ValidationError,
        "temperature",
    ),
    (
        "claude 4.5: temperature and top_p",
        lambda m: m(HAIKU_45).add({**claude_body("x"), "temperature": 0.5, "top_p": 0.5}),
        ValidationError,
        "cannot both be specified",
    ),
    (
        "claude: converse body in InvokeModel job",
        lambda m: m().add(converse()),
        ValidationError,
        "anthropic_version",
    ),
    (
        "titan text: extra key",
        lambda m: m("amazon.titan-text-express-v1").add({"inputText": "x", "bogus": 1}),
        ValidationError,
        "extraneous key [bogus]",
    ),
    (
        "titan embed: bad dimensions",
        lambda m: m("amazon.titan-embed-text-v2:0").add_embedding("x", dimensions=100),
        ValidationError,
        "dimensions",
    ),
    (
        "llama: no prompt",
        lambda m: m("meta.llama3-1-8b-instruct-v1:0").add({"max_gen_len": 5}),
        ValidationError,
        "required key [prompt]",
    ),
    (
        "llama: max_gen_len too big",
        lambda m: m("meta.llama3-1-8b-instruct-v1:0").add_prompt("x", max_tokens=5000),
        ValidationError,
        "max_gen_len",
    ),
    (
        "mistral: no messages",
        lambda m: m("mistral.mistral-small-2402-v1:0").add({"max_tokens": 5}),
        ValidationError,
        "messages",
    ),
    (
        "nova: maxTokens over 10,000",
        lambda m: m("amazon.nova-lite-v1:0").add_prompt("x", max_tokens=20_000),
        ValidationError,
        "maxTokens",
    ),
    (
        "converse: toolConfig",
        lambda m: m(invocation_type="Converse").add(converse(toolConfig={"tools": []})),
        ValidationError,
        "toolConfig",
    ),
    (
        "converse: modelId in body",
        lambda m: m(invocation_type="Converse").add(converse(modelId="x")),
        ValidationError,
        "extraneous key [modelId]",
    ),
    (
        "nova: s3Location in another bucket",
        lambda m: m("amazon.nova-lite-v1:0").add(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "video": {
                                    "format": "mp4",
                                    "source": {"s3Location": {"uri": "s3://elsewhere/v.mp4"}},
                                }
                            }
                        ],
                    }
                ]
            }
        ),
        ValidationError,
        "input bucket",
    ),
    # -- quotas ----------------------------------------------------------------------------
    (
        "quota: record larger than a file",
        lambda m: submit_with(m, body=claude_body("x" * 5000), max_bytes_per_file=1000),
        QuotaError,
        "too large",
    ),
    (
        "quota: too few records (batch mode)",
        lambda m: submit_with(m, n=50, mode="batch"),
        QuotaError,
        "below the minimum of 100",
    ),
    (
        "quota: too many records to split above the minimum",
        lambda m: submit_with(m, quotas=Quotas(max_records_per_job=100)),
        QuotaError,
        "cannot split 120 records",
    ),
    (
        "quota: job too big",
        lambda m: submit_with(m, quotas=Quotas(max_job_bytes=10_000)),
        QuotaError,
        "10000-byte job size",
    ),
    ("no records at all", lambda m: m().submit(), ValidationError, "no records"),
    # -- job parameters --------------------------------------------------------------------
    (
        "param: input URI not s3",
        lambda m: submit_with(m, input_uri="http://x/y"),
        ValidationError,
        "not an S3 URI",
    ),
    (
        "param: output bucket upper case",
        lambda m: submit_with(m, output_uri="s3://Bad/out/"),
        ValidationError,
        "pattern",
    ),
    (
        "param: role ARN not a role",
        lambda m: submit_with(m, role_arn="arn:aws:iam::123456789012:user/me"),
        ValidationError,
        "roleArn",
    ),
    (
        "param: job name with space",
        lambda m: submit_with(m, job_name="my job"),
        ValidationError,
        "jobName",
    ),
    (
        "param: job name of 64 chars",
        lambda m: submit_with(m, job_name="j" * 64),
        ValidationError,
        "less than or equal to 63",
    ),
    (
        "param: timeout under 24h",
        lambda m: submit_with(m, timeout_hours=10),
        ValidationError,
        "greater than or equal to 24",
    ),
    (
        "param: timeout over 168h",
        lambda m: submit_with(m, timeout_hours=200),
        ValidationError,
        "less than or equal to 168",
    ),
    (
        "param: invocation type",
        lambda m: submit_with(m, invocation_type="Batch"),
        ValidationError,
        "invocation_type",
    ),
    (
        "param: tag key too long",
        lambda m: submit_with(m, tags={"k" * 129: "v"}),
        ValidationError,
        "tags",
    ),
    (
        "param: KMS key id",
        lambda m: submit_with(m, kms_key_id="not a key!"),
        ValidationError,
        "s3EncryptionKeyId",
    ),
    (
        "param: bucket owner",
        lambda m: submit_with(m, bucket_owner="12345"),
        ValidationError,
        "s3BucketOwner",
    ),
    (
        "param: VPC without subnets",
        lambda m: submit_with(m, vpc_config={"subnetIds": [], "securityGroupIds": ["sg-1"]}),
        ValidationError,
        "subnetIds",
    ),
    (
        "param: unknown upload argument",
        lambda m: submit_with(m, upload_extra_args={"Bogus": 1}),
        ValidationError,
        "upload_extra_args",
    ),
    (
        "param: profile-only model as bare id",
        lambda m: submit_with(m, model="anthropic.claude-haiku-4-5-20251001-v1:0"),
        ValidationError,
        "inference profile",
    ),
    ("param: embeddings with Converse", lambda m: _embed_converse(m), ValidationError, "Converse"),
    # -- values that are not JSON (NaN, Infinity, lone surrogates) -------------------------
    (
        "nan: titan temperature",
        lambda m: m("amazon.titan-text-express-v1").add_prompt("x", temperature=float("nan")),
        ValidationError,
        "modelInput.textGenerationConfig.temperature",
    ),
    (
        "nan: llama top_p infinity",
        lambda m: m("meta.llama3-1-8b-instruct-v1:0").add_prompt("x", top_p=float("inf")),
        ValidationError,
        "NaN and Infinity are not JSON",
    ),
    (
        "nan: mistral temperature",
        lambda m: m("mistral.mistral-small-2402-v1:0").add_prompt("x", temperature=float("nan")),
        ValidationError,
        "modelInput.temperature",
    ),
    (
        "nan: nova topP",
        lambda m: m("amazon.nova-lite-v1:0").add_prompt("x", top_p=float("-inf")),
        ValidationError,
        "modelInput.inferenceConfig.topP",
    ),
    (
        "nan: claude metadata",
        lambda m: m().add({**claude_body("x"), "metadata": {"user_id": "u", "w": float("nan")}}),
        ValidationError,
        "modelInput.metadata.w",
    ),
    (
        "nan: in a JSONL line",
        lambda m: m().add_jsonl(
            io.BytesIO(
                b'{"modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": NaN, "messages": []}}\n'
            )
        ),
        ValidationError,
        "not valid JSON",
    ),
    (
        "surrogate: in the prompt",
        lambda m: m().add_prompt("broken \ud800 text"),
        ValidationError,
        "lone surrogate",
    ),
    (
        "surrogate: in the key",
        lambda m: m().add(claude_body("x"), key={"name": "\udfff"}),
        ValidationError,
        "key.name",
    ),
    (
        "surrogate: in a JSONL line (escaped)",
        lambda m: m().add_jsonl(lines(rec("a"), rec("b", claude_body("\ud800")), rec("c"))),
        ValidationError,
        "line 2, record 'b', modelInput.messages[0].content[0].text: a lone surrogate",
    ),
    # -- ids ---------------------------------------------------------------------------------
    (
        "id_factory: repeats itself",
        lambda m: _two(m(id_factory=lambda n: "same")),
        ValidationError,
        "already taken",
    ),
    (
        "id_factory: invalid ids",
        lambda m: m(id_factory=lambda n: f"bad id {n}").add(claude_body("x")),
        ValidationError,
        "does not match",
    ),
    # -- parameters --------------------------------------------------------------------------
    (
        "param: VPC subnet as a string",
        lambda m: submit_with(
            m, vpc_config={"subnetIds": "subnet-1", "securityGroupIds": ["sg-1"]}
        ),
        ValidationError,
        "must be a list of strings, not str",
    ),
    (
        "param: model id typo",
        lambda m: submit_with(m, model="anthropic.claude-3-haiku-20240307-v1:1"),
        ValidationError,
        "did you mean 'anthropic.claude-3-haiku-20240307-v1:0'",
    ),
    (
        "param: not a Bedrock model",
        lambda m: _plan_raw(m("gpt-4")),
        ValidationError,
        "not a model that supports batch inference",
    ),
    (
        "param: inference profile of another region",
        lambda m: submit_with(m, model="eu.anthropic.claude-3-haiku-20240307-v1:0"),
        ValidationError,
        "cannot be used from us-east-1",
    ),
    (
        "param: model ARN of another region",
        lambda m: submit_with(
            m,
            model="arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        ),
        ValidationError,
        "is in region eu-west-1",
    ),
    (
        "param: role in another account than the buckets' owner",
        lambda m: submit_with(
            m, role_arn="arn:aws:iam::999999999999:role/R", bucket_owner="123456789012"
        ),
        ValidationError,
        "account 999999999999",
    ),
    # -- DataFrames --------------------------------------------------------------------------
    (
        "dataframe: NaN prompt",
        lambda m: m().add_dataframe(_frame(["a", float("nan"), "c"]), prompt="q"),
        ValidationError,
        "row 1: the prompt cell is empty",
    ),
    (
        "dataframe: None prompt",
        lambda m: m().add_dataframe(_frame(["a", "b", None]), prompt="q"),
        ValidationError,
        "row 2: the prompt cell is empty",
    ),
]


def _plan_raw(job: BatchJob) -> None:
    for i in range(120):
        job.add({"prompt": f"q{i}"})
    job.plan()


def _two(job: BatchJob) -> None:
    job.add(claude_body("x"))
    job.add(claude_body("y"))


def _frame(values: list[Any]) -> Any:
    import pandas as pd

    return pd.DataFrame({"q": values})


def _dup_added(m: Make) -> None:
    job = m()
    job.add(claude_body("x"), record_id="d")
    job.add(claude_body("y"), record_id="d")


def _dup_across(m: Make) -> None:
    job = m()
    job.add(claude_body("x"), record_id="a")
    job.add_jsonl(lines(rec("a")))


def _embed_converse(m: Make) -> None:
    job = m("amazon.titan-embed-text-v2:0", invocation_type="Converse")
    job.submit()


def test_there_are_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[LocalBedrock, Any, Any, Any]]:
    """One Local Bedrock (manual clock) for all the cases: it, a session, its S3 (the test
    bucket made) and Bedrock clients."""
    with LocalBedrock(clock="manual") as local:
        session = local.session()
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield local, session, s3, session.client("bedrock")


@pytest.mark.parametrize(("name", "action", "error", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_refused_before_anything_is_paid_for(
    emulator: tuple[LocalBedrock, Any, Any, Any],
    name: str,
    action: Callable[[Make], Any],
    error: type[Exception],
    fragment: str,
) -> None:
    local, session, s3, bedrock = emulator
    with pytest.raises(error) as info:
        action(job_factory(local, session))
    assert fragment in str(info.value), str(info.value)
    assert isinstance(info.value, ValueError)  # every input error is also a ValueError
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    assert bedrock.list_model_invocation_jobs()["invocationJobSummaries"] == []

"""Local Bedrock and the catalogue as of late 2026 (``bedrock-facts.md`` §12), issue 17.

- every batch-capable id of §12.1 is accepted by CreateModelInvocationJob in its allowed
  spellings and refused where the facts say (profile-only models without a profile, Nova 2
  multimodal embeddings outside us-east-1 or through a profile), by the emulator and by the
  catalogue's own id parsing;
- a batch job per new family (OpenAI chat completions, Nova multimodal embeddings) end to end
  through real boto3 clients, with the manifest's token counts;
- structured outputs answered per schema (validated with ``jsonschema``) on every route:
  Claude ``output_config`` / ``output_format`` / strict tools, ``response_format``, Converse
  ``outputConfig.textFormat``;
- prompt-cache tokens in outputs and manifests (batch only with the knob on), and on
  bedrock-runtime;
- Nova video by ``s3Location``: the object must exist;
- the UNVERIFIED knobs (gpt-oss's ``<reasoning>`` prefix).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from botocore.exceptions import ClientError

from bedrock_batch._catalog import (
    CATALOG,
    base_model_id,
    canonical_model_id,
    lookup_model,
    model_problem,
)
from bedrock_batch.local import LocalBedrock, PromptCaching, Quotas
from bedrock_batch.local._families import _registry
from bedrock_batch.local._families._openai_chat import OPENAI_CHAT, OpenAIChat

from ..conftest import BUCKET, ROLE, jsonl, read_out
from ..golden_bodies import (
    CHAT_TOOL,
    CLOSED_ANSWER,
    CLOSED_WEATHER,
    WEATHER,
    chat,
    claude,
    json_format,
    messages_body,
    nova_embed,
    output_config,
)

#: The batch-capable rows of §12.1's table: id -> (family, the facts' batch label).
LATE_2026 = {
    "anthropic.claude-sonnet-4-5-20250929-v1:0": ("anthropic", "REPORTED"),
    "anthropic.claude-haiku-4-5-20251001-v1:0": ("anthropic", "REPORTED"),
    "anthropic.claude-opus-4-1-20250805-v1:0": ("anthropic", "UNVERIFIED"),
    "anthropic.claude-opus-4-5-20251101-v1:0": ("anthropic", "REPORTED"),
    "anthropic.claude-sonnet-4-6": ("anthropic", "UNVERIFIED"),
    "anthropic.claude-opus-4-6-v1": ("anthropic", "UNVERIFIED"),
    "amazon.nova-2-lite-v1:0": ("nova", "VERIFIED"),
    "amazon.nova-2-multimodal-embeddings-v1:0": ("nova-embed", "VERIFIED"),
    "meta.llama4-scout-17b-instruct-v1:0": ("llama", "REPORTED"),
    "meta.llama4-maverick-17b-instruct-v1:0": ("llama", "REPORTED"),
    "openai.gpt-oss-120b-1:0": ("openai-chat", "VERIFIED"),
    "openai.gpt-oss-20b-1:0": ("openai-chat", "REPORTED"),
    "qwen.qwen3-32b-v1:0": ("openai-chat", "REPORTED"),
    "qwen.qwen3-235b-a22b-2507-v1:0": ("openai-chat", "REPORTED"),
    "qwen.qwen3-coder-30b-a3b-v1:0": ("openai-chat", "REPORTED"),
    "qwen.qwen3-coder-480b-a35b-v1:0": ("openai-chat", "REPORTED"),
    "deepseek.v3-v1:0": ("openai-chat", "REPORTED"),
}
SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA2 = "us.amazon.nova-2-lite-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
NOVA_EMBED = "amazon.nova-2-multimodal-embeddings-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
GPT_OSS_20B = "openai.gpt-oss-20b-1:0"
REGION = "us-east-1"
ON_DEMAND_REFUSAL = re.compile(r"Invocation of model ID \S+ with on-demand throughput isn't")
REASONING = re.compile(r"^<reasoning>[^<]+</reasoning>")


def test_the_catalogue_has_every_batch_row_of_the_facts() -> None:
    # the table's 17 ids (Haiku 4.5 was already catalogued)
    for model_id, (family, label) in LATE_2026.items():
        info = CATALOG[model_id]
        assert (info.family, info.batch_support) == (family, label), model_id
        assert info.display_name and (info.max_output_tokens > 0) != info.is_embedding
    assert CATALOG["amazon.nova-2-lite-v1:0"].requires_profile
    assert CATALOG[NOVA_EMBED].regions == frozenset({"us-east-1"})
    assert CATALOG[NOVA_EMBED].profiles == frozenset()
    assert CATALOG[NOVA_EMBED].is_embedding
    structured = {m for m, info in CATALOG.items() if info.native_structured_outputs is True}
    assert {
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-6-v1",
        "anthropic.claude-sonnet-4-6",
    } <= structured
    assert HAIKU3 not in structured
    caching = {m for m, info in CATALOG.items() if info.prompt_caching}
    assert {HAIKU35, "anthropic.claude-3-7-sonnet-20250219-v1:0", NOVA_LITE} <= caching
    # quota names only where the facts' appendix has them
    with_quotas = {info.display_name for info in CATALOG.values() if info.service_quotas}
    assert {"OpenAI GPT OSS 120b", "Qwen3 Coder 480B", "DeepSeek v3"} <= with_quotas
    assert not {"Claude Sonnet 4.5", "Nova 2 Lite", "Llama 4 Scout 17B Instruct"} & with_quotas


def _spellings(model_id: str) -> dict[str, bool]:
    """Every spelling of ``model_id`` and whether the facts let a batch job use it here."""
    info = CATALOG[model_id]
    profiled = info.profiles != frozenset()
    fm_ok = not info.requires_profile
    return {
        model_id: fm_ok,
        f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}": fm_ok,
        f"us.{model_id}": profiled,
        f"global.{model_id}": profiled,
        f"arn:aws:bedrock:{REGION}:123456789012:inference-profile/us.{model_id}": profiled,
    }


SPELLINGS = [(m, s, ok) for m in LATE_2026 for s, ok in _spellings(m).items()]


@pytest.fixture(scope="module")
def bedrock() -> Iterator[Any]:
    with LocalBedrock(clock="manual", default_quotas=Quotas(max_concurrent_jobs=500)) as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        yield local.client("bedrock")


def _create(bedrock: Any, model_id: str, n: int = 0) -> dict[str, Any]:
    return dict(
        bedrock.create_model_invocation_job(
            jobName=f"late-2026-{n}",
            roleArn=ROLE,
            modelId=model_id,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
        )
    )


@pytest.mark.parametrize(("model_id", "spelling", "accepted"), SPELLINGS)
def test_each_id_is_taken_in_its_allowed_spellings(
    bedrock: Any, model_id: str, spelling: str, accepted: bool
) -> None:
    info, _ = lookup_model(spelling)
    assert info is CATALOG[model_id]
    assert base_model_id(spelling) == model_id
    assert canonical_model_id(spelling) in (model_id, spelling.rsplit("/", 1)[-1])
    problem = model_problem(spelling, REGION)
    if accepted:
        assert problem is None
        arn = _create(bedrock, spelling)["jobArn"]
        assert bedrock.get_model_invocation_job(jobIdentifier=arn)["modelId"] == spelling
        return
    assert problem is not None
    with pytest.raises(ClientError) as err:
        _create(bedrock, spelling)
    message = err.value.response["Error"]["Message"]
    assert err.value.response["Error"]["Code"] == "ValidationException"
    if CATALOG[model_id].requires_profile:
        assert ON_DEMAND_REFUSAL.match(message), message
    else:
        assert message == "Batch inference is not supported for the requested model."


def test_nova_2_embeddings_exist_only_in_us_east_1() -> None:
    with LocalBedrock(clock="manual", region="us-west-2") as local:
        with pytest.raises(ClientError) as err:
            _create(local.client("bedrock"), NOVA_EMBED)
        assert err.value.response["Error"]["Message"] == (
            "Batch inference is not supported for the requested model."
        )
        with pytest.raises(ClientError) as err:
            local.client("bedrock-runtime").invoke_model(
                modelId=NOVA_EMBED, body=json.dumps(nova_embed())
            )
        assert err.value.response["Error"]["Message"] == "The provided model identifier is invalid."
    assert model_problem(NOVA_EMBED, "us-west-2") is not None
    assert model_problem(NOVA_EMBED, "us-east-1") is None


# --- batch jobs end to end ------------------------------------------------------------------


def _run(
    local: LocalBedrock,
    model_id: str,
    records: list[dict[str, Any]],
    *,
    invocation: str = "InvokeModel",
    prefix: str = "job",
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Run one batch job; its output lines by record id, and its manifest."""
    s3 = local.client("s3")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/in.jsonl", Body=jsonl(records))
    bedrock = local.client("bedrock")
    arn = bedrock.create_model_invocation_job(
        jobName=f"late-{prefix}",
        roleArn=ROLE,
        modelId=model_id,
        modelInvocationType=invocation,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/{prefix}/"}},
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
    return lines, manifest


@pytest.fixture
def local() -> Iterator[LocalBedrock]:
    with LocalBedrock(clock="manual", default_quotas=Quotas(min_records_per_job=1)) as lb:
        lb.client("s3").create_bucket(Bucket=BUCKET)
        yield lb


def test_an_openai_chat_batch_job_of_120_records(local: LocalBedrock) -> None:
    good = [
        {"recordId": f"q{i:03d}", "modelInput": chat(max_completion_tokens=40 + i)}
        for i in range(118)
    ]
    good[5]["modelInput"]["messages"][1]["content"] = "Why is the sky blue?"
    bad = [
        {"recordId": "bad-role", "modelInput": chat(messages=[{"role": "model", "content": "x"}])},
        {"recordId": "bad-claude", "modelInput": claude()},
    ]
    lines, manifest = _run(local, GPT_OSS, good + bad)
    assert len(lines) == 120
    tokens_in = tokens_out = 0
    for record in good:
        out = lines[record["recordId"]]["modelOutput"]
        assert out["object"] == "chat.completion" and out["model"] == GPT_OSS
        choice = out["choices"][0]
        assert choice["finish_reason"] in ("stop", "length")
        content = choice["message"]["content"]
        assert REASONING.match(content), content  # gpt-oss: reasoning first (REPORTED)
        assert REASONING.sub("", content).strip()
        usage = out["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        tokens_in += usage["prompt_tokens"]
        tokens_out += usage["completion_tokens"]
    assert REASONING.sub("", lines["q005"]["modelOutput"]["choices"][0]["message"]["content"])
    assert lines["bad-role"]["error"]["errorCode"] == 400
    assert "#/messages/0/role" in lines["bad-role"]["error"]["errorMessage"]
    assert "anthropic_version" in lines["bad-claude"]["error"]["errorMessage"]
    assert manifest == {
        "totalRecordCount": 120,
        "processedRecordCount": 120,
        "successRecordCount": 118,
        "errorRecordCount": 2,
        "inputTokenCount": tokens_in,
        "outputTokenCount": tokens_out,
    }


def test_qwen_answers_without_reasoning_and_calls_tools(local: LocalBedrock) -> None:
    records = [
        {"recordId": "text", "modelInput": chat()},
        {
            "recordId": "tool",
            "modelInput": chat(
                tools=[CHAT_TOOL],
                tool_choice={"type": "function", "function": {"name": "get_weather"}},
            ),
        },
    ]
    lines, _ = _run(local, "qwen.qwen3-32b-v1:0", records)
    text = lines["text"]["modelOutput"]["choices"][0]["message"]["content"]
    assert text and not text.startswith("<reasoning>")
    choice = lines["tool"]["modelOutput"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    jsonschema.validate(
        json.loads(call["function"]["arguments"]), CHAT_TOOL["function"]["parameters"]
    )  # type: ignore[index]


def test_the_reasoning_prefix_is_a_knob(local: LocalBedrock) -> None:
    _registry.register(OpenAIChat(reasoning_prefix=()))
    try:
        runtime = local.client("bedrock-runtime")
        body = json.dumps(chat())
        answer = json.loads(runtime.invoke_model(modelId=GPT_OSS, body=body)["body"].read())
    finally:
        _registry.register(OPENAI_CHAT)
    assert not answer["choices"][0]["message"]["content"].startswith("<reasoning>")
    again = json.loads(
        local.client("bedrock-runtime").invoke_model(modelId=GPT_OSS, body=body)["body"].read()
    )
    assert REASONING.match(again["choices"][0]["message"]["content"])


@pytest.mark.parametrize("dimension", [256, 384, 1024, 3072, None])
def test_a_nova_embeddings_batch_job(local: LocalBedrock, dimension: int | None) -> None:
    texts = [f"tea ceremony {i} " * (1 + i % 5) for i in range(100)]
    records = []
    for i, text in enumerate(texts):
        body = nova_embed(text={"truncationMode": "END", "value": text})
        if dimension is None:
            del body["singleEmbeddingParams"]["embeddingDimension"]
        else:
            body["singleEmbeddingParams"]["embeddingDimension"] = dimension
        records.append({"recordId": f"e{i:03d}", "modelInput": body})
    lines, manifest = _run(local, NOVA_EMBED, records, prefix=f"embed{dimension}")
    size = dimension or 3072
    for record in records:
        out = lines[record["recordId"]]["modelOutput"]
        assert set(out) == {"embeddings"}  # no token count in the body (UNVERIFIED)
        (embedding,) = out["embeddings"]
        assert embedding["embeddingType"] == "TEXT"
        assert len(embedding["embedding"]) == size
        assert abs(sum(v * v for v in embedding["embedding"]) - 1.0) < 1e-4
    assert manifest["successRecordCount"] == 100
    assert manifest["outputTokenCount"] == 0
    assert manifest["inputTokenCount"] >= sum(len(t) // 4 for t in texts)


# --- structured outputs ----------------------------------------------------------------------


def _text_blocks(out: dict[str, Any]) -> list[str]:
    return [b["text"] for b in out["content"] if b["type"] == "text"]


def test_claude_structured_outputs_answer_per_schema(local: LocalBedrock) -> None:
    strict_tool = {**WEATHER, "input_schema": CLOSED_WEATHER, "strict": True}
    records = [
        {"recordId": f"c{i}", "modelInput": claude(output_config={"format": json_format(CLOSED_ANSWER)}, messages=[{"role": "user", "content": f"spam {i}?"}])}
        for i in range(20)
    ] + [
        {"recordId": "deprecated", "modelInput": claude(output_format=json_format(CLOSED_ANSWER))},
        {"recordId": "strict", "modelInput": claude(tools=[strict_tool], tool_choice={"type": "any"})},
    ]  # fmt: skip
    lines, _ = _run(local, SONNET45, records)
    for record in records[:-1]:
        out = lines[record["recordId"]]["modelOutput"]
        (text,) = _text_blocks(out)
        jsonschema.validate(json.loads(text), CLOSED_ANSWER)
        assert out["stop_reason"] == "end_turn" and out["usage"]["output_tokens"] > 0
    assert len({_text_blocks(lines[f"c{i}"]["modelOutput"])[0] for i in range(20)}) > 1
    out = lines["strict"]["modelOutput"]
    assert out["stop_reason"] == "tool_use"
    jsonschema.validate(out["content"][0]["input"], CLOSED_WEATHER)
    # the same on bedrock-runtime, and refused on a model without structured outputs
    runtime = local.client("bedrock-runtime")
    body = json.dumps(claude(output_config={"format": json_format(CLOSED_ANSWER)}))
    answer = json.loads(runtime.invoke_model(modelId=SONNET45, body=body)["body"].read())
    jsonschema.validate(json.loads(_text_blocks(answer)[0]), CLOSED_ANSWER)
    with pytest.raises(ClientError) as err:
        runtime.invoke_model(modelId=HAIKU3, body=body)
    assert "does not support structured outputs" in err.value.response["Error"]["Message"]


def test_response_format_answers_json_after_the_reasoning(local: LocalBedrock) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": CLOSED_ANSWER}}
    records = [
        {"recordId": f"o{i}", "modelInput": chat(response_format=fmt, seed=i)} for i in range(10)
    ]
    lines, _ = _run(local, GPT_OSS_20B, records)
    for record in records:
        content = lines[record["recordId"]]["modelOutput"]["choices"][0]["message"]["content"]
        assert REASONING.match(content)  # UNVERIFIED in this mode: a knob (reasoning_with_json)
        jsonschema.validate(json.loads(REASONING.sub("", content)), CLOSED_ANSWER)


def test_converse_text_format_answers_json_for_nova_2_lite(local: LocalBedrock) -> None:
    body = messages_body(outputConfig=output_config(json.dumps(CLOSED_ANSWER)))
    records = [{"recordId": f"n{i}", "modelInput": {**body, "system": [{"text": f"r{i}"}]}} for i in range(10)]  # fmt: skip
    lines, _ = _run(local, NOVA2, records, invocation="Converse")
    for record in records:
        block = lines[record["recordId"]]["modelOutput"]["output"]["message"]["content"][0]
        jsonschema.validate(json.loads(block["text"]), CLOSED_ANSWER)
    reply = local.client("bedrock-runtime").converse(modelId=NOVA2, **body)
    jsonschema.validate(json.loads(reply["output"]["message"]["content"][0]["text"]), CLOSED_ANSWER)
    # Nova 2 Lite only through a profile, on bedrock-runtime too
    with pytest.raises(ClientError) as err:
        local.client("bedrock-runtime").converse(modelId=NOVA2[3:], **body)
    assert ON_DEMAND_REFUSAL.match(err.value.response["Error"]["Message"])


# --- prompt caching --------------------------------------------------------------------------

LONG_SYSTEM = " ".join(f"rule {i}: answer politely and briefly." for i in range(200))


def _cached_claude(i: int) -> dict[str, Any]:
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    return claude(system=system, messages=[{"role": "user", "content": f"question {i}"}])


def _cached_converse(i: int) -> dict[str, Any]:
    system = [{"text": LONG_SYSTEM}, {"cachePoint": {"type": "default"}}]
    return messages_body(system=system, messages=[{"role": "user", "content": [{"text": f"q{i}"}]}])


def test_batch_cache_tokens_only_with_the_knob_on() -> None:
    records = [{"recordId": f"r{i:02d}", "modelInput": _cached_claude(i)} for i in range(30)]
    converse = [{"recordId": f"v{i:02d}", "modelInput": _cached_converse(i)} for i in range(30)]
    with LocalBedrock(clock="manual", default_quotas=Quotas(min_records_per_job=1)) as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        lines, manifest = _run(local, HAIKU35, records)
        conv, conv_manifest = _run(local, HAIKU35, converse, invocation="Converse", prefix="cv")
    for line in lines.values():
        assert set(line["modelOutput"]["usage"]) == {"input_tokens", "output_tokens"}
    for line in conv.values():
        usage = line["modelOutput"]["usage"]
        assert usage["cacheReadInputTokens"] is None and usage["cacheWriteInputTokenCount"] is None
    assert (
        "cacheReadInputTokenCount" not in manifest
        and "cacheReadInputTokenCount" not in conv_manifest
    )

    caching = PromptCaching(batch=True)
    with LocalBedrock(
        clock="manual", default_quotas=Quotas(min_records_per_job=1), prompt_caching=caching
    ) as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        lines, manifest = _run(local, HAIKU35, records)
        conv, conv_manifest = _run(local, HAIKU35, converse, invocation="Converse", prefix="cv")
        plain, plain_manifest = _run(local, HAIKU3, records, prefix="plain")
    writes = [
        r for r, ln in lines.items() if ln["modelOutput"]["usage"]["cache_creation_input_tokens"]
    ]
    reads = [r for r, ln in lines.items() if ln["modelOutput"]["usage"]["cache_read_input_tokens"]]
    assert writes == ["r00"] and sorted(reads) == [f"r{i:02d}" for i in range(1, 30)]
    cached = lines["r01"]["modelOutput"]["usage"]["cache_read_input_tokens"]
    assert cached >= 1024
    assert lines["r00"]["modelOutput"]["usage"]["cache_creation_input_tokens"] == cached
    assert manifest["cacheReadInputTokenCount"] == 29 * cached
    assert manifest["cacheWriteInputTokenCount"] == cached
    assert manifest["inputTokenCount"] == sum(
        ln["modelOutput"]["usage"]["input_tokens"] for ln in lines.values()
    )
    # Converse lines fill both spellings; the first record wrote the same prefix
    usage = [conv[f"v{i:02d}"]["modelOutput"]["usage"] for i in range(30)]
    assert usage[0]["cacheWriteInputTokens"] == usage[0]["cacheWriteInputTokenCount"] > 0
    assert all(u["cacheReadInputTokens"] == u["cacheReadInputTokenCount"] > 0 for u in usage[1:])
    assert conv_manifest["cacheReadInputTokenCount"] == sum(
        u["cacheReadInputTokens"] for u in usage
    )
    # a model without prompt caching: markers accepted, nothing cached
    assert all("cache_read_input_tokens" not in ln["modelOutput"]["usage"] for ln in plain.values())
    assert plain_manifest["cacheReadInputTokenCount"] == 0


def test_runtime_cache_tokens_and_short_prefixes() -> None:
    with LocalBedrock(clock="manual") as local:
        runtime = local.client("bedrock-runtime")
        body = json.dumps(_cached_claude(1))
        first = json.loads(runtime.invoke_model(modelId=HAIKU35, body=body)["body"].read())
        second = json.loads(runtime.invoke_model(modelId=HAIKU35, body=body)["body"].read())
        assert first["usage"]["cache_creation_input_tokens"] > 0
        assert first["usage"]["cache_read_input_tokens"] == 0
        assert (
            second["usage"]["cache_read_input_tokens"]
            == first["usage"]["cache_creation_input_tokens"]
        )
        # Nova's native body reports cacheRead/WriteInputTokenCount; Converse its own fields
        nova = {**_cached_converse(1), "schemaVersion": "messages-v1"}
        answers = [
            json.loads(
                runtime.invoke_model(modelId=NOVA_LITE, body=json.dumps(nova))["body"].read()
            )
            for _ in range(2)
        ]
        assert answers[0]["usage"]["cacheWriteInputTokenCount"] > 0
        assert (
            answers[1]["usage"]["cacheReadInputTokenCount"]
            == answers[0]["usage"]["cacheWriteInputTokenCount"]
        )
        reply = runtime.converse(modelId=NOVA_LITE, **_cached_converse(2))
        assert reply["usage"]["cacheReadInputTokens"] > 0  # the same prefix as the Nova body
        short = claude(
            system=[{"type": "text", "text": "brief", "cache_control": {"type": "ephemeral"}}]
        )
        small = json.loads(
            runtime.invoke_model(modelId=HAIKU35, body=json.dumps(short))["body"].read()
        )
        assert small["usage"]["cache_creation_input_tokens"] == 0  # under min_tokens
    with LocalBedrock(clock="manual", prompt_caching=PromptCaching(runtime=False)) as local:
        runtime = local.client("bedrock-runtime")
        answer = json.loads(runtime.invoke_model(modelId=HAIKU35, body=body)["body"].read())
        assert set(answer["usage"]) == {"input_tokens", "output_tokens"}


# --- Nova video by s3Location ----------------------------------------------------------------


def _video_body(uri: str) -> dict[str, Any]:
    video = {
        "video": {
            "format": "mp4",
            "source": {"s3Location": {"uri": uri, "bucketOwner": "123456789012"}},
        }
    }
    return {
        "schemaVersion": "messages-v1",
        "messages": [{"role": "user", "content": [video, {"text": "What happens?"}]}],
        "inferenceConfig": {"maxTokens": 200},
    }


@pytest.mark.parametrize(
    ("model_id", "invocation"), [(NOVA_LITE, "InvokeModel"), (NOVA2, "Converse")]
)
def test_nova_video_by_s3_location_must_exist(
    local: LocalBedrock, model_id: str, invocation: str
) -> None:
    s3 = local.client("s3")
    s3.put_object(Bucket=BUCKET, Key="video/clip.mp4", Body=b"\x00\x00\x00\x18ftypmp42")
    records = [
        {"recordId": "there", "modelInput": _video_body(f"s3://{BUCKET}/video/clip.mp4")},
        {"recordId": "missing", "modelInput": _video_body(f"s3://{BUCKET}/video/gone.mp4")},
    ]
    if invocation == "Converse":
        for record in records:
            del record["modelInput"]["schemaVersion"]
    lines, manifest = _run(local, model_id, records, invocation=invocation, prefix="video")
    assert "modelOutput" in lines["there"]
    assert lines["missing"]["error"] == {
        "errorCode": 400,
        "errorMessage": f"The S3 object s3://{BUCKET}/video/gone.mp4 does not exist or cannot be read.",
        "expired": False,
        "retryable": False,
    }
    assert (manifest["successRecordCount"], manifest["errorRecordCount"]) == (1, 1)


def test_service_quotas_only_for_models_with_known_quota_names() -> None:
    with LocalBedrock(clock="manual") as local:
        quotas = local.client("service-quotas")
        names = {
            q["QuotaName"]
            for page in quotas.get_paginator("list_service_quotas").paginate(ServiceCode="bedrock")
            for q in page["Quotas"]
        }
    assert "Records per batch inference job for OpenAI GPT OSS 120b" in names
    assert "Records per batch inference job for Qwen3 Coder 30B" in names
    assert not any("Nova 2" in n or "Sonnet 4.5" in n or "Llama 4" in n for n in names)


def test_local_serve_flags_set_the_prompt_caching_knob() -> None:
    import argparse

    from bedrock_batch.local._serve_cli import add_arguments, build

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    local = build(parser.parse_args(["--batch-prompt-caching", "--prompt-cache-min-tokens", "7"]))
    answerer = local.backend.data.answerer
    assert answerer.batch_cache is not None and answerer.batch_cache.min_tokens == 7
    default = build(parser.parse_args([])).backend.data.answerer
    assert default.batch_cache is None and default.runtime_cache is not None

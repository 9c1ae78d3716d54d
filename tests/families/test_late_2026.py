"""The late-2026 client families (facts §12.1, §12.2): OpenAI chat completions (gpt-oss, Qwen3,
DeepSeek V3.1) and Nova 2 multimodal embeddings — their builders (bodies pass their own
family's check), their readers on the facts' documented output shapes, the undated and ``-1:0``
model ids in every spelling, and ``plan()``'s warning on a model whose batch support is
UNVERIFIED. The end-to-end batches at the bottom run through Local Bedrock's emulated
families (they need the emulator's side of issue 17)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import ValidationError, family_of
from bedrock_batch._catalog import CATALOG, lookup_model, model_problem
from bedrock_batch._families._builders import build_embedding, build_prompt
from bedrock_batch._families._nova_embed import NOVA_EMBED, PURPOSES
from bedrock_batch._families._openai_chat import OPENAI_CHAT, OpenAIChatFamily, split_reasoning
from bedrock_batch._families._registry import family_for, get
from bedrock_batch._families._usage import Usage
from bedrock_batch._reader._results import Result
from bedrock_batch.local import LocalBedrock

from ..conftest import job_on

GPT_OSS = "openai.gpt-oss-120b-1:0"
QWEN = "qwen.qwen3-32b-v1:0"
DEEPSEEK = "deepseek.v3-v1:0"
NOVA_EMBED_ID = "amazon.nova-2-multimodal-embeddings-v1:0"
UNDATED = ("anthropic.claude-sonnet-4-6", "anthropic.claude-opus-4-6-v1")

#: A chat.completion as the facts document it (§12.2), with gpt-oss's leading reasoning.
CHAT_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_767_225_600,
    "model": GPT_OSS,
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "<reasoning>The user wants a city.\nKyoto fits.</reasoning>Kyoto",
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
}
TOOL_CALL_COMPLETION: dict[str, Any] = {
    **CHAT_COMPLETION,
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "answer", "arguments": '{"city": "Kyoto"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
}
#: Nova multimodal embeddings' answer (§12.2, REPORTED): no token count in the body.
NOVA_EMBEDDING = {"embeddings": [{"embeddingType": "TEXT", "embedding": [0.25, -0.5, 0.125]}]}


# --- the registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", [GPT_OSS, "openai.gpt-oss-20b-1:0", QWEN, DEEPSEEK])
def test_the_chat_completion_models_resolve_to_openai_chat(model_id: str) -> None:
    for spelling in (model_id, f"arn:aws:bedrock:us-west-2::foundation-model/{model_id}"):
        assert family_of(spelling) == "openai-chat"
        assert family_for(spelling) is OPENAI_CHAT


def test_unlisted_ids_of_a_chat_completions_provider_resolve_by_prefix() -> None:
    """The catalogue's id-prefix table (issue 17's forward-compatible policy)."""
    assert family_of("qwen.qwen3-next-80b-a3b") == "openai-chat"
    assert family_of("openai.gpt-oss-999b-1:0") == "openai-chat"
    assert family_of("deepseek.r1-v1:0") is None  # R1 takes a completion body, not chat


def test_nova_embeddings_resolve_to_nova_embed_and_nova_2_lite_to_nova() -> None:
    assert family_for(NOVA_EMBED_ID) is NOVA_EMBED
    assert family_of("amazon.nova-2-lite-v1:0") == "nova"
    assert family_of("us.amazon.nova-2-lite-v1:0") == "nova"
    assert CATALOG[NOVA_EMBED_ID].is_embedding


@pytest.mark.parametrize("model_id", [*UNDATED, GPT_OSS, "openai.gpt-oss-20b-1:0"])
def test_undated_and_dash_one_ids_resolve_in_every_spelling(model_id: str) -> None:
    info = CATALOG[model_id]
    spellings = [
        model_id,
        f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
        f"us.{model_id}",
        f"global.{model_id}",
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{model_id}",
    ]
    for spelling in spellings:
        found, _ = lookup_model(spelling)
        assert found is info, spelling
        assert family_of(spelling) == info.family
        assert family_for(spelling) is get(info.family)
    profile = f"us.{model_id}"
    assert model_problem(profile, "us-east-1") is None
    if info.requires_profile:
        assert "inference profile" in (model_problem(model_id, "us-east-1") or "")
    # a typo still gets "did you mean" with the undated spelling
    typo = model_id[:12] + "x" + model_id[12:]
    problem = model_problem(typo, "us-east-1") or ""
    assert "did you mean" in problem and model_id in problem


# --- openai-chat: building and checking -----------------------------------------------------------


def test_openai_chat_body_is_developer_and_user_messages() -> None:
    body = build_prompt(
        "openai-chat", "Name a city.", system="Be brief.", max_tokens=50, temperature=0.3,
        top_p=0.9, stop_sequences=["END"],
    )  # fmt: skip
    assert body == {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Name a city."},
        ],
        "max_completion_tokens": 50,
        "temperature": 0.3,
        "top_p": 0.9,
        "stop": ["END"],
    }
    assert OPENAI_CHAT.check(body, CATALOG[GPT_OSS]) is None
    assert OPENAI_CHAT.requested_output_tokens(body, 4096) == 50
    assert OPENAI_CHAT.requested_output_tokens({"messages": [], "max_tokens": 7}, 4096) == 7
    with pytest.raises(ValidationError, match="no image"):
        build_prompt("openai-chat", "What is this?", images=[b"\x89PNG\r\n\x1a\n" + b"\0" * 8])


def test_openai_chat_check_refuses_a_model_mismatch_and_a_ceiling() -> None:
    model = CATALOG[GPT_OSS]
    body = build_prompt("openai-chat", "hi", max_tokens=5)
    assert OPENAI_CHAT.check({**body, "model": GPT_OSS}, model) is None
    assert "is not the model being invoked" in (
        OPENAI_CHAT.check({**body, "model": "openai.gpt-oss-20b-1:0"}, model) or ""
    )
    over = {**body, "max_completion_tokens": model.max_output_tokens + 1}
    assert "is not less or equal to" in (OPENAI_CHAT.check(over, model) or "")


_text = st.text(min_size=1, max_size=40).filter(lambda s: not s.isspace())


@given(
    prompt=_text,
    system=st.none() | _text,
    max_tokens=st.none() | st.integers(1, 32768),
    temperature=st.none() | st.floats(0, 2),
    top_p=st.none() | st.floats(0, 1),
    stops=st.none() | st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4),
)
def test_openai_chat_bodies_pass_their_own_check(
    prompt: str,
    system: str | None,
    max_tokens: int | None,
    temperature: float | None,
    top_p: float | None,
    stops: list[str] | None,
) -> None:
    body = build_prompt(
        "openai-chat", prompt, system=system, max_tokens=max_tokens, temperature=temperature,
        top_p=top_p, stop_sequences=stops,
    )  # fmt: skip
    assert OPENAI_CHAT.check(json.loads(json.dumps(body)), CATALOG[GPT_OSS]) is None


# --- openai-chat: reading ------------------------------------------------------------------------


def test_gpt_oss_text_strips_the_leading_reasoning_and_keeps_it_readable() -> None:
    assert OPENAI_CHAT.output_text(CHAT_COMPLETION) == "Kyoto"
    assert OPENAI_CHAT.output_reasoning(CHAT_COMPLETION) == "The user wants a city.\nKyoto fits."
    assert OPENAI_CHAT.stop_reason(CHAT_COMPLETION) == "stop"
    assert OPENAI_CHAT.output_usage(CHAT_COMPLETION) == Usage(21, 9)
    result = Result.from_output("r1", None, {"modelOutput": CHAT_COMPLETION}, None, "f:1", 0, OPENAI_CHAT)  # fmt: skip
    assert (result.text, result.reasoning, result.usage.total_tokens) == ("Kyoto", "The user wants a city.\nKyoto fits.", 30)  # fmt: skip
    keep = OpenAIChatFamily(strip_reasoning=False)  # the knob: the content as it came
    assert keep.output_text(CHAT_COMPLETION) == CHAT_COMPLETION["choices"][0]["message"]["content"]


def test_reasoning_is_stripped_only_when_it_leads() -> None:
    assert split_reasoning("Kyoto <reasoning>late</reasoning>") == (None, "Kyoto <reasoning>late</reasoning>")  # fmt: skip
    assert split_reasoning("  <reasoning>a</reasoning>\n\n{}") == ("a", "{}")
    assert split_reasoning("no reasoning") == (None, "no reasoning")


def test_openai_chat_reads_tool_calls_finish_reason_and_cached_tokens() -> None:
    assert OPENAI_CHAT.tool_input(TOOL_CALL_COMPLETION, "answer") == (True, {"city": "Kyoto"})
    assert OPENAI_CHAT.tool_input(TOOL_CALL_COMPLETION, "other") == (False, None)
    assert OPENAI_CHAT.stop_reason(TOOL_CALL_COMPLETION) == "tool_calls"
    assert OPENAI_CHAT.output_text(TOOL_CALL_COMPLETION) == ""
    cached = {**CHAT_COMPLETION, "usage": {**CHAT_COMPLETION["usage"], "prompt_tokens_details": {"cached_tokens": 16}}}  # fmt: skip
    assert OPENAI_CHAT.output_usage(cached) == Usage(21, 9, cache_read_tokens=16)
    assert not OPENAI_CHAT.output_usage({"choices": []}).known


# --- nova-embed ----------------------------------------------------------------------------------


def test_nova_embedding_bodies_default_to_3072_and_generic_index() -> None:
    body = build_embedding("nova-embed", "a red bicycle")
    assert body == {
        "schemaVersion": "nova-multimodal-embed-v1",
        "taskType": "SINGLE_EMBEDDING",
        "singleEmbeddingParams": {
            "embeddingPurpose": "GENERIC_INDEX",
            "embeddingDimension": 3072,
            "text": {"truncationMode": "END", "value": "a red bicycle"},
        },
    }
    image = build_embedding("nova-embed", image=b"\x89PNG\r\n\x1a\n" + b"\0" * 8, dimensions=256, purpose="IMAGE_RETRIEVAL")  # fmt: skip
    params = image["singleEmbeddingParams"]
    assert params["image"]["format"] == "png" and params["embeddingDimension"] == 256
    assert params["embeddingPurpose"] == "IMAGE_RETRIEVAL" and "text" not in params
    assert NOVA_EMBED.check(image, CATALOG[NOVA_EMBED_ID]) is None
    for bad in (
        lambda: build_embedding("nova-embed", "x", dimensions=512),
        lambda: build_embedding("nova-embed", "x", normalize=True),
        lambda: build_embedding("nova-embed", "x", purpose="SEARCH"),
        lambda: build_embedding("nova-embed"),
        lambda: build_embedding("nova-embed", "   "),
        lambda: build_embedding("titan-embed-text", "x", purpose="GENERIC_INDEX"),
    ):
        with pytest.raises(ValidationError):
            bad()


@given(
    text=_text,
    dimensions=st.none() | st.sampled_from([256, 384, 1024, 3072]),
    purpose=st.none() | st.sampled_from(PURPOSES),
)
def test_nova_embedding_bodies_pass_their_own_check(
    text: str, dimensions: int | None, purpose: str | None
) -> None:
    body = build_embedding("nova-embed", text, dimensions=dimensions, purpose=purpose)
    assert NOVA_EMBED.check(body, CATALOG[NOVA_EMBED_ID]) is None


def test_nova_embedding_answers_read_a_vector_and_unknown_usage() -> None:
    assert NOVA_EMBED.output_embedding(NOVA_EMBEDDING) == [0.25, -0.5, 0.125]
    assert NOVA_EMBED.output_text(NOVA_EMBEDDING) is None
    assert NOVA_EMBED.output_usage(NOVA_EMBEDDING) == Usage(known=False)
    assert NOVA_EMBED.output_embedding({"embeddings": []}) is None


# --- plan() ------------------------------------------------------------------------------------------


def test_plan_warns_on_a_model_whose_batch_support_is_unverified(
    local: LocalBedrock, caplog: pytest.LogCaptureFixture
) -> None:
    unverified = [m for m in CATALOG.values() if m.batch_support == "UNVERIFIED" and not m.is_embedding]  # fmt: skip
    assert {"anthropic.claude-sonnet-4-6", "anthropic.claude-opus-4-6-v1"} <= {m.model_id for m in unverified}  # fmt: skip
    job = job_on(local, "us.anthropic.claude-sonnet-4-6", mode="batch", allow_unknown_model=False)
    for i in range(120):
        job.add_prompt(f"Say {i}", max_tokens=10)
    with caplog.at_level(logging.WARNING, logger="bedrock_batch"):
        plan = job.plan()
    assert len(plan.warnings) == 1 and "UNVERIFIED" in plan.warnings[0]
    assert "Claude Sonnet 4.6" in plan.warnings[0] and plan.warnings[0] in str(plan)
    assert [r.getMessage() for r in caplog.records if "UNVERIFIED" in r.getMessage()] == list(plan.warnings)  # fmt: skip
    verified = job_on(local, "us.anthropic.claude-haiku-4-5-20251001-v1:0", mode="batch")
    for i in range(120):
        verified.add_prompt(f"Say {i}", max_tokens=10)
    assert verified.plan().warnings == ()


# --- end to end through Local Bedrock (needs the emulator's openai-chat and nova-embed) ------------


@pytest.mark.parametrize("model_id", [GPT_OSS, QWEN, DEEPSEEK])
def test_a_chat_completions_batch_comes_back_joined(local: LocalBedrock, model_id: str) -> None:
    job = job_on(local, model_id)
    for i in range(120):
        job.add_prompt(f"Name city {i}.", system="Be brief.", max_tokens=64, key=i)
    job.run()
    results = list(job.results())
    assert sorted(r.key for r in results) == list(range(120))
    assert all(r.ok and r.text and "<reasoning>" not in r.text for r in results)
    assert all(r.usage.known and r.usage.input_tokens > 0 and r.usage.output_tokens > 0 for r in results)  # fmt: skip
    if model_id == GPT_OSS:  # gpt-oss's reasoning is kept apart (REPORTED)
        assert all(r.reasoning for r in results)
    assert job.summary().succeeded == 120


def test_a_nova_embeddings_batch_comes_back_with_vectors_of_the_asked_dimension(
    local: LocalBedrock,
) -> None:
    job = job_on(local, NOVA_EMBED_ID)
    for i in range(120):
        job.add_embedding(f"text {i}", dimensions=384, purpose="TEXT_RETRIEVAL", key=i)
    job.run()
    results = list(job.results())
    assert all(r.ok and r.embedding is not None and len(r.embedding) == 384 for r in results)
    summary = job.summary()
    assert summary.succeeded == 120 and summary.usage.input_tokens > 0  # the manifest's counts

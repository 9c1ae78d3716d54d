"""Pure pieces: the JSONL decoder, sharding, record builders, family resolution."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import ValidationError, family_of
from bedrock_batch._batch._sharding import plan_shards
from bedrock_batch._catalog import CATALOG, base_model_id
from bedrock_batch._common._codec import encode_line as dumps_line
from bedrock_batch._common._codec import iter_lines
from bedrock_batch._common._s3uri import S3Uri
from bedrock_batch._families._builders import build_embedding, build_prompt
from bedrock_batch._families._schemas import check_model_input

tricky_text = st.text(
    alphabet=st.sampled_from(["a", "日", "\u2028", "\u0085", "\r", "\n", '"', "\\", "é", "😀"]),
    max_size=30,
)


@given(
    texts=st.lists(tricky_text, min_size=1, max_size=20),
    cuts=st.lists(st.integers(1, 50), max_size=30),
)
def test_decoder_splits_on_newline_only_across_any_chunking(
    texts: list[str], cuts: list[int]
) -> None:
    data = b"".join(dumps_line({"recordId": str(i), "t": t}) for i, t in enumerate(texts))
    chunks, pos = [], 0
    for c in cuts:
        chunks.append(data[pos : pos + c])
        pos += c
    chunks.append(data[pos:])
    decoded = [json.loads(line) for _, line in iter_lines(chunks)]
    assert [d["t"] for d in decoded] == texts


def test_decoder_reports_truncated_last_line_and_line_numbers() -> None:
    lines = list(iter_lines([b'{"a":1}\n\n{"b":2}\r\n{"c":', b"3"]))
    assert [n for n, _ in lines] == [1, 3, 4]
    assert lines[-1][1] == b'{"c":3'


def test_dumps_line_is_compact_raw_utf8() -> None:
    assert dumps_line({"t": "日本\u2028"}) == '{"t":"日本\u2028"}\n'.encode()


@given(
    sizes=st.lists(st.integers(1, 500), max_size=300),
    max_records=st.integers(1, 50),
    max_bytes=st.integers(1, 3000),
)
def test_sharding_covers_every_record_once_within_limits(
    sizes: list[int], max_records: int, max_bytes: int
) -> None:
    shards = plan_shards(sizes, max_records, max_bytes)
    assert [i for s in shards for i in range(s.start, s.end)] == list(range(len(sizes)))
    for s in shards:
        assert s.size == sum(sizes[s.start : s.end])
        assert 1 <= s.records <= max_records
        assert s.size <= max_bytes or s.records == 1  # only a lone oversize record may exceed
    assert [s.index for s in shards] == list(range(len(shards)))


def test_sharding_rejects_bad_limits() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_shards([1], 0, 10)


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic"),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic"),
        ("apac.amazon.nova-pro-v1:0", "nova"),
        ("eu.meta.llama3-2-3b-instruct-v1:0", "llama"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
            "titan-embed-text",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.mistral.mistral-large-2407-v1:0",
            "mistral",
        ),
        ("amazon.titan-embed-image-v1", "titan-embed-image"),
        ("amazon.titan-text-premier-v1:0", "titan-text"),
        ("anthropic.claude-future-9-v1:0", "anthropic"),
        ("cohere.command-r-v1:0", None),
    ],
)
def test_family_resolution(model_id: str, family: str | None) -> None:
    assert family_of(model_id) == family


def test_base_model_id() -> None:
    assert base_model_id("us.amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"


GEN = [(m.model_id, m) for m in CATALOG.values() if not m.is_embedding]


@pytest.mark.parametrize(("model_id", "info"), GEN, ids=[m for m, _ in GEN])
@given(
    prompt=st.text(min_size=1, max_size=50).filter(str.strip),
    system=st.none() | st.text(min_size=1, max_size=20),
    max_tokens=st.none() | st.integers(1, 2048),
    temperature=st.none() | st.floats(0, 1),
    converse=st.booleans(),
)
def test_every_builder_output_passes_its_family_check(
    model_id: str,
    info: Any,
    prompt: str,
    system: str | None,
    max_tokens: int | None,
    temperature: float | None,
    converse: bool,
) -> None:
    kind = "Converse" if converse else "InvokeModel"
    body = build_prompt(
        info.family,
        prompt,
        invocation_type=kind,
        system=system,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    assert check_model_input(body, info.family, invocation_type=kind, model=info) is None


@given(
    text=st.text(min_size=1, max_size=40),
    dims=st.sampled_from([None, 256, 512, 1024]),
    norm=st.none() | st.booleans(),
)
def test_embedding_builder_passes_check(text: str, dims: int | None, norm: bool | None) -> None:
    if not text.strip():
        with pytest.raises(ValidationError, match="non-blank"):
            build_embedding("titan-embed-text", text, dimensions=dims, normalize=norm)
        return
    body = build_embedding("titan-embed-text", text, dimensions=dims, normalize=norm)
    assert check_model_input(body, "titan-embed-text") is None


KNOWN_KEYS = [
    "anthropic_version", "max_tokens", "messages", "role", "content", "type", "text", "source", "media_type", "data",
    "id", "name", "input", "tool_use_id", "system", "temperature", "top_p", "top_k", "stop_sequences", "tools",
    "tool_choice", "input_schema", "thinking", "inputText", "textGenerationConfig", "maxTokenCount", "inputImage",
    "embeddingConfig", "outputEmbeddingLength", "dimensions", "normalize", "prompt", "max_gen_len", "schemaVersion",
    "inferenceConfig", "maxTokens", "max_new_tokens", "toolConfig", "toolSpec", "inputSchema", "json", "toolChoice",
    "tool", "image", "format", "bytes", "s3Location", "uri", "video", "document", "toolUse", "toolResult", "toolUseId",
    "additionalModelRequestFields", "outputConfig", "embeddingTypes", "topP", "stopSequences",
]  # fmt: skip


@given(body=st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=5), max_size=4))
def test_checks_never_crash_and_flag_arbitrary_bodies(body: dict[str, Any]) -> None:
    for family in (
        "anthropic",
        "titan-text",
        "titan-embed-text",
        "titan-embed-image",
        "llama",
        "mistral",
        "nova",
    ):
        result = check_model_input(body, family)  # type: ignore[arg-type]
        assert result is None or isinstance(result, str)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.floats(allow_nan=False) | st.text(max_size=4)
    | st.sampled_from(["user", "assistant", "text", "image", "tool_use", "tool_result", "base64", "image/png", "bedrock-2023-05-31"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KNOWN_KEYS), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


BASES: dict[str, dict[str, Any]] = {
    "anthropic": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
    "titan-text": {"inputText": "x"},
    "titan-embed-text": {"inputText": "x"},
    "titan-embed-image": {"inputText": "x"},
    "llama": {"prompt": "x"},
    "mistral": {"prompt": "x"},
    "nova": {"messages": [{"role": "user", "content": [{"text": "x"}]}]},
    "converse": {"messages": [{"role": "user", "content": [{"text": "x"}]}]},
}  # fmt: skip


@given(st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=4), st.sampled_from(sorted(BASES)), st.booleans())  # fmt: skip
def test_checks_never_crash_on_nested_json(
    overlay: dict[str, Any], family: str, on_demand: bool
) -> None:
    """Any JSON at the keys the checkers look at, over a valid body of the family (so the
    checks get past the required fields), gives a message or None, never an exception."""
    body = {**BASES[family], **overlay}
    kind = "Converse" if family == "converse" else "InvokeModel"
    fam = None if family == "converse" else family
    result = check_model_input(body, fam, invocation_type=kind, on_demand=on_demand)  # type: ignore[arg-type]
    assert result is None or isinstance(result, str)


def test_s3uri_parse_and_join() -> None:
    uri = S3Uri.parse("s3://bkt/a/b")
    assert uri.prefix == "a/b/"
    assert str(uri.join("c", "d.jsonl")) == "s3://bkt/a/b/c/d.jsonl"
    assert S3Uri.parse("s3://bkt").prefix == ""
    for bad in ("http://x/y", "s3://Upper/x", "s3://b", "s3://bkt/with space"):
        with pytest.raises(ValueError):
            S3Uri.parse(bad)

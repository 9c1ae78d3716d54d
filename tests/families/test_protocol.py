"""Every registered client family implements every part of the protocol: a real call per part,
on a valid base body, with real outputs from Local Bedrock's bedrock-runtime."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bedrock_batch import ValidationError
from bedrock_batch._catalog import CATALOG, ModelInfo
from bedrock_batch._families._protocol import ClientFamily, S3Media
from bedrock_batch._families._registry import registered
from bedrock_batch._families._usage import Usage
from bedrock_batch.local import LocalBedrock

FAMILIES = registered()
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def model_of(family: ClientFamily) -> ModelInfo:
    """A catalogue model the family serves (any text model for the Converse family)."""
    if family.invocation_type == "Converse":
        return next(m for m in CATALOG.values() if not m.is_embedding and not m.requires_profile)
    return next(m for m in CATALOG.values() if m.family == family.name)


def attempt(call: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """(what ``call`` built, "") or (None, the ValidationError's message)."""
    try:
        return call(), ""
    except ValidationError as err:
        return None, str(err)


def runtime_id(model: ModelInfo) -> str:
    return f"us.{model.model_id}" if model.requires_profile else model.model_id


def base_body(family: ClientFamily) -> dict[str, Any]:
    """The family's own valid body: a prompt, or an embedding for an embeddings family."""
    if family.embedding:
        return family.build_embedding("a red bicycle", image=None, dimensions=None, normalize=None)
    return family.build_prompt(
        "Name a city.", system="Be brief.", max_tokens=77, temperature=0.5, top_p=None,
        stop_sequences=None, images=(),
    )  # fmt: skip


@pytest.fixture(scope="module")
def runtime() -> Iterator[Any]:
    with LocalBedrock(clock="manual") as local:
        yield local.client("bedrock-runtime")


def answer(runtime: Any, family: ClientFamily, body: dict[str, Any]) -> Any:
    """The modelOutput Local Bedrock's bedrock-runtime gives this body (Converse: its response)."""
    model = runtime_id(model_of(family))
    if family.invocation_type == "Converse":
        response = dict(runtime.converse(modelId=model, **body))
        response.pop("ResponseMetadata", None)
        return response
    return json.loads(runtime.invoke_model(modelId=model, body=json.dumps(body))["body"].read())


def test_the_registry_holds_every_catalogue_family_and_converse() -> None:
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    assert {m.family for m in CATALOG.values()} <= set(names)
    assert any(f.invocation_type == "Converse" for f in FAMILIES)


@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
class TestEveryPart:
    def test_builds_bodies_its_own_check_accepts(self, family: ClientFamily) -> None:
        model = model_of(family)
        body = base_body(family)
        assert family.check(body, model) is None
        if family.embedding:
            with pytest.raises(ValidationError, match="add_embedding"):
                family.build_prompt("hi", system=None, max_tokens=None, temperature=None, top_p=None, stop_sequences=None, images=())  # fmt: skip
        else:
            with pytest.raises(ValidationError, match="embedding model"):
                family.build_embedding("hi", image=None, dimensions=None, normalize=None)

    def test_images_are_built_or_refused_clearly(self, family: ClientFamily) -> None:
        if family.embedding:
            return  # embeddings take an image through build_embedding (below)
        body, refused = attempt(
            lambda: family.build_prompt(
                "What is this?",
                system=None,
                max_tokens=50,
                temperature=None,
                top_p=None,
                stop_sequences=None,
                images=[("png", "AAAA")],
            )
        )
        if body is None:
            assert "image" in refused.lower()
        else:
            assert "AAAA" in json.dumps(body)
            assert family.check(body, model_of(family)) is None

    def test_slots_raise_a_clear_error_until_built(self, family: ClientFamily) -> None:
        body = base_body(family)
        media = S3Media("s3://bkt/in/doc.pdf", "pdf", "doc")
        for call in (
            lambda: family.add_documents(dict(body), [media]),
            lambda: family.add_videos(dict(body), [S3Media("s3://bkt/in/v.mp4", "mp4")]),
            lambda: family.native_structured_output(SCHEMA, "answer", model_of(family)),
        ):
            built, refused = attempt(call)
            if built is None:
                assert "not supported by this family yet" in refused
            else:  # a family that built the slot: its own check accepts the result
                native = [m for m in CATALOG.values() if m.family == family.name and m.native_structured_outputs]  # fmt: skip
                assert family.check({**body, **built}, (native or [model_of(family)])[0]) is None

    def test_checks_refuse_what_the_service_refuses(self, family: ClientFamily) -> None:
        message = family.check({}, model_of(family))
        assert isinstance(message, str) and message

    def test_requested_output_tokens(self, family: ClientFamily) -> None:
        tokens = family.requested_output_tokens(base_body(family), 4096)
        assert tokens == (0 if family.embedding else 77)

    def test_s3_locations(self, family: ClientFamily) -> None:
        assert list(family.s3_locations(base_body(family))) == []

    def test_forced_tool_round_trip(self, family: ClientFamily, runtime: Any) -> None:
        body = base_body(family)
        assert family.requested_tool(body) is None
        fields, refused = attempt(lambda: family.forced_tool(SCHEMA, "answer", "Report the city."))
        if fields is None:
            assert "cannot be made to answer with a tool" in refused
            return
        forced = {**body, **fields}
        on_demand = family.invocation_type == "Converse"  # Converse batch refuses toolConfig
        assert family.check(forced, model_of(family), on_demand=on_demand) is None
        assert family.requested_tool(forced) == ("answer", SCHEMA)
        called, value = family.tool_input(answer(runtime, family, forced), "answer")
        assert called and isinstance(value, dict) and isinstance(value.get("city"), str)

    def test_reads_its_outputs(self, family: ClientFamily, runtime: Any) -> None:
        output = answer(runtime, family, base_body(family))
        usage = family.output_usage(output)
        assert isinstance(usage, Usage)
        assert family.tool_input(output, "answer") == (False, None)
        if family.embedding:
            assert family.output_text(output) is None
            assert family.stop_reason(output) is None
            embedding = family.output_embedding(output)
            assert embedding and all(isinstance(x, float) for x in embedding)
        else:
            text = family.output_text(output)
            assert isinstance(text, str) and text
            assert isinstance(family.stop_reason(output), str)
            assert family.output_embedding(output) is None
        if usage.known:
            assert usage.input_tokens > 0
        else:  # a family whose outputs carry no counts says so: unknown, never a plain 0
            assert usage == Usage(0, 0, known=False)

    def test_readers_take_any_decoded_json(self, family: ClientFamily) -> None:
        for odd in (None, 3, "x", [], {}, {"content": 5, "results": [1], "choices": [None]}):
            assert family.output_text(odd) is None or isinstance(family.output_text(odd), str)
            assert family.output_embedding(odd) is None
            assert family.stop_reason(odd) is None
            assert family.tool_input(odd, "answer") == (False, None)
            assert isinstance(family.output_usage(odd), Usage)

    def test_token_estimate(self, family: ClientFamily) -> None:
        assert family.estimate_tokens("") == 0
        short, long = family.estimate_tokens("a city"), family.estimate_tokens("a city " * 50)
        assert 0 < short < long

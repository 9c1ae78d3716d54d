"""Local Bedrock's nova-embed answers and counts beyond the golden table: the input tokens it
reports (a text's estimate, capped at 8,192; a fixed count per media input), and bodies it is
told not to check (``validate_inputs=False``) answered without a crash."""

from __future__ import annotations

from typing import Any

import pytest

from bedrock_batch._catalog import lookup_model
from bedrock_batch.local._families._context import RecordContext
from bedrock_batch.local._families._nova_embed import MEDIA_TOKENS, NovaEmbed, input_tokens

from ..golden_bodies import NOVA_EMBED, ne_params, nova_embed


@pytest.mark.parametrize(
    ("body", "tokens"),
    [
        (nova_embed(text={"value": "word " * 100}), 125),
        (nova_embed(text={"value": "word " * 20_000, "truncationMode": "END"}), 8192),
        (ne_params(image={"format": "png", "source": {"bytes": "AAAA"}}), MEDIA_TOKENS),
        ({"singleEmbeddingParams": "not an object"}, 0),
        ({}, 0),
    ],
)
def test_input_tokens(body: dict[str, Any], tokens: int) -> None:
    assert input_tokens(body) == tokens
    family = NovaEmbed()
    info = lookup_model(NOVA_EMBED)[0]
    assert info is not None
    answer = family.answer(RecordContext("r", NOVA_EMBED, info, "InvokeModel", body))
    assert family.usage(body, answer) == (tokens, 0)
    assert family.usage(body, {"message": "refused"}) == (0, 0)
    kind = answer["embeddings"][0]["embeddingType"]
    assert kind == ("IMAGE" if "image" in str(body) else "TEXT")

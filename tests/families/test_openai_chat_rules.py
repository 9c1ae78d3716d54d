"""An openai-chat rule no catalogue row reaches: ``response_format`` (other than ``text``) on a
model whose catalogue row says it has no native structured outputs is refused alike by the
client and Local Bedrock (no such model is in the catalogue today: the open-weight rows are
True or UNVERIFIED)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from bedrock_batch._catalog import lookup_model
from bedrock_batch._families._schemas import check_model_input
from bedrock_batch.local._families._rules import check_body

from ..golden_bodies import GPT_OSS, RESPONSE_FORMAT, chat

REFUSED = "This model doesn't support the response_format field."


@pytest.mark.parametrize(
    ("response_format", "error"),
    [
        (RESPONSE_FORMAT, REFUSED),
        ({"type": "json_object"}, REFUSED),
        ({"type": "text"}, None),
    ],
)
@pytest.mark.parametrize("native", [False, True, None])
def test_response_format_needs_native_outputs_on_both_sides(
    response_format: dict[str, Any], error: str | None, native: bool | None
) -> None:
    info = lookup_model(GPT_OSS)[0]
    assert info is not None
    model = attrs.evolve(info, native_structured_outputs=native)
    body = chat(response_format=response_format)
    expected = error if native is False else None
    client = check_model_input(body, model.family, invocation_type="InvokeModel", model=model)
    assert client == expected
    assert check_body(body, model, "InvokeModel") == expected

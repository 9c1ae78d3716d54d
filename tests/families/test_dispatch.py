"""Dispatch through the registry: by family name, by family object and by model id (any
spelling) gives the same bodies, checks and readings; and a family's builder makes only bodies
its own check accepts, for random parameters."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import ValidationError
from bedrock_batch._catalog import CATALOG
from bedrock_batch._families._builders import build_prompt
from bedrock_batch._families._outputs import output_text, output_usage
from bedrock_batch._families._registry import family_for
from bedrock_batch._families._schemas import check_model_input, requested_output_tokens

MODELS = sorted(CATALOG)
text = st.text(min_size=1, max_size=30).filter(lambda s: not s.isspace())
params = st.fixed_dictionaries(
    {
        "system": st.none() | text,
        "max_tokens": st.none() | st.integers(1, 3000),
        "temperature": st.none() | st.floats(0, 1),
        "top_p": st.none() | st.floats(0, 1),
        "stop_sequences": st.none() | st.lists(text, max_size=2),
    }
)
invocations = st.sampled_from(["InvokeModel", "Converse"])


@given(model_id=st.sampled_from(MODELS), prompt=text, kw=params, invocation=invocations)
def test_every_way_to_name_a_family_builds_and_checks_the_same(
    model_id: str, prompt: str, kw: dict[str, Any], invocation: str
) -> None:
    info = CATALOG[model_id]
    family = family_for(f"us.{model_id}", invocation)
    assert family is not None
    made: list[Any] = []
    for how in (info.family, family):
        try:
            made.append(build_prompt(how, prompt, invocation_type=invocation, **kw))
        except ValidationError as err:
            made.append(str(err))
    assert made[0] == made[1]
    body = made[0]
    if isinstance(body, str):
        return  # the family cannot express these parameters: said the same way both times
    by_name = check_model_input(body, info.family, invocation_type=invocation, model=info)
    assert by_name == family.check(body, info)
    if by_name is None:
        asked = requested_output_tokens(body, info.family, invocation_type=invocation, default=-1)
        assert asked == (kw["max_tokens"] if kw["max_tokens"] is not None else asked)
    else:  # only a limit of the model (beyond the family's shapes) may refuse a built body
        over = kw["max_tokens"] is not None and kw["max_tokens"] > info.max_output_tokens
        both = kw["temperature"] is not None and kw["top_p"] is not None
        assert over or (info.exclusive_sampling and both) or info.is_embedding, by_name


KEYS = st.sampled_from(
    ["content", "usage", "results", "choices", "output", "generation", "text", "type", "message",
     "inputTokens", "input_tokens", "prompt_token_count"]
)  # fmt: skip
outputs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@given(model_id=st.sampled_from(MODELS), output=outputs, invocation=invocations)
def test_readers_dispatch_the_same_by_name_and_by_object(
    model_id: str, output: Any, invocation: str
) -> None:
    family = family_for(model_id, invocation)
    assert family is not None
    name = CATALOG[model_id].family
    assert output_text(output, name, invocation) == family.output_text(output)
    usage = output_usage(output, name, invocation)
    assert usage == (family.output_usage(output) if isinstance(output, dict) else usage)

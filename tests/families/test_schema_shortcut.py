"""The shortcut for plain Claude conversations never accepts what the full check refuses."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bedrock_batch._catalog import CATALOG
from bedrock_batch._families._anthropic import (
    ANTHROPIC_VERSION,
    _anthropic,
    _anthropic_plain,
)
from bedrock_batch._families._builders import build_prompt

from ..conftest import examples

MODELS = [None, *(m for m in CATALOG.values() if m.family == "anthropic")][:6]

odd = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=True),
    st.text(max_size=3), st.lists(st.text(max_size=2), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)  # fmt: skip


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, else an odd value: most bodies are near-valid."""
    return st.integers(0, 9).flatmap(lambda k: odd if k == 0 else good)


text_block = st.fixed_dictionaries(
    {"type": mostly(st.just("text")), "text": mostly(st.text(min_size=1, max_size=4))},
    optional={"cache_control": st.just({"type": "ephemeral"})},
)  # fmt: skip
content = mostly(st.one_of(st.text(max_size=5), st.lists(text_block, max_size=3)))


@st.composite
def conversations(draw: st.DrawFn) -> Any:
    n = draw(st.integers(1, 4))
    messages: list[Any] = []
    for i in range(n):
        role = draw(mostly(st.just("user" if i % 2 == 0 else "assistant")))
        msg = {"role": role, "content": draw(content)}
        if draw(st.integers(0, 9)) == 0:
            msg["name"] = "x"
        messages.append(msg)
    return messages


bodies = st.fixed_dictionaries(
    {
        "anthropic_version": mostly(st.just(ANTHROPIC_VERSION)),
        "max_tokens": mostly(st.integers(1, 70000) | st.sampled_from([1, 4096, 4097, 8192, 8193, 64000, 64001])),
        "messages": mostly(conversations()),
    },
    optional={
        "system": mostly(st.one_of(st.text(max_size=4), st.lists(st.just({"type": "text", "text": "s"}), max_size=1))),
        "temperature": mostly(st.floats(0, 1)),
        "top_p": mostly(st.floats(0, 1)),
        "top_k": mostly(st.integers(0, 500)),
        "stop_sequences": mostly(st.lists(st.text(max_size=2), max_size=2)),
        "tools": st.just([]),
        "metadata": odd,
    },
)  # fmt: skip


@settings(
    max_examples=examples(300)
)  # with the @examples below; 1000 took 11 s for no more findings
@given(bodies, st.sampled_from(MODELS))
@example({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "stop_sequences": ("a",)}, None)  # fmt: skip
@example({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": True, "messages": [{"role": "user", "content": "x"}]}, None)  # fmt: skip
@example({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "temperature": math.nan}, None)  # fmt: skip
def test_the_shortcut_accepts_only_what_the_full_check_accepts(
    body: dict[str, Any], model: Any
) -> None:
    if _anthropic_plain(body, model):
        assert _anthropic(body, model) is None


@given(
    st.text(min_size=1, max_size=40).filter(str.strip),
    st.one_of(st.none(), st.text(min_size=1, max_size=10)),
    st.integers(1, 4096),
    st.one_of(st.none(), st.floats(0, 1)),
    st.sampled_from(MODELS[1:]),
)
def test_what_the_builder_makes_takes_the_shortcut(
    prompt: str, system: str | None, max_tokens: int, temperature: float | None, model: Any
) -> None:
    body = build_prompt(
        "anthropic", prompt, system=system, max_tokens=max_tokens, temperature=temperature
    )
    assert _anthropic(body, model) is None
    assert _anthropic_plain(body, model)

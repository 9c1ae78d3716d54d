"""``add_prompt``'s fast path: the encoded line around the prompt, made and checked once per set
of parameters.

A run of ``add_prompt`` calls nearly always repeats the same parameters (model, ``max_tokens``,
``system``...) with a different prompt. JSON encoding is compositional — a string's escape is
the concatenation of its characters' escapes — so the line of such a record is the bytes before
the prompt text, the escaped prompt, and the bytes after it: exactly the bytes the general path
(build the body, check it, encode the line) writes. The body made with a placeholder prompt is
checked against the model family's rules once; a prompt cannot make a checked body invalid as
long as it is a non-blank string that can be encoded (anything else goes the general way,
which explains what is wrong). ``tests/records/test_records.py`` checks both paths agree, byte for byte
and verdict for verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from .._common._codec import EncodeError, encode
from .._errors import ValidationError
from .._families._builders import build_prompt
from .._families._protocol import ClientFamily

__all__ = ["PromptTemplate", "PromptTemplates"]

#: A placeholder prompt no parameter value contains and that JSON writes as itself.
_PLACEHOLDER = "bedrockBatchPromptPlaceholder7Q2xW9"
_PLACEHOLDER_BYTES = _PLACEHOLDER.encode()
#: Distinct parameter sets remembered per batch (a batch rarely has more than a handful).
_MAX_TEMPLATES = 256


@attrs.frozen
class PromptTemplate:
    """The line of a prompt record, minus its record id and prompt text."""

    #: ``,"modelInput":`` and the body's bytes up to the prompt text.
    head: bytes
    #: The body's bytes after the prompt text, the line's closing brace and newline.
    tail: bytes
    #: The output tokens the body asks for.
    output_tokens: int

    def line(self, record_id: bytes, prompt: bytes) -> bytes:
        """The line for an encoded record id (with its quotes) and an encoded prompt (without)."""
        return b"".join((b'{"recordId":', record_id, self.head, prompt, self.tail))


class PromptTemplates:
    """Templates of one batch's prompt records, by parameter set (None: use the general path).

    Args:
        family, invocation_type: how bodies are built.
        problem: the batch's body check (None when the body is fine).
        output_tokens: the output-token ceiling a body asks for.
    """

    def __init__(
        self,
        family: ClientFamily,
        invocation_type: str,
        problem: Callable[[Any], str | None],
        output_tokens: Callable[[Any], int],
    ) -> None:
        self._family = family
        self._invocation_type = invocation_type
        self._problem = problem
        self._output_tokens = output_tokens
        self._cache: dict[Any, PromptTemplate | None] = {}

    def find(
        self,
        system: str | None,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop_sequences: Sequence[str] | None,
    ) -> PromptTemplate | None:
        """The template for these parameters, or None when they need the general path."""
        # the types too: 1, 1.0 and True are equal in Python, not in JSON
        stops: tuple[Any, ...] | None = None
        if stop_sequences is not None:
            stops = tuple(stop_sequences)
            stops += tuple(type(x) for x in stops)
        key = (
            system, type(system), max_tokens, type(max_tokens), temperature, type(temperature),
            top_p, type(top_p), stops,
        )  # fmt: skip
        try:
            return self._cache[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: the general path says what is wrong
            return None
        template = self._make(system, max_tokens, temperature, top_p, stop_sequences)
        if len(self._cache) < _MAX_TEMPLATES:
            self._cache[key] = template
        return template

    def _make(
        self,
        system: str | None,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop_sequences: Sequence[str] | None,
    ) -> PromptTemplate | None:
        try:
            body = build_prompt(
                self._family, _PLACEHOLDER, invocation_type=self._invocation_type, system=system,
                max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                stop_sequences=stop_sequences,
            )  # fmt: skip
            encoded = encode(body)
        except (ValidationError, EncodeError, TypeError, ValueError):
            return None
        if self._problem(body) is not None or encoded.count(_PLACEHOLDER_BYTES) != 1:
            return None
        at = encoded.index(_PLACEHOLDER_BYTES)
        return PromptTemplate(
            b',"modelInput":' + encoded[:at],
            encoded[at + len(_PLACEHOLDER_BYTES) :] + b"}\n",
            self._output_tokens(body),
        )

"""The client side of the toy family (see tests/local/toy_family.py for its emulator side):
written as a real family module is — its builder, its own request rules (the service's
phrasing, from the shared field checks), its output readers and its usage.

Request body: ``{"prompt": str, "max_words": int (1..64, optional)}``.
Answer: ``{"answer": str, "finish": "stop" | "length", "tokens": {"in": int, "out": int}}``.
"""

from __future__ import annotations

from typing import Any

from bedrock_batch._catalog import ModelInfo
from bedrock_batch._errors import ValidationError
from bedrock_batch._families._protocol import (
    ClientFamily,
    Image,
    Images,
    mapping,
    no_forced_tool,
    not_embedding,
)
from bedrock_batch._families._schema_rules import (
    _Bad,
    _schema_extra,
    _schema_num,
    _schema_required,
    _schema_str,
)
from bedrock_batch._families._usage import UNKNOWN_USAGE, Usage, count

NAME = "toy-echo"


class ToyEchoClient(ClientFamily):
    """The toy family, as the client knows it."""

    name = NAME

    def build_prompt(
        self,
        prompt: str,
        *,
        system: str | None,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop_sequences: list[str] | None,
        images: Images,
    ) -> dict[str, Any]:
        if system or temperature is not None or top_p is not None or stop_sequences or images:
            raise ValidationError("the toy family takes a prompt and max_tokens only")
        body: dict[str, Any] = {"prompt": prompt}
        if max_tokens is not None:
            body["max_words"] = max_tokens
        return body

    def build_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
    ) -> dict[str, Any]:
        raise not_embedding()

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        try:
            _schema_required(body, "prompt")
            _schema_extra(body, frozenset({"prompt", "max_words"}))
            _schema_str(body, "prompt")
            _schema_num(body, "max_words", 1, 64, integer=True)
        except _Bad as bad:
            return str(bad)
        return None

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        value = body.get("max_words", 64)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        raise no_forced_tool(self)

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        return None

    def output_text(self, output: Any) -> str | None:
        out = mapping(output)
        answer = out.get("answer") if out else None
        return answer if isinstance(answer, str) else None

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        out = mapping(output)
        finish = out.get("finish") if out else None
        return finish if isinstance(finish, str) else None

    def output_embedding(self, output: Any) -> list[float] | None:
        return None

    def output_usage(self, output: Any) -> Usage:
        out = mapping(output)
        tokens = mapping(out.get("tokens")) if out else None
        if tokens is None:
            return UNKNOWN_USAGE
        return Usage(count(tokens.get("in")), count(tokens.get("out")))


TOY_CLIENT = ToyEchoClient()

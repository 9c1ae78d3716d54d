"""Mistral (chat ``messages``, or a raw ``prompt``): rules, builder, outputs. Its outputs carry
no token counts: usage is unknown (the batch's manifest has the counts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._catalog import ModelInfo
from .._errors import ValidationError
from ._protocol import (
    Images,
    TextGenerationFamily,
    drop_none,
    first,
    no_forced_tool,
)
from ._schema_rules import (
    _is_int,
    _malformed,
    _schema_extra,
    _schema_num,
    _schema_required,
    _schema_str,
    run_rules,
)
from ._usage import UNKNOWN_USAGE, Usage

__all__ = ["MISTRAL", "MistralFamily"]

_MISTRAL_KEYS = frozenset(
    {
        "messages",
        "prompt",
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
    }
)


def _mistral(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_extra(body, _MISTRAL_KEYS)
    if "messages" not in body and "prompt" not in body:
        raise _malformed("#: required key [messages] not found")
    if "messages" in body:
        msgs = body["messages"]
        if not isinstance(msgs, list) or not msgs:
            raise _malformed("#/messages: expected minItems: 1")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in (
                "system",
                "user",
                "assistant",
                "tool",
            ):
                raise _malformed(f"#/messages/{i}/role: not a valid enum value")
            if not isinstance(m.get("content"), (str, list)):
                raise _malformed(f"#/messages/{i}: required key [content] not found")
    else:
        _schema_str(body, "prompt")
    _schema_num(body, "max_tokens", 1, model.max_output_tokens if model else 8192, integer=True)
    _schema_num(body, "temperature", 0, 1)
    _schema_num(body, "top_p", 0, 1)
    _schema_num(body, "top_k", 0, 200, integer=True)
    if "tools" in body:
        tools = body["tools"]
        if not isinstance(tools, list):
            raise _malformed("#/tools: expected type: JSONArray")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                raise _malformed(f"#/tools/{i}/type: function is the only supported value")
            if not isinstance(tool.get("function"), dict):
                raise _malformed(f"#/tools/{i}: required key [function] not found")
            _schema_required(tool["function"], "name", path=f"#/tools/{i}/function")
            _schema_str(tool["function"], "name", path=f"#/tools/{i}/function")
    if "tool_choice" in body and body["tool_choice"] not in ("auto", "any", "none"):
        raise _malformed(f"#/tool_choice: {body['tool_choice']} is not a valid enum value")
    return None


class MistralFamily(TextGenerationFamily):
    """Mistral Small and Mistral Large 2 (24.07)."""

    name = "mistral"

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
        if images:
            raise ValidationError("Mistral's chat format takes no images here; use Converse")
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        body: dict[str, Any] = {"messages": messages}
        body.update(
            drop_none(
                {
                    "max_tokens": max_tokens,
                    "temperature": temperature,
                    "top_p": top_p,
                    "stop": stop_sequences,
                }
            )
        )
        return body

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_mistral, body, model)

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        value: Any = body.get("max_tokens")
        return value if _is_int(value) and value >= 0 else default

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        raise no_forced_tool(self)

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        return None

    def output_text(self, output: Any) -> str | None:
        # chat: choices[0].message.content; text completion: outputs[0].text
        choice = first(output, "choices")
        if choice is not None:
            msg = choice.get("message", {})
            content = msg.get("content") if isinstance(msg, dict) else None
            return content if isinstance(content, str) else None
        completion = first(output, "outputs")
        return completion.get("text") if completion is not None else None

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        choice = first(output, "choices") or first(output, "outputs")
        reason = choice.get("stop_reason") if choice is not None else None
        return reason if isinstance(reason, str) else None

    def output_embedding(self, output: Any) -> list[float] | None:
        return None

    def output_usage(self, output: Any) -> Usage:
        return UNKNOWN_USAGE  # the documented body carries no token counts


#: The Mistral family.
MISTRAL = MistralFamily()

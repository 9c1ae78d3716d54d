"""The Mistral family: chat (``messages``, native ``tools``) or text completion (``prompt``).
Answers ``choices[].message`` (chat) or ``outputs[].text`` (completion); the documented body
carries no token counts, so the emulator counts the tokens of the answer it gave.

Rules written from the model's documented request body and phrased in the JSON-schema style
(``bedrock-facts.md`` §7).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from .._encoding import encode
from ._context import RecordContext
from ._rules_common import (
    ceiling,
    malformed,
    schema_extra,
    schema_integer,
    schema_number,
    schema_required,
    schema_string,
)
from ._synthetic import (
    Text,
    answer_id,
    bounded_max_tokens,
    estimate_tokens,
    pick_tool,
    prompt_text,
    tool_input,
)

__all__ = ["MISTRAL", "Mistral", "check_mistral"]

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
_MISTRAL_ROLES = ("system", "user", "assistant", "tool")
_MISTRAL_CHOICES = ("auto", "any", "none")


def check_mistral(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Mistral chat (``messages``, native ``tools``) or text completion (``prompt``)."""
    schema_extra(body, _MISTRAL_KEYS)
    if "messages" not in body and "prompt" not in body:
        raise malformed("#", "required key [messages] not found")
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise malformed("#/messages", "expected minItems: 1")
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in _MISTRAL_ROLES:
                raise malformed(f"#/messages/{i}/role", "not a valid enum value")
            if not isinstance(message.get("content"), (str, list)):
                raise malformed(f"#/messages/{i}", "required key [content] not found")
    else:
        schema_string(body, "prompt")
    schema_integer(body, "max_tokens", 1, ceiling(model, 8192))
    schema_number(body, "temperature", 0, 1)
    schema_number(body, "top_p", 0, 1)
    schema_integer(body, "top_k", 0, 200)
    if "tools" in body:
        _mistral_tools(body["tools"])
    if "tool_choice" in body and body["tool_choice"] not in _MISTRAL_CHOICES:
        raise malformed("#/tool_choice", f"{body['tool_choice']} is not a valid enum value")


def _mistral_tools(tools: Any) -> None:
    if not isinstance(tools, list):
        raise malformed("#/tools", "expected type: JSONArray")
    for i, tool in enumerate(tools):
        where = f"#/tools/{i}"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise malformed(f"{where}/type", "function is the only supported value")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise malformed(where, "required key [function] not found")
        schema_required(function, ("name",), f"{where}/function")
        schema_string(function, "name", f"{where}/function")


def _answer(ctx: RecordContext, max_tokens: int) -> dict[str, Any]:
    body = ctx.model_input
    text = Text(ctx, max_tokens)
    reason = "length" if text.truncated else "stop"
    if "messages" not in body:
        return {"outputs": [{"text": text.text, "stop_reason": reason}]}
    tools = [
        (t["function"]["name"], t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    after = any(isinstance(m, dict) and m.get("role") == "tool" for m in body["messages"][-1:])
    tool = pick_tool(body.get("tool_choice", "auto"), None, tools, ctx.seed, after)
    message: dict[str, Any] = {"role": "assistant", "content": text.text}
    if tool is not None:
        call = {
            "id": answer_id(ctx.seed, ctx.record_id, 9),
            "function": {"name": tool[0], "arguments": encode(tool_input(tool[1], ctx.seed))},
        }
        message = {"role": "assistant", "content": "", "tool_calls": [call]}
        reason = "tool_calls"
    return {"choices": [{"index": 0, "message": message, "stop_reason": reason}]}


def _answer_text(output: Any) -> str:
    """The text (or tool-call arguments) of a Mistral answer."""
    if not isinstance(output, Mapping):
        return ""
    parts: list[str] = []
    for item in output.get("outputs") or []:
        if isinstance(item, Mapping) and isinstance(item.get("text"), str):
            parts.append(item["text"])
    for choice in output.get("choices") or []:
        message = choice.get("message") if isinstance(choice, Mapping) else None
        if not isinstance(message, Mapping):
            continue
        if isinstance(message.get("content"), str):
            parts.append(message["content"])
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping) and isinstance(function.get("arguments"), str):
                parts.append(function["arguments"])
    return "".join(parts)


class Mistral:
    """Mistral chat or text completion on InvokeModel."""

    name = "mistral"

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The family's request rules."""
        check_mistral(body, model)

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """A chat response (``choices``), a tool call when one is forced, or a completion (``outputs``)."""
        return _answer(ctx, bounded_max_tokens(ctx, ctx.model_input.get("max_tokens")))

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """Counted by the emulator (the body reports none): the prompt's and the answer's tokens."""
        return estimate_tokens(prompt_text(body)) + 7, estimate_tokens(_answer_text(output))

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """None: the body references no S3 object."""
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return output


MISTRAL = Mistral()

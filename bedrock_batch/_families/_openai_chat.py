"""OpenAI chat completions on InvokeModel (``openai-chat``): gpt-oss, and Qwen3 and DeepSeek V3.1
(the same body REPORTED, facts §12.2). The request rules of the documented fields, the body
builder (``developer`` + ``user`` messages, ``max_completion_tokens``), ``response_format`` for
Bedrock's own structured outputs, a forced function tool, and how to read a ``chat.completion``.

What is a guess, and how to change it:

- gpt-oss puts its reasoning at the start of ``content`` as ``<reasoning>…</reasoning>``
  (REPORTED for InvokeModel, promptfoo/promptfoo #9587); whether it still does with a
  ``response_format`` is UNVERIFIED. Text and parsed answers strip a *leading* reasoning block
  by default; register ``OpenAIChatFamily(strip_reasoning=False)`` to keep it.
- Forcing a function with ``tool_choice: {"type": "function", ...}`` is OpenAI's form;
  that Bedrock honours it for these models is UNVERIFIED (the native ``response_format`` is the
  default route for structured outputs).
- The refusal wording is the JSON-schema style of the other non-Anthropic bodies (UNVERIFIED).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .._catalog import ModelInfo
from .._errors import ValidationError
from ._features import closed_schema
from ._protocol import (
    Images,
    TextGenerationFamily,
    drop_none,
    first,
)
from ._schema_rules import (
    _Bad,
    _is_int,
    _malformed,
    _schema_extra,
    _schema_num,
    _schema_required,
    _schema_str,
    run_rules,
)
from ._usage import UNKNOWN_USAGE, Usage, count

__all__ = ["OPENAI_CHAT", "OpenAIChatFamily", "split_reasoning"]

_KEYS = frozenset(
    {
        "model",
        "messages",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "user",
    }
)
_ROLES = ("developer", "system", "user", "assistant", "tool")
_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})
_FORMATS = ("text", "json_object", "json_schema")
_EFFORTS = ("low", "medium", "high")
_REASONING = re.compile(r"\A\s*<reasoning>(.*?)</reasoning>\s*", re.DOTALL)


def split_reasoning(content: str) -> tuple[str | None, str]:
    """(the leading ``<reasoning>…</reasoning>`` text or None, the rest of ``content``)."""
    m = _REASONING.match(content)
    if m is None:
        return None, content
    return m.group(1), content[m.end() :]


def _messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _malformed("#/messages: expected minItems: 1")
    for i, message in enumerate(messages):
        where = f"#/messages/{i}"
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise _malformed(f"{where}/role: not a valid enum value")
        _schema_extra(message, _MESSAGE_KEYS, where)
        if message["role"] == "tool":  # whatever its content's form
            _schema_required(message, "tool_call_id", path=where)
        content = message.get("content")
        if message["role"] == "assistant" and content is None and message.get("tool_calls"):
            continue
        if isinstance(content, str):
            continue
        if not isinstance(content, list) or not content:
            raise _malformed(f"{where}: required key [content] not found")
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise _malformed(f"{where}/content/{j}/type: text is the only supported value")
            _schema_str(part, "text", path=f"{where}/content/{j}")


def _stop(stop: Any) -> None:
    if stop is None or isinstance(stop, str):
        return
    if not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise _malformed("#/stop: expected type: String or JSONArray of String")
    if len(stop) > 4:
        raise _malformed("#/stop: expected maxItems: 4")


def _response_format(value: Any, model: ModelInfo | None) -> None:
    where = "#/response_format"
    if not isinstance(value, dict) or value.get("type") not in _FORMATS:
        raise _malformed(f"{where}/type: not a valid enum value")
    if value["type"] == "text":
        return
    if model is not None and model.native_structured_outputs is False:
        raise _Bad("This model doesn't support the response_format field.")
    if value["type"] != "json_schema":
        return
    spec = value.get("json_schema")
    if not isinstance(spec, dict):
        raise _malformed(f"{where}: required key [json_schema] not found")
    _schema_required(spec, "name", path=f"{where}/json_schema")
    _schema_str(spec, "name", path=f"{where}/json_schema")
    if not isinstance(spec.get("schema", {}), dict):
        raise _malformed(f"{where}/json_schema/schema: expected type: JSONObject")
    if "strict" in spec and not isinstance(spec["strict"], bool):
        raise _malformed(f"{where}/json_schema/strict: expected type: Boolean")


def _tools(tools: Any) -> list[str]:
    if not isinstance(tools, list) or not tools:
        raise _malformed("#/tools: expected type: JSONArray")
    names: list[str] = []
    for i, tool in enumerate(tools):
        where = f"#/tools/{i}"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _malformed(f"{where}/type: function is the only supported value")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise _malformed(f"{where}: required key [function] not found")
        _schema_required(function, "name", path=f"{where}/function")
        _schema_str(function, "name", path=f"{where}/function")
        if not isinstance(function.get("parameters", {}), dict):
            raise _malformed(f"{where}/function/parameters: expected type: JSONObject")
        names.append(function["name"])
    return names


def _tool_choice(choice: Any, names: list[str]) -> None:
    where = "#/tool_choice"
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise _malformed(f"{where}: {choice} is not a valid enum value")
        if choice == "required" and not names:
            raise _malformed(f"{where}: required needs tools")
        return
    function = choice.get("function") if isinstance(choice, dict) else None
    if not isinstance(function, dict) or choice.get("type") != "function":
        raise _malformed(f"{where}: expected none, auto, required or a function")
    if function.get("name") not in names:
        raise _malformed(
            f"{where}/function/name: {function.get('name')} is not the name of a tool in tools"
        )


def _check(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_extra(body, _KEYS)
    _schema_required(body, "messages")
    if "model" in body and model is not None and body["model"] != model.model_id:
        raise _malformed(f"#/model: {body['model']} is not the model being invoked")
    _messages(body["messages"])
    top = model.max_output_tokens if model else 32768
    _schema_num(body, "max_completion_tokens", 1, top, integer=True)
    _schema_num(body, "max_tokens", 1, top, integer=True)
    _schema_num(body, "temperature", 0, 2)
    _schema_num(body, "top_p", 0, 1)
    _schema_num(body, "frequency_penalty", -2, 2)
    _schema_num(body, "presence_penalty", -2, 2)
    if "seed" in body and not _is_int(body["seed"]):
        raise _malformed("#/seed: expected type: Integer")
    _stop(body.get("stop"))
    if "reasoning_effort" in body and body["reasoning_effort"] not in _EFFORTS:
        raise _malformed(
            f"#/reasoning_effort: {body['reasoning_effort']} is not a valid enum value"
        )
    if "response_format" in body:
        _response_format(body["response_format"], model)
    names = _tools(body["tools"]) if "tools" in body else []
    if "tool_choice" in body:
        _tool_choice(body["tool_choice"], names)
    return None


class OpenAIChatFamily(TextGenerationFamily):
    """OpenAI chat completions (gpt-oss, Qwen3, DeepSeek V3.1) on InvokeModel.

    Args:
        strip_reasoning: take a leading ``<reasoning>…</reasoning>`` off the text (and the
            JSON a structured output parses); it stays readable as the reasoning.
    """

    name = "openai-chat"

    def __init__(self, *, strip_reasoning: bool = True) -> None:
        self.strip_reasoning = strip_reasoning

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
            raise ValidationError(
                "the OpenAI chat-completions body takes no image on Bedrock (text only); use Converse"
            )
        messages = ([{"role": "developer", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        body: dict[str, Any] = {"messages": messages}
        body.update(
            drop_none(
                {
                    "max_completion_tokens": max_tokens,
                    "temperature": temperature,
                    "top_p": top_p,
                    "stop": stop_sequences,
                }
            )
        )
        return body

    def native_structured_output(
        self, schema: dict[str, Any], name: str, model: ModelInfo | None
    ) -> dict[str, Any]:
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": closed_schema(schema), "strict": True},
            }
        }

    def requested_format(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        fmt = body.get("response_format") if isinstance(body, dict) else None
        spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
        if isinstance(spec, dict) and fmt is not None and fmt.get("type") == "json_schema":
            schema = spec.get("schema")
            return str(spec.get("name", "")), schema if isinstance(schema, dict) else {}
        return None

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_check, body, model)

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        value: Any = body.get("max_completion_tokens", body.get("max_tokens"))
        return value if _is_int(value) and value >= 0 else default

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        function = {"name": name, "description": description, "parameters": schema}
        return {
            "tools": [{"type": "function", "function": function}],
            "tool_choice": {"type": "function", "function": {"name": name}},
        }

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        choice = body.get("tool_choice") if isinstance(body, dict) else None
        forced = choice.get("function") if isinstance(choice, dict) else None
        if not isinstance(forced, dict):
            return None
        for tool in body.get("tools") or ():
            function = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(function, dict) and function.get("name") == forced.get("name"):
                schema = function.get("parameters")
                return str(forced["name"]), schema if isinstance(schema, dict) else {}
        return None

    def _content(self, output: Any) -> str | None:
        choice = first(output, "choices")
        message = choice.get("message") if choice is not None else None
        content = message.get("content") if isinstance(message, Mapping) else None
        return content if isinstance(content, str) else None

    def output_text(self, output: Any) -> str | None:
        content = self._content(output)
        if content is None:
            return None if first(output, "choices") is None else ""
        return split_reasoning(content)[1] if self.strip_reasoning else content

    def output_reasoning(self, output: Any) -> str | None:
        content = self._content(output)
        return split_reasoning(content)[0] if content is not None else None

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        choice = first(output, "choices")
        message = choice.get("message") if choice is not None else None
        calls = message.get("tool_calls") if isinstance(message, Mapping) else None
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping) and function.get("name") == name:
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    try:
                        return True, json.loads(arguments)
                    except ValueError:
                        return True, arguments
                return True, arguments
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        choice = first(output, "choices")
        reason = choice.get("finish_reason") if choice is not None else None
        return reason if isinstance(reason, str) else None

    def output_embedding(self, output: Any) -> list[float] | None:
        return None

    def output_usage(self, output: Any) -> Usage:
        usage = output.get("usage") if type(output) is dict else None
        if type(usage) is dict and ("prompt_tokens" in usage or "completion_tokens" in usage):
            details = usage.get("prompt_tokens_details")
            cached = count(details.get("cached_tokens")) if isinstance(details, dict) else 0
            return Usage(
                count(usage.get("prompt_tokens")),
                count(usage.get("completion_tokens")),
                cache_read_tokens=cached,
            )
        return UNKNOWN_USAGE


#: The OpenAI chat-completions family.
OPENAI_CHAT = OpenAIChatFamily()

"""The OpenAI chat-completions family (``openai-chat``): gpt-oss, Qwen3 and DeepSeek V3.1 on
InvokeModel (``bedrock-facts.md`` §12.2). Its request rules, its synthetic ``chat.completion``
answers (text, a function call, or JSON for ``response_format``) and its usage
(``usage.prompt_tokens`` / ``completion_tokens``).

The body is an OpenAI "Create chat completion" request, text only: roles ``developer``,
``system``, ``user``, ``assistant`` and ``tool``; ``max_completion_tokens`` (``max_tokens``
is taken too); ``model`` may be omitted and, when given, must name the model called. What is a
guess (UNVERIFIED) and can be changed by registering a differently configured instance
(``_registry.register(OpenAIChat(...))``):

- the refusal wording (the JSON-schema style of the other non-Anthropic bodies);
- ``reasoning_prefix``: gpt-oss puts its reasoning at the start of ``content`` as
  ``<reasoning>…</reasoning>`` (REPORTED for InvokeModel, promptfoo/promptfoo #9587); which
  model ids do so (default: ``openai.``), and whether they still do with a ``response_format``
  (``reasoning_with_json``, default yes) are knobs;
- Qwen3 and DeepSeek V3.1 answering in the same shape (REPORTED: same body; outputs UNVERIFIED).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..._catalog import ModelInfo
from .._encoding import encode
from ._context import RecordContext
from ._rules_common import (
    Refusal,
    ceiling,
    is_integer,
    malformed,
    schema_extra,
    schema_integer,
    schema_number,
    schema_required,
    schema_string,
)
from ._schema_instances import instance_for
from ._synthetic import (
    Text,
    answer_id,
    bounded_max_tokens,
    estimate_tokens,
    pick_tool,
    tool_input,
    words,
)
from ._usage import token_count

__all__ = ["OPENAI_CHAT", "OpenAIChat", "check_openai_chat"]

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
#: ``created`` of every synthetic answer (2026-01-01T00:00:00Z): answers stay deterministic.
_CREATED = 1_767_225_600


def check_openai_chat(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """An OpenAI chat-completions body as Bedrock takes it for the open-weight models."""
    schema_extra(body, _KEYS)
    schema_required(body, ("messages",))
    if "model" in body and model is not None and body["model"] != model.model_id:
        raise malformed("#/model", f"{body['model']} is not the model being invoked")
    _messages(body["messages"])
    top = ceiling(model, 32_768)
    schema_integer(body, "max_completion_tokens", 1, top)
    schema_integer(body, "max_tokens", 1, top)
    schema_number(body, "temperature", 0, 2)
    schema_number(body, "top_p", 0, 1)
    schema_number(body, "frequency_penalty", -2, 2)
    schema_number(body, "presence_penalty", -2, 2)
    if "seed" in body and not is_integer(body["seed"]):
        raise malformed("#/seed", "expected type: Integer")
    _stop(body.get("stop"))
    if "reasoning_effort" in body and body["reasoning_effort"] not in _EFFORTS:
        raise malformed(
            "#/reasoning_effort", f"{body['reasoning_effort']} is not a valid enum value"
        )
    if "response_format" in body:
        _response_format(body["response_format"], model)
    names = _tools(body["tools"]) if "tools" in body else []
    if "tool_choice" in body:
        _tool_choice(body["tool_choice"], names)


def _messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise malformed("#/messages", "expected minItems: 1")
    for i, message in enumerate(messages):
        where = f"#/messages/{i}"
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise malformed(f"{where}/role", "not a valid enum value")
        schema_extra(message, _MESSAGE_KEYS, where)
        if message["role"] == "tool":  # whatever its content's form
            schema_required(message, ("tool_call_id",), where)
        content = message.get("content")
        if message["role"] == "assistant" and content is None and message.get("tool_calls"):
            continue
        if isinstance(content, str):
            continue
        if not isinstance(content, list) or not content:
            raise malformed(where, "required key [content] not found")
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise malformed(f"{where}/content/{j}/type", "text is the only supported value")
            schema_string(part, "text", f"{where}/content/{j}")


def _stop(stop: Any) -> None:
    if stop is None or isinstance(stop, str):
        return
    if not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise malformed("#/stop", "expected type: String or JSONArray of String")
    if len(stop) > 4:
        raise malformed("#/stop", "expected maxItems: 4")


def _response_format(value: Any, model: ModelInfo | None) -> None:
    where = "#/response_format"
    if not isinstance(value, dict) or value.get("type") not in _FORMATS:
        raise malformed(f"{where}/type", "not a valid enum value")
    if value["type"] == "text":
        return
    if model is not None and model.native_structured_outputs is False:
        raise Refusal("This model doesn't support the response_format field.")
    if value["type"] == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict):
            raise malformed(where, "required key [json_schema] not found")
        schema_required(spec, ("name",), f"{where}/json_schema")
        schema_string(spec, "name", f"{where}/json_schema")
        if not isinstance(spec.get("schema", {}), dict):
            raise malformed(f"{where}/json_schema/schema", "expected type: JSONObject")
        if "strict" in spec and not isinstance(spec["strict"], bool):
            raise malformed(f"{where}/json_schema/strict", "expected type: Boolean")


def _tools(tools: Any) -> list[str]:
    if not isinstance(tools, list) or not tools:
        raise malformed("#/tools", "expected type: JSONArray")
    names: list[str] = []
    for i, tool in enumerate(tools):
        where = f"#/tools/{i}"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise malformed(f"{where}/type", "function is the only supported value")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise malformed(where, "required key [function] not found")
        schema_required(function, ("name",), f"{where}/function")
        schema_string(function, "name", f"{where}/function")
        if not isinstance(function.get("parameters", {}), dict):
            raise malformed(f"{where}/function/parameters", "expected type: JSONObject")
        names.append(function["name"])
    return names


def _tool_choice(choice: Any, names: list[str]) -> None:
    where = "#/tool_choice"
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise malformed(where, f"{choice} is not a valid enum value")
        if choice == "required" and not names:
            raise malformed(where, "required needs tools")
        return
    function = choice.get("function") if isinstance(choice, dict) else None
    if not isinstance(function, dict) or choice.get("type") != "function":
        raise malformed(where, "expected none, auto, required or a function")
    if function.get("name") not in names:
        raise malformed(
            f"{where}/function/name", f"{function.get('name')} is not the name of a tool in tools"
        )


# --- synthetic answers ---------------------------------------------------------------------------


def _choice(body: Mapping[str, Any]) -> tuple[str, Any]:
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, dict):
        return "tool", (choice.get("function") or {}).get("name")
    return {"required": "any"}.get(choice, choice), None


def _tool(ctx: RecordContext) -> tuple[str, Any] | None:
    body = ctx.model_input
    tools = [
        (t["function"]["name"], t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if not tools:
        return None
    messages = body.get("messages") or []
    after = bool(messages) and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool"
    kind, name = _choice(body)
    return pick_tool(kind, name, tools, ctx.seed, after)


def _structured(body: Mapping[str, Any], seed: int) -> str | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        return encode(instance_for((fmt.get("json_schema") or {}).get("schema") or {}, seed))
    if fmt.get("type") == "json_object":
        return encode({"answer": words(seed, 6)})
    return None


class OpenAIChat:
    """OpenAI chat completions on InvokeModel (gpt-oss, Qwen3, DeepSeek V3.1)."""

    name = "openai-chat"

    def __init__(
        self,
        *,
        reasoning_prefix: tuple[str, ...] = ("openai.",),
        reasoning_with_json: bool = True,
    ) -> None:
        #: Model-id prefixes whose answers start with ``<reasoning>…</reasoning>``.
        self.reasoning_prefix = reasoning_prefix
        #: Whether they do so with a ``response_format`` too.
        self.reasoning_with_json = reasoning_with_json

    def check(self, body: Mapping[str, Any], model: ModelInfo | None, *, on_demand: bool) -> None:
        """The chat-completions request rules."""
        check_openai_chat(body, model)

    def _reasoning(self, ctx: RecordContext, structured: bool) -> str:
        if not ctx.model.model_id.startswith(self.reasoning_prefix):
            return ""
        if structured and not self.reasoning_with_json:
            return ""
        return f"<reasoning>{words(ctx.seed >> 5, 8 + ctx.seed % 17)}</reasoning>"

    def answer(self, ctx: RecordContext) -> dict[str, Any]:
        """A ``chat.completion``: text (after the reasoning, where the model gives one), a
        function call, or JSON matching ``response_format``."""
        body = ctx.model_input
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        text = Text(ctx, bounded_max_tokens(ctx, limit))
        tool = _tool(ctx)
        message: dict[str, Any]
        if tool is not None:
            arguments = encode(tool_input(tool[1], ctx.seed))
            call = {
                "id": "call_" + answer_id(ctx.seed, ctx.record_id + "/tool", 24),
                "type": "function",
                "function": {"name": tool[0], "arguments": arguments},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish, completion = "tool_calls", estimate_tokens(arguments) + 8
        else:
            structured = _structured(body, ctx.seed)
            reasoning = self._reasoning(ctx, structured is not None)
            if structured is not None:
                content, finish = reasoning + structured, "stop"
                completion = estimate_tokens(content)
            else:
                content = reasoning + text.text
                finish = "length" if text.truncated else "stop"
                completion = text.output_tokens + estimate_tokens(reasoning)
            message = {"role": "assistant", "content": content}
        return {
            "id": "chatcmpl-" + answer_id(ctx.seed, ctx.record_id, 24),
            "object": "chat.completion",
            "created": _CREATED,
            "model": ctx.model.model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": text.input_tokens,
                "completion_tokens": completion,
                "total_tokens": text.input_tokens + completion,
            },
        }

    def encoded_answer(self, ctx: RecordContext) -> tuple[str, int, int] | None:
        """No fast path."""
        return None

    def usage(self, body: Mapping[str, Any], output: Any) -> tuple[int, int]:
        """``usage.prompt_tokens`` / ``usage.completion_tokens``."""
        usage = output.get("usage") if isinstance(output, Mapping) else None
        if isinstance(usage, Mapping):
            return token_count(usage.get("prompt_tokens")), token_count(
                usage.get("completion_tokens")
            )
        return 0, 0

    def s3_locations(self, body: Mapping[str, Any]) -> Iterator[str]:
        """None: the body is text only."""
        return iter(())

    def batch_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return output


OPENAI_CHAT = OpenAIChat()

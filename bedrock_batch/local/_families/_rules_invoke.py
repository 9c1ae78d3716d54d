"""InvokeModel request rules of the Amazon Titan, Meta Llama and Mistral families.

Written from each model's documented request body (Bedrock user guide, "Inference request
parameters and response fields for foundation models") and phrased in the JSON-schema style
these models answer with (``bedrock-facts.md`` §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._catalog import ModelInfo
from ._rules_common import (
    malformed,
    schema_extra,
    schema_integer,
    schema_number,
    schema_required,
    schema_string,
    schema_strings,
)

__all__ = [
    "check_llama",
    "check_mistral",
    "check_titan_embed_image",
    "check_titan_embed_text",
    "check_titan_text",
]


def _ceiling(model: ModelInfo | None, default: int) -> int:
    return model.max_output_tokens if model is not None else default


def _object(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key, {})
    if not isinstance(value, dict):
        raise malformed(f"#/{key}", "expected type: JSONObject")
    return value


# --- Amazon Titan -------------------------------------------------------------------------------


def check_titan_text(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Titan Text G1: ``inputText`` plus an optional ``textGenerationConfig``."""
    schema_required(body, ("inputText",))
    schema_extra(body, frozenset({"inputText", "textGenerationConfig"}))
    schema_string(body, "inputText")
    config = _object(body, "textGenerationConfig")
    where = "#/textGenerationConfig"
    schema_extra(
        config, frozenset({"maxTokenCount", "temperature", "topP", "stopSequences"}), where
    )
    schema_integer(config, "maxTokenCount", 0, _ceiling(model, 8192), where)
    schema_number(config, "temperature", 0, 1, where)
    schema_number(config, "topP", 0, 1, where)
    schema_strings(config, "stopSequences", where)


def check_titan_embed_text(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Titan Text Embeddings V2: ``inputText``, ``dimensions``, ``normalize``, ``embeddingTypes``."""
    schema_required(body, ("inputText",))
    schema_extra(body, frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"}))
    schema_string(body, "inputText")
    if len(body["inputText"]) > 50_000:
        raise malformed("#/inputText", "expected maxLength: 50000")
    if "dimensions" in body and body["dimensions"] not in (256, 512, 1024):
        raise malformed("#/dimensions", f"{body['dimensions']} is not a valid enum value")
    if "normalize" in body and not isinstance(body["normalize"], bool):
        raise malformed("#/normalize", "expected type: Boolean")
    kinds = body.get("embeddingTypes", ["float"])
    if not (isinstance(kinds, list) and kinds and set(kinds) <= {"float", "binary"}):
        raise malformed("#/embeddingTypes", "expected a non-empty subset of [float, binary]")


def check_titan_embed_image(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Titan Multimodal Embeddings G1: ``inputText`` and/or ``inputImage``."""
    schema_extra(body, frozenset({"inputText", "inputImage", "embeddingConfig"}))
    if "inputText" not in body and "inputImage" not in body:
        raise malformed("#", "at least one of [inputText, inputImage] is required")
    schema_string(body, "inputText")
    schema_string(body, "inputImage")
    config = _object(body, "embeddingConfig")
    schema_extra(config, frozenset({"outputEmbeddingLength"}), "#/embeddingConfig")
    if config.get("outputEmbeddingLength", 1024) not in (256, 384, 1024):
        raise malformed("#/embeddingConfig/outputEmbeddingLength", "not a valid enum value")


# --- Meta Llama ---------------------------------------------------------------------------------


def check_llama(body: Mapping[str, Any], model: ModelInfo | None) -> None:
    """Llama 3.x: ``prompt``, ``max_gen_len``, ``temperature``, ``top_p``, ``images``."""
    schema_required(body, ("prompt",))
    schema_extra(body, frozenset({"prompt", "max_gen_len", "temperature", "top_p", "images"}))
    schema_string(body, "prompt")
    schema_integer(body, "max_gen_len", 1, _ceiling(model, 2048))
    schema_number(body, "temperature", 0, 1)
    schema_number(body, "top_p", 0, 1)
    schema_strings(body, "images")


# --- Mistral ------------------------------------------------------------------------------------

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
    schema_integer(body, "max_tokens", 1, _ceiling(model, 8192))
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

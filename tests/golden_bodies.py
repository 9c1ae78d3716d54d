"""Golden request bodies: what each model accepts, and what it answers when it refuses.

One table, two independent implementations held to it: the emulator's rules
(``bedrock_batch.local._families._rules``, exercised through batch jobs and bedrock-runtime) and the
client's pre-flight check (``bedrock_batch._families._schemas.check_model_input``). A rule removed from
either side makes a case fail. Messages are the service's wording where it is known
(``bedrock-facts.md`` §2, §7) and a plausible one otherwise (see docs/testing.md).

Each case: an id (the batch record id), the model id, the invocation type, where it applies
(``batch`` record, ``runtime`` on-demand call, or ``both``), the body, and the expected
refusal message (None: accepted).
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from .conftest import HAIKU

Surface = Literal["batch", "runtime", "both"]

HAIKU45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
TITAN_TEXT = "amazon.titan-text-express-v1"
TITAN_EMBED = "amazon.titan-embed-text-v2:0"
TITAN_IMAGE = "amazon.titan-embed-image-v1"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
MISTRAL = "mistral.mistral-large-2407-v1:0"
NOVA = "amazon.nova-lite-v1:0"
# late 2026 (bedrock-facts.md §12)
SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA2 = "us.amazon.nova-2-lite-v1:0"
NOVA_EMBED = "amazon.nova-2-multimodal-embeddings-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
GPT_OSS_20B = "openai.gpt-oss-20b-1:0"
QWEN = "qwen.qwen3-32b-v1:0"


class Case(NamedTuple):
    """One golden case."""

    id: str
    model: str
    invocation: str
    surface: Surface
    body: Any
    error: str | None
    #: Whether the client's batch pre-flight applies (runtime-only allowances do not).
    client: bool = True


def mal(where: str, what: str) -> str:
    """The JSON-schema-style refusal of the Amazon, Meta and Mistral bodies."""
    return f"Malformed input request: {where}: {what}, please reformat your input and try again."


WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit"],
}
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": WEATHER_SCHEMA,
}
TOOL_SPEC = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city",
        "inputSchema": {"json": WEATHER_SCHEMA},
    }
}


def claude(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    body.update(extra)
    return body


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def msgs(*contents: Any) -> list[dict[str, Any]]:
    """Alternating user / assistant messages."""
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": c}
        for i, c in enumerate(contents)
    ]


def messages_body(**extra: Any) -> dict[str, Any]:
    """A Converse / Nova body."""
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 100},
    }
    body.update(extra)
    return body


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Kyoto"}}
TOOL_RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}
CONVERSE_TOOL_TURNS = msgs(
    [{"text": "weather?"}],
    [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Kyoto"}}}],
    [{"toolResult": {"toolUseId": "t1", "content": [{"text": "18C"}]}}],
)
JSON_ANSWER = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["spam", "ham"]},
        "score": {"type": "number"},
    },
    "required": ["label", "score"],
}


def output_config(schema: str) -> dict[str, Any]:
    return {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": schema, "name": "answer"}},
        }
    }


CLOSED_ANSWER: dict[str, Any] = {**JSON_ANSWER, "additionalProperties": False}
CLOSED_WEATHER: dict[str, Any] = {**WEATHER_SCHEMA, "additionalProperties": False}


def json_format(schema: dict[str, Any]) -> dict[str, Any]:
    """Claude's ``output_config.format`` / ``output_format``."""
    return {"type": "json_schema", "schema": schema}


def chat(**extra: Any) -> dict[str, Any]:
    """An OpenAI chat-completions body (gpt-oss, Qwen3, DeepSeek V3.1)."""
    body: dict[str, Any] = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
        "max_completion_tokens": 100,
    }
    body.update(extra)
    return body


def nova_embed(**params: Any) -> dict[str, Any]:
    """A Nova multimodal embeddings body (text unless ``params`` say otherwise)."""
    single: dict[str, Any] = {"embeddingPurpose": "GENERIC_INDEX", "embeddingDimension": 1024}
    single.update(params or {"text": {"truncationMode": "END", "value": "hello"}})
    return {
        "schemaVersion": "nova-multimodal-embed-v1",
        "taskType": "SINGLE_EMBEDDING",
        "singleEmbeddingParams": single,
    }


CHAT_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
CACHED_SYSTEM = [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}]

A, T, E, IMG, L, M, N = HAIKU, TITAN_TEXT, TITAN_EMBED, TITAN_IMAGE, LLAMA, MISTRAL, NOVA
S45, N2, NE, OSS, OSS20, Q = SONNET45, NOVA2, NOVA_EMBED, GPT_OSS, GPT_OSS_20B, QWEN
IM, CV = "InvokeModel", "Converse"

CASES: list[Case] = [
    # --- Anthropic Messages ---------------------------------------------------------------------
    Case("a_ok", A, IM, "both", claude(), None),
    Case("a_no_version", A, IM, "both", without(claude(), "anthropic_version"), "anthropic_version: Field required"),
    Case("a_no_max_tokens", A, IM, "batch", without(claude(), "max_tokens"), "max_tokens: Field required"),
    Case("a_no_messages", A, IM, "batch", without(claude(), "messages"), "messages: Field required"),
    Case("a_model_id_inside", A, IM, "both", claude(modelId=A), "modelId: Extra inputs are not permitted"),
    Case("a_bad_version", A, IM, "batch", claude(anthropic_version="2023-06-01"), "anthropic_version: Input should be 'bedrock-2023-05-31'"),
    Case("a_max_tokens_zero", A, IM, "batch", claude(max_tokens=0), "max_tokens: Input should be a valid integer greater than or equal to 1"),
    Case("a_max_tokens_text", A, IM, "batch", claude(max_tokens="100"), "max_tokens: Input should be a valid integer greater than or equal to 1"),
    Case("a_max_tokens_over", A, IM, "both", claude(max_tokens=99999), "max_tokens: 99999 > 4096, which is the maximum allowed number of output tokens"),
    Case("a_messages_empty", A, IM, "batch", claude(messages=[]), "messages: Input should be a non-empty list"),
    Case("a_message_extra_key", A, IM, "batch", claude(messages=[{"role": "user", "content": "hi", "name": "x"}]), "messages.0: Input should be an object with role and content"),
    Case("a_role_system", A, IM, "batch", claude(messages=[{"role": "system", "content": "hi"}]), "messages.0.role: Input should be 'user' or 'assistant'"),
    Case("a_first_assistant", A, IM, "batch", claude(messages=[{"role": "assistant", "content": "hi"}]), 'messages: first message must use the "user" role'),
    Case("a_not_alternating", A, IM, "batch", claude(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]), 'messages: roles must alternate between "user" and "assistant"'),
    Case("a_empty_string", A, IM, "batch", claude(messages=msgs("")), "messages.0.content: text content blocks must be non-empty"),
    Case("a_content_object", A, IM, "batch", claude(messages=msgs({"type": "text", "text": "hi"})), "messages.0.content: Input should be a valid list"),
    Case("a_block_video", A, IM, "batch", claude(messages=msgs([{"type": "video"}])), "messages.0.content.0: Input tag does not match any of the expected block types"),
    Case("a_empty_text_block", A, IM, "batch", claude(messages=msgs([{"type": "text", "text": ""}])), "messages.0.content.0.text: text content blocks must be non-empty"),
    Case("a_image_url", A, IM, "batch", claude(messages=msgs([{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}])), "messages.0.content.0.source: Input should be a base64 image source"),
    Case("a_image_tiff", A, IM, "batch", claude(messages=msgs([{"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "AAAA"}}])), "messages.0.content.0.source.media_type: Input should be an image media type"),
    Case("a_image_no_data", A, IM, "batch", claude(messages=msgs([{"type": "image", "source": {"type": "base64", "media_type": "image/png"}}])), "messages.0.content.0.source.data: Field required"),
    Case("a_system_number", A, IM, "batch", claude(system=5), "system: Input should be a valid string or list"),
    Case("a_temperature_high", A, IM, "both", claude(temperature=1.5), "temperature: Input should be less than or equal to 1"),
    Case("a_top_p_negative", A, IM, "batch", claude(top_p=-0.1), "top_p: Input should be less than or equal to 1"),
    Case("a_top_k_negative", A, IM, "batch", claude(top_k=-1), "top_k: Input should be greater than or equal to 0"),
    Case("a_stop_sequences_text", A, IM, "batch", claude(stop_sequences="x"), "stop_sequences: Input should be a valid list of strings"),
    Case("a45_temperature_and_top_p", HAIKU45, IM, "both", claude(temperature=0.5, top_p=0.9), "`temperature` and `top_p` cannot both be specified for this model. Please use only one."),
    Case("a_converse_body", A, IM, "batch", messages_body(), "anthropic_version: Field required"),
    # Anthropic tool use
    Case("a_tool_forced", A, IM, "both", claude(tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"}), None),
    Case("a_tool_any", A, IM, "batch", claude(tools=[WEATHER], tool_choice={"type": "any"}), None),
    Case("a_tool_auto", A, IM, "batch", claude(tools=[WEATHER], tool_choice={"type": "auto"}), None),
    Case("a_tool_round_trip", A, IM, "both", claude(tools=[WEATHER], messages=msgs("weather?", [TOOL_USE], [TOOL_RESULT])), None),
    Case("a_tools_object", A, IM, "batch", claude(tools={"get_weather": WEATHER}), "tools: Input should be a valid list"),
    Case("a_tool_no_name", A, IM, "batch", claude(tools=[without(WEATHER, "name")]), "tools.0.name: Field required"),
    Case("a_tool_bad_name", A, IM, "both", claude(tools=[{**WEATHER, "name": "get weather"}]), "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"),
    Case("a_tool_no_schema", A, IM, "batch", claude(tools=[without(WEATHER, "input_schema")]), "tools.0.input_schema: Field required"),
    Case("a_tool_schema_array", A, IM, "batch", claude(tools=[{**WEATHER, "input_schema": {"type": "array"}}]), "tools.0.input_schema.type: Input should be 'object'"),
    Case("a_tool_openai_style", A, IM, "batch", claude(tools=[{**WEATHER, "parameters": WEATHER_SCHEMA}]), "tools.0.parameters: Extra inputs are not permitted"),
    Case("a_tools_duplicate", A, IM, "batch", claude(tools=[WEATHER, WEATHER]), "tools: Tool names must be unique."),
    Case("a_choice_without_tools", A, IM, "batch", claude(tool_choice={"type": "any"}), "tool_choice: tool_choice may only be specified while providing tools."),
    Case("a_choice_required", A, IM, "batch", claude(tools=[WEATHER], tool_choice={"type": "required"}), "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"),
    Case("a_choice_tool_no_name", A, IM, "batch", claude(tools=[WEATHER], tool_choice={"type": "tool"}), "tool_choice.name: Field required"),
    Case("a_choice_unknown_tool", A, IM, "both", claude(tools=[WEATHER], tool_choice={"type": "tool", "name": "get_time"}), "tool_choice.name: Tool 'get_time' not found in tools."),
    Case("a_thinking_forced_tool", A, IM, "batch", claude(tools=[WEATHER], tool_choice={"type": "any"}, thinking={"type": "enabled", "budget_tokens": 1024}), "Thinking may not be enabled when tool_choice forces tool use."),
    Case("a_tool_result_orphan", A, IM, "batch", claude(tools=[WEATHER], messages=msgs([TOOL_RESULT])), "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."),
    Case("a_tool_use_unanswered", A, IM, "batch", claude(tools=[WEATHER], messages=msgs("weather?", [TOOL_USE], "thanks")), "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message."),
    Case("a_tool_use_no_input", A, IM, "batch", claude(tools=[WEATHER], messages=msgs("weather?", [without(TOOL_USE, "input")], [TOOL_RESULT])), "messages.1.content.0.input: Field required"),
    # --- Amazon Titan Text ----------------------------------------------------------------------
    Case("t_ok", T, IM, "both", {"inputText": "Roses are red"}, None),
    Case("t_no_input", T, IM, "batch", {}, mal("#", "required key [inputText] not found")),
    Case("t_extra_key", T, IM, "both", {"inputText": "x", "foo": 1}, mal("#", "extraneous key [foo] is not permitted")),
    Case("t_input_number", T, IM, "batch", {"inputText": 5}, mal("#/inputText", "expected type: String, found: int")),
    Case("t_input_blank", T, IM, "batch", {"inputText": "  "}, mal("#/inputText", "expected minLength: 1, actual: 0")),
    Case("t_config_list", T, IM, "batch", {"inputText": "x", "textGenerationConfig": []}, mal("#/textGenerationConfig", "expected type: JSONObject")),
    Case("t_config_extra", T, IM, "batch", {"inputText": "x", "textGenerationConfig": {"maxTokens": 5}}, mal("#/textGenerationConfig", "extraneous key [maxTokens] is not permitted")),
    Case("t_max_count_over", T, IM, "batch", {"inputText": "x", "textGenerationConfig": {"maxTokenCount": 9000}}, mal("#/textGenerationConfig/maxTokenCount", "9000 is not less or equal to 8192")),
    Case("t_max_count_float", T, IM, "batch", {"inputText": "x", "textGenerationConfig": {"maxTokenCount": 10.5}}, mal("#/textGenerationConfig/maxTokenCount", "expected type: Integer, found: float")),
    Case("t_temperature_high", T, IM, "batch", {"inputText": "x", "textGenerationConfig": {"temperature": 2}}, mal("#/textGenerationConfig/temperature", "2 is not less or equal to 1")),
    Case("t_top_p_text", T, IM, "batch", {"inputText": "x", "textGenerationConfig": {"topP": "x"}}, mal("#/textGenerationConfig/topP", "expected type: Number, found: str")),
    Case("t_stop_numbers", T, IM, "batch", {"inputText": "x", "textGenerationConfig": {"stopSequences": [1]}}, mal("#/textGenerationConfig/stopSequences", "expected type: JSONArray of String")),
    # --- Titan Text Embeddings V2 ---------------------------------------------------------------
    Case("e_ok", E, IM, "both", {"inputText": "hello", "dimensions": 256, "normalize": True}, None),
    Case("e_no_input", E, IM, "batch", {"dimensions": 256}, mal("#", "required key [inputText] not found")),
    Case("e_extra_key", E, IM, "batch", {"inputText": "x", "model": "y"}, mal("#", "extraneous key [model] is not permitted")),
    Case("e_too_long", E, IM, "batch", {"inputText": "x" * 50_001}, mal("#/inputText", "expected maxLength: 50000")),
    Case("e_dimensions", E, IM, "both", {"inputText": "x", "dimensions": 100}, mal("#/dimensions", "100 is not a valid enum value")),
    Case("e_normalize_text", E, IM, "batch", {"inputText": "x", "normalize": "yes"}, mal("#/normalize", "expected type: Boolean")),
    Case("e_types_int8", E, IM, "batch", {"inputText": "x", "embeddingTypes": ["int8"]}, mal("#/embeddingTypes", "expected a non-empty subset of [float, binary]")),
    # --- Titan Multimodal Embeddings G1 ---------------------------------------------------------
    Case("i_ok", IMG, IM, "both", {"inputText": "a cat", "embeddingConfig": {"outputEmbeddingLength": 384}}, None),
    Case("i_neither", IMG, IM, "batch", {"embeddingConfig": {"outputEmbeddingLength": 256}}, mal("#", "at least one of [inputText, inputImage] is required")),
    Case("i_extra_key", IMG, IM, "batch", {"inputText": "x", "dimensions": 256}, mal("#", "extraneous key [dimensions] is not permitted")),
    Case("i_length_512", IMG, IM, "batch", {"inputText": "x", "embeddingConfig": {"outputEmbeddingLength": 512}}, mal("#/embeddingConfig/outputEmbeddingLength", "not a valid enum value")),
    Case("i_config_text", IMG, IM, "batch", {"inputText": "x", "embeddingConfig": "x"}, mal("#/embeddingConfig", "expected type: JSONObject")),
    Case("i_image_number", IMG, IM, "batch", {"inputImage": 5}, mal("#/inputImage", "expected type: String, found: int")),
    # --- Meta Llama -----------------------------------------------------------------------------
    Case("l_ok", L, IM, "both", {"prompt": "hi", "max_gen_len": 100}, None),
    Case("l_no_prompt", L, IM, "both", {"max_gen_len": 10}, mal("#", "required key [prompt] not found")),
    Case("l_messages", L, IM, "batch", {"prompt": "hi", "messages": []}, mal("#", "extraneous key [messages] is not permitted")),
    Case("l_max_gen_len_over", L, IM, "batch", {"prompt": "hi", "max_gen_len": 5000}, mal("#/max_gen_len", "5000 is not less or equal to 2048")),
    Case("l_max_gen_len_zero", L, IM, "batch", {"prompt": "hi", "max_gen_len": 0}, mal("#/max_gen_len", "0 is not greater or equal to 1")),
    Case("l_temperature_high", L, IM, "batch", {"prompt": "hi", "temperature": 1.5}, mal("#/temperature", "1.5 is not less or equal to 1")),
    Case("l_images_numbers", L, IM, "batch", {"prompt": "hi", "images": [1]}, mal("#/images", "expected type: JSONArray of String")),
    Case("l_prompt_list", L, IM, "batch", {"prompt": ["hi"]}, mal("#/prompt", "expected type: String, found: list")),
    # --- Mistral --------------------------------------------------------------------------------
    Case("m_ok_chat", M, IM, "both", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}, None),
    Case("m_ok_prompt", M, IM, "batch", {"prompt": "<s>[INST] hi [/INST]", "max_tokens": 50}, None),
    Case("m_neither", M, IM, "batch", {"max_tokens": 5}, mal("#", "required key [messages] not found")),
    Case("m_extra_key", M, IM, "batch", {"messages": [{"role": "user", "content": "hi"}], "foo": 1}, mal("#", "extraneous key [foo] is not permitted")),
    Case("m_messages_empty", M, IM, "batch", {"messages": []}, mal("#/messages", "expected minItems: 1")),
    Case("m_role_developer", M, IM, "batch", {"messages": [{"role": "developer", "content": "hi"}]}, mal("#/messages/0/role", "not a valid enum value")),
    Case("m_no_content", M, IM, "batch", {"messages": [{"role": "user"}]}, mal("#/messages/0", "required key [content] not found")),
    Case("m_max_tokens_zero", M, IM, "batch", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, mal("#/max_tokens", "0 is not greater or equal to 1")),
    Case("m_top_k_over", M, IM, "batch", {"messages": [{"role": "user", "content": "hi"}], "top_k": 300}, mal("#/top_k", "300 is not less or equal to 200")),
    Case("m_tool_forced", M, IM, "both", {"messages": [{"role": "user", "content": "weather?"}], "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}], "tool_choice": "any"}, None),
    Case("m_tools_object", M, IM, "batch", {"messages": [{"role": "user", "content": "hi"}], "tools": {}}, mal("#/tools", "expected type: JSONArray")),
    Case("m_tool_retrieval", M, IM, "batch", {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "retrieval"}]}, mal("#/tools/0/type", "function is the only supported value")),
    Case("m_function_no_name", M, IM, "batch", {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"parameters": {}}}]}, mal("#/tools/0/function", "required key [name] not found")),
    Case("m_choice_required", M, IM, "batch", {"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}, mal("#/tool_choice", "required is not a valid enum value")),
    # --- Amazon Nova (InvokeModel) --------------------------------------------------------------
    Case("n_ok", N, IM, "both", messages_body(), None),
    Case("n_ok_schema_version", N, IM, "batch", messages_body(schemaVersion="messages-v1"), None),
    Case("n_schema_version", N, IM, "batch", messages_body(schemaVersion="v2"), mal("#/schemaVersion", "messages-v1 is the only supported value")),
    Case("n_model_id_inside", N, IM, "both", messages_body(modelId=N), mal("#", "extraneous key [modelId] is not permitted")),
    Case("n_no_messages", N, IM, "batch", without(messages_body(), "messages"), mal("#", "required key [messages] not found")),
    Case("n_messages_empty", N, IM, "batch", messages_body(messages=[]), mal("#/messages", "expected minItems: 1")),
    Case("n_role_system", N, IM, "batch", messages_body(messages=[{"role": "system", "content": [{"text": "hi"}]}]), mal("#/messages/0/role", "not a valid enum value")),
    Case("n_content_text", N, IM, "batch", messages_body(messages=msgs("hi")), mal("#/messages/0/content", "expected type: JSONArray")),
    Case("n_block_two_members", N, IM, "batch", messages_body(messages=msgs([{"text": "a", "image": {}}])), mal("#/messages/0/content/0", "not a valid content block")),
    Case("n_block_anthropic_style", N, IM, "both", messages_body(messages=msgs([{"type": "text", "text": "hi"}])), mal("#/messages/0/content/0", "not a valid content block")),
    Case("n_empty_text", N, IM, "batch", messages_body(messages=msgs([{"text": ""}])), mal("#/messages/0/content/0/text", "expected minLength: 1")),
    Case("n_first_assistant", N, IM, "batch", messages_body(messages=[{"role": "assistant", "content": [{"text": "hi"}]}]), "A conversation must start with a user message. Try again with a conversation that starts with a user message."),
    Case("n_system_text", N, IM, "batch", messages_body(system="be brief"), mal("#/system", "expected type: JSONArray")),
    Case("n_config_list", N, IM, "batch", messages_body(inferenceConfig=[]), mal("#/inferenceConfig", "expected type: JSONObject")),
    Case("n_config_extra", N, IM, "batch", messages_body(inferenceConfig={"max_tokens": 5}), mal("#/inferenceConfig", "extraneous key [max_tokens] is not permitted")),
    Case("n_max_tokens_over", N, IM, "both", messages_body(inferenceConfig={"maxTokens": 20000}), mal("#/inferenceConfig/maxTokens", "20000 is not less or equal to 10000")),
    Case("n_top_k_over", N, IM, "batch", messages_body(inferenceConfig={"topK": 500}), mal("#/inferenceConfig/topK", "500 is not less or equal to 128")),
    Case("n_tool_forced", N, IM, "both", messages_body(toolConfig={"tools": [TOOL_SPEC], "toolChoice": {"tool": {"name": "get_weather"}}}), None),
    Case("n_tool_round_trip", N, IM, "batch", messages_body(messages=CONVERSE_TOOL_TURNS, toolConfig={"tools": [TOOL_SPEC]}), None),
    Case("n_tools_empty", N, IM, "batch", messages_body(toolConfig={"tools": []}), mal("#/toolConfig/tools", "expected minItems: 1")),
    Case("n_tool_openai_style", N, IM, "batch", messages_body(toolConfig={"tools": [{"name": "get_weather"}]}), mal("#/toolConfig/tools/0", "required key [toolSpec] not found")),
    Case("n_tool_no_schema", N, IM, "batch", messages_body(toolConfig={"tools": [{"toolSpec": {"name": "x"}}]}), mal("#/toolConfig/tools/0/toolSpec", "required key [inputSchema] not found")),
    Case("n_tool_schema_no_json", N, IM, "batch", messages_body(toolConfig={"tools": [{"toolSpec": {"name": "x", "inputSchema": {}}}]}), mal("#/toolConfig/tools/0/toolSpec/inputSchema", "required key [json] not found")),
    Case("n_tool_bad_name", N, IM, "batch", messages_body(toolConfig={"tools": [{"toolSpec": {"name": "get weather", "inputSchema": {"json": {}}}}]}), mal("#/toolConfig/tools/0/toolSpec/name", "string does not match pattern ^[a-zA-Z0-9_-]{1,64}$")),
    Case("n_tools_duplicate", N, IM, "batch", messages_body(toolConfig={"tools": [TOOL_SPEC, TOOL_SPEC]}), mal("#/toolConfig/tools", "tool names must be unique")),
    Case("n_choice_unknown_tool", N, IM, "both", messages_body(toolConfig={"tools": [TOOL_SPEC], "toolChoice": {"tool": {"name": "nope"}}}), mal("#/toolConfig/toolChoice/tool/name", "nope is not the name of a tool in toolConfig")),
    Case("n_choice_two", N, IM, "batch", messages_body(toolConfig={"tools": [TOOL_SPEC], "toolChoice": {"auto": {}, "any": {}}}), mal("#/toolConfig/toolChoice", "exactly one of [auto, any, tool] is required")),
    Case("n_tool_blocks_without_config", N, IM, "batch", messages_body(messages=CONVERSE_TOOL_TURNS), "The toolConfig field must be defined when using toolUse and toolResult content blocks."),
    # --- Converse (any model) -------------------------------------------------------------------
    Case("c_ok", A, CV, "both", messages_body(), None),
    Case("c_model_id_inside", A, CV, "batch", messages_body(modelId=A), "The model input is invalid: extraneous key [modelId] is not permitted"),
    Case("c_anthropic_body", A, CV, "batch", claude(), "The model input is invalid: extraneous key [anthropic_version] is not permitted"),
    Case("c_tool_config_in_batch", A, CV, "batch", messages_body(toolConfig={"tools": [TOOL_SPEC], "toolChoice": {"any": {}}}), "Tool use (toolConfig) is not supported for batch inference with the Converse API."),
    Case("c_first_assistant", A, CV, "both", messages_body(messages=[{"role": "assistant", "content": [{"text": "hi"}]}]), "A conversation must start with a user message. Try again with a conversation that starts with a user message."),
    Case("c_max_tokens_over", A, CV, "both", messages_body(inferenceConfig={"maxTokens": 5000}), "The maximum tokens you requested exceeds the model limit of 4096."),
    Case("c_temperature_high", A, CV, "batch", messages_body(inferenceConfig={"temperature": 2}), mal("#/inferenceConfig/temperature", "2 is not less or equal to 1")),
    Case("c_config_extra", A, CV, "batch", messages_body(inferenceConfig={"max_tokens": 5}), mal("#/inferenceConfig", "extraneous key [max_tokens] is not permitted")),
    Case("c_extra_fields_text", A, CV, "batch", messages_body(additionalModelRequestFields="x"), mal("#/additionalModelRequestFields", "expected type: JSONObject")),
    Case("c_tool_blocks_without_config", A, CV, "both", messages_body(messages=CONVERSE_TOOL_TURNS), "The toolConfig field must be defined when using toolUse and toolResult content blocks."),
    Case("c_structured_output", A, CV, "both", messages_body(outputConfig=output_config(json.dumps(JSON_ANSWER))), None),
    Case("c_structured_output_not_json", A, CV, "both", messages_body(outputConfig=output_config("{not json")), mal("#/outputConfig/textFormat/structure/jsonSchema/schema", "expected a JSON schema object")),
    Case("c45_temperature_and_top_p", HAIKU45, CV, "both", messages_body(inferenceConfig={"maxTokens": 100, "temperature": 0.5, "topP": 0.9}), "`temperature` and `top_p` cannot both be specified"),
    Case("c_embedding_model", E, CV, "runtime", messages_body(), "The Converse API does not support embedding models."),
    # on-demand Converse: tool use is allowed there
    Case("cr_tool_forced", A, CV, "runtime", messages_body(toolConfig={"tools": [TOOL_SPEC], "toolChoice": {"tool": {"name": "get_weather"}}}), None, client=False),
    Case("cr_tool_round_trip", N, CV, "runtime", messages_body(messages=CONVERSE_TOOL_TURNS, toolConfig={"tools": [TOOL_SPEC]}), None, client=False),
    Case("cr_choice_unknown_tool", A, CV, "runtime", messages_body(toolConfig={"tools": [TOOL_SPEC], "toolChoice": {"tool": {"name": "nope"}}}), mal("#/toolConfig/toolChoice/tool/name", "nope is not the name of a tool in toolConfig"), client=False),
    Case("cr_titan_no_tools", T, CV, "runtime", messages_body(toolConfig={"tools": [TOOL_SPEC]}), "This model doesn't support tool use.", client=False),
    Case("cr_llama_choice_any", L, CV, "runtime", messages_body(toolConfig={"tools": [TOOL_SPEC], "toolChoice": {"any": {}}}), "This model doesn't support the toolConfig.toolChoice.any field. Remove toolConfig.toolChoice.any and try again.", client=False),
    # --- late 2026 (bedrock-facts.md §12); the client side of these comes later (client=False)
    # Claude structured outputs (§12.3): only on models whose native_structured_outputs is True
    Case("a45_output_config", S45, IM, "both", claude(output_config={"format": json_format(CLOSED_ANSWER)}), None, client=False),
    Case("a45_output_format", S45, IM, "batch", claude(output_format=json_format(CLOSED_ANSWER)), None, client=False),
    Case("a45_strict_tool", S45, IM, "both", claude(tools=[{**WEATHER, "input_schema": CLOSED_WEATHER, "strict": True}], tool_choice={"type": "tool", "name": "get_weather"}), None, client=False),
    Case("a_output_config_unsupported", A, IM, "both", claude(output_config={"format": json_format(CLOSED_ANSWER)}), "output_config.format: This model does not support structured outputs.", client=False),
    Case("a_output_format_unsupported", A, IM, "batch", claude(output_format=json_format(CLOSED_ANSWER)), "output_format: This model does not support structured outputs.", client=False),
    Case("a_strict_tool_unsupported", A, IM, "batch", claude(tools=[{**WEATHER, "input_schema": CLOSED_WEATHER, "strict": True}]), "tools.0.strict: This model does not support structured outputs.", client=False),
    Case("a45_output_config_open_object", S45, IM, "batch", claude(output_config={"format": json_format(JSON_ANSWER)}), "output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false", client=False),
    Case("a45_strict_tool_open_object", S45, IM, "batch", claude(tools=[{**WEATHER, "strict": True}]), "tools.0.input_schema: For 'object' type, 'additionalProperties' must be explicitly set to false", client=False),
    Case("a45_both_formats", S45, IM, "batch", claude(output_config={"format": json_format(CLOSED_ANSWER)}, output_format=json_format(CLOSED_ANSWER)), "output_format: Cannot be used together with output_config.format", client=False),
    Case("a45_format_type", S45, IM, "batch", claude(output_config={"format": {"type": "json"}}), "output_config.format.type: Input should be 'json_schema'", client=False),
    Case("a45_strict_text", S45, IM, "batch", claude(tools=[{**WEATHER, "strict": "yes"}]), "tools.0.strict: Input should be a valid boolean", client=False),
    # Claude prompt caching (§12.4)
    Case("a_cache_control", A, IM, "both", claude(system=CACHED_SYSTEM), None, client=False),
    Case("a_cache_control_ttl", S45, IM, "batch", claude(system=[{**CACHED_SYSTEM[0], "cache_control": {"type": "ephemeral", "ttl": "1h"}}], tools=[{**WEATHER, "cache_control": {"type": "ephemeral"}}]), None, client=False),
    Case("a_cache_control_message", A, IM, "batch", claude(messages=msgs([{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "5m"}}])), None, client=False),
    Case("a_cache_control_bad_ttl", A, IM, "both", claude(system=[{**CACHED_SYSTEM[0], "cache_control": {"type": "ephemeral", "ttl": "2h"}}]), "system.0.cache_control.ttl: Input should be '5m' or '1h'", client=False),
    Case("a_cache_control_bad_type", A, IM, "batch", claude(messages=msgs([{"type": "text", "text": "hi", "cache_control": {"type": "persistent"}}])), "messages.0.content.0.cache_control.type: Input should be 'ephemeral'", client=False),
    Case("a_cache_control_tool_extra", A, IM, "batch", claude(tools=[{**WEATHER, "cache_control": {"type": "ephemeral", "scope": "x"}}]), "tools.0.cache_control.scope: Extra inputs are not permitted", client=False),
    # Converse and Nova: cachePoint blocks (§12.4), Nova 2 Lite (§12.1), structured outputs (§12.3)
    Case("c_cache_point", A, CV, "both", messages_body(system=[{"text": "be brief"}, {"cachePoint": {"type": "default"}}]), None, client=False),
    Case("c_cache_point_ttl", A, CV, "batch", messages_body(system=[{"text": "be brief"}, {"cachePoint": {"type": "default", "ttl": "1h"}}]), None, client=False),
    Case("c_cache_point_bad_ttl", A, CV, "batch", messages_body(system=[{"text": "be brief"}, {"cachePoint": {"type": "default", "ttl": "2h"}}]), mal("#/system/1/cachePoint/ttl", "2h is not a valid enum value"), client=False),
    Case("c_structured_schema_object", A, CV, "batch", messages_body(outputConfig={"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": JSON_ANSWER, "name": "answer"}}}}), mal("#/outputConfig/textFormat/structure", "required key [jsonSchema] not found"), client=False),
    Case("n_cache_point", N, IM, "both", messages_body(messages=msgs([{"text": "hi"}, {"cachePoint": {"type": "default"}}])), None, client=False),
    Case("n_cache_point_bad_type", N, IM, "batch", messages_body(messages=msgs([{"text": "hi"}, {"cachePoint": {"type": "ephemeral"}}])), mal("#/messages/0/content/1/cachePoint/type", "default is the only supported value"), client=False),
    Case("n_cache_point_tool", N, IM, "batch", messages_body(toolConfig={"tools": [TOOL_SPEC, {"cachePoint": {"type": "default", "ttl": "9m"}}]}), mal("#/toolConfig/tools/1/cachePoint/ttl", "9m is not a valid enum value"), client=False),
    Case("n2_ok", N2, IM, "both", messages_body(), None, client=False),
    Case("n2_max_tokens_over", N2, IM, "batch", messages_body(inferenceConfig={"maxTokens": 70000}), mal("#/inferenceConfig/maxTokens", "70000 is not less or equal to 65536"), client=False),
    Case("c_n2_structured", N2, CV, "both", messages_body(outputConfig=output_config(json.dumps(CLOSED_ANSWER))), None, client=False),
    # OpenAI chat completions: gpt-oss, Qwen3, DeepSeek V3.1 (§12.2)
    Case("o_ok", OSS, IM, "both", chat(), None),
    Case("o_ok_parts", OSS, IM, "batch", chat(messages=[{"role": "system", "content": [{"type": "text", "text": "hi"}]}, {"role": "user", "content": "hi"}], max_tokens=50, temperature=0.7, top_p=0.9, stop=["\n\n"]), None),
    Case("o_ok_model_named", OSS, IM, "batch", chat(model=OSS, reasoning_effort="low"), None),
    Case("o20_json_schema", OSS20, IM, "both", chat(response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": CLOSED_ANSWER, "strict": True}}), None),
    Case("o_tool_forced", OSS, IM, "both", chat(tools=[CHAT_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}}), None),
    Case("o_tool_round_trip", OSS, IM, "batch", chat(messages=[{"role": "user", "content": "weather?"}, {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "call_1", "content": "18C"}], tools=[CHAT_TOOL]), None),
    Case("q_ok", Q, IM, "both", chat(), None),
    Case("o_no_messages", OSS, IM, "both", without(chat(), "messages"), mal("#", "required key [messages] not found")),
    Case("o_extra_key", OSS, IM, "batch", chat(modelId=OSS), mal("#", "extraneous key [modelId] is not permitted")),
    Case("o_anthropic_body", OSS, IM, "batch", claude(), mal("#", "extraneous key [anthropic_version] is not permitted")),
    Case("o_role_model", OSS, IM, "batch", chat(messages=[{"role": "model", "content": "hi"}]), mal("#/messages/0/role", "not a valid enum value")),
    Case("o_image_part", OSS, IM, "batch", chat(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]), mal("#/messages/0/content/0/type", "text is the only supported value")),
    Case("o_max_over", OSS, IM, "both", chat(max_completion_tokens=99999), mal("#/max_completion_tokens", "99999 is not less or equal to 32768")),
    Case("o_temperature_high", OSS, IM, "batch", chat(temperature=3), mal("#/temperature", "3 is not less or equal to 2")),
    Case("o_model_mismatch", OSS, IM, "batch", chat(model=OSS20), mal("#/model", f"{OSS20} is not the model being invoked")),
    Case("o_format_xml", OSS, IM, "batch", chat(response_format={"type": "xml"}), mal("#/response_format/type", "not a valid enum value")),
    Case("o_schema_no_name", OSS, IM, "batch", chat(response_format={"type": "json_schema", "json_schema": {"schema": CLOSED_ANSWER}}), mal("#/response_format/json_schema", "required key [name] not found")),
    Case("o_choice_unknown_tool", OSS, IM, "batch", chat(tools=[CHAT_TOOL], tool_choice={"type": "function", "function": {"name": "nope"}}), mal("#/tool_choice/function/name", "nope is not the name of a tool in tools")),
    Case("o_stop_many", OSS, IM, "batch", chat(stop=["a", "b", "c", "d", "e"]), mal("#/stop", "expected maxItems: 4")),
    Case("o_effort_max", OSS, IM, "batch", chat(reasoning_effort="max"), mal("#/reasoning_effort", "max is not a valid enum value")),
    # Nova multimodal embeddings (§12.2)
    Case("ne_ok", NE, IM, "both", nova_embed(), None),
    Case("ne_ok_image", NE, IM, "batch", nova_embed(image={"format": "png", "source": {"bytes": "iVBORw0KGgo="}}), None),
    Case("ne_ok_default_dimension", NE, IM, "batch", {**nova_embed(), "singleEmbeddingParams": {"embeddingPurpose": "TEXT_RETRIEVAL", "text": {"value": "hi"}}}, None),
    Case("ne_titan_body", NE, IM, "both", {"inputText": "hello"}, mal("#", "required key [schemaVersion] not found")),
    Case("ne_bad_version", NE, IM, "batch", {**nova_embed(), "schemaVersion": "messages-v1"}, mal("#/schemaVersion", "nova-multimodal-embed-v1 is the only supported value")),
    Case("ne_segmented", NE, IM, "batch", {**nova_embed(), "taskType": "SEGMENTED_EMBEDDING"}, mal("#/taskType", "SEGMENTED_EMBEDDING is only supported asynchronously")),
    Case("ne_no_params", NE, IM, "batch", without(nova_embed(), "singleEmbeddingParams"), mal("#", "required key [singleEmbeddingParams] not found")),
    Case("ne_purpose", NE, IM, "batch", nova_embed(embeddingPurpose="SEARCH", text={"value": "hi"}), mal("#/singleEmbeddingParams/embeddingPurpose", "not a valid enum value")),
    Case("ne_dimension_512", NE, IM, "both", nova_embed(embeddingDimension=512, text={"value": "hi"}), mal("#/singleEmbeddingParams/embeddingDimension", "512 is not a valid enum value")),
    Case("ne_two_inputs", NE, IM, "batch", nova_embed(text={"value": "hi"}, image={"format": "png", "source": {"bytes": "AAAA"}}), mal("#/singleEmbeddingParams", "exactly one of [text, image, audio, video] is required")),
    Case("ne_video_format", NE, IM, "batch", nova_embed(video={"format": "avi", "source": {"bytes": "AAAA"}}), mal("#/singleEmbeddingParams/video/format", "avi is not a valid enum value")),
    Case("ne_converse", NE, CV, "runtime", messages_body(), "The Converse API does not support embedding models."),
]  # fmt: skip

# --- late 2026 (facts §12.2-§12.4): the client side of the new families and features --------


def chat(**extra: Any) -> dict[str, Any]:
    """An OpenAI chat-completions body."""
    body: dict[str, Any] = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
        "max_completion_tokens": 100,
    }
    body.update(extra)
    return body


def nova_embed(**params: Any) -> dict[str, Any]:
    """A Nova multimodal embeddings body."""
    single: dict[str, Any] = {
        "embeddingPurpose": "GENERIC_INDEX",
        "embeddingDimension": 256,
        "text": {"truncationMode": "END", "value": "hello"},
    }
    single.update(params)
    return {
        "schemaVersion": "nova-multimodal-embed-v1",
        "taskType": "SINGLE_EMBEDDING",
        "singleEmbeddingParams": {k: v for k, v in single.items() if v is not None},
    }


def ne_params(**params: Any) -> dict[str, Any]:
    """A Nova multimodal embeddings body whose only input is ``params`` (no text)."""
    body = nova_embed()
    body["singleEmbeddingParams"] = {"embeddingPurpose": "GENERIC_INDEX", "embeddingDimension": 256, **params}  # fmt: skip
    return body


#: JSON_ANSWER closed (``additionalProperties: false``), as native structured outputs need it.
CLOSED_WEATHER_TOOL = {**WEATHER, "input_schema": {**WEATHER_SCHEMA, "additionalProperties": False}}
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "schema": CLOSED_ANSWER, "strict": True},
}
CHAT_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
CACHED_SYSTEM = [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}]
CACHE_POINT = {"cachePoint": {"type": "default"}}
G, NE, S45 = GPT_OSS, NOVA_EMBED, SONNET45

CASES += [
    # --- OpenAI chat completions (gpt-oss, Qwen3, DeepSeek V3.1) --------------------------------
    Case("o_ok_client", G, IM, "both", chat(), None),
    Case("o_ok_system_role_and_stop", G, IM, "batch", chat(messages=[{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}], stop=["END"], temperature=0.7), None),
    Case("o_response_format", G, IM, "both", chat(response_format=RESPONSE_FORMAT), None),
    Case("o_tool_forced_client", G, IM, "both", chat(tools=[CHAT_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}}), None),
    Case("o_no_messages_client", G, IM, "batch", without(chat(), "messages"), mal("#", "required key [messages] not found")),
    Case("o_extra_key_client", G, IM, "both", chat(modelId=G), mal("#", "extraneous key [modelId] is not permitted")),
    Case("o_messages_empty", G, IM, "batch", chat(messages=[]), mal("#/messages", "expected minItems: 1")),
    Case("o_role_bot", G, IM, "batch", chat(messages=[{"role": "bot", "content": "hi"}]), mal("#/messages/0/role", "not a valid enum value")),
    Case("o_image_part_client", G, IM, "batch", chat(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]), mal("#/messages/0/content/0/type", "text is the only supported value")),
    Case("o_max_tokens_zero", G, IM, "batch", chat(max_completion_tokens=0), mal("#/max_completion_tokens", "0 is not greater or equal to 1")),
    Case("o_temperature_high_client", G, IM, "batch", chat(temperature=3), mal("#/temperature", "3 is not less or equal to 2")),
    Case("o_stop_five", G, IM, "batch", chat(stop=["a", "b", "c", "d", "e"]), mal("#/stop", "expected maxItems: 4")),
    Case("o_effort_extreme", G, IM, "batch", chat(reasoning_effort="extreme"), mal("#/reasoning_effort", "extreme is not a valid enum value")),
    Case("o_format_xml_client", G, IM, "batch", chat(response_format={"type": "xml"}), mal("#/response_format/type", "not a valid enum value")),
    Case("o_format_no_schema", G, IM, "batch", chat(response_format={"type": "json_schema"}), mal("#/response_format", "required key [json_schema] not found")),
    Case("o_choice_unknown_tool_client", G, IM, "batch", chat(tools=[CHAT_TOOL], tool_choice={"type": "function", "function": {"name": "nope"}}), mal("#/tool_choice/function/name", "nope is not the name of a tool in tools")),
    # --- Nova multimodal embeddings -------------------------------------------------------------
    Case("ne_ok_client", NE, IM, "both", nova_embed(), None),
    Case("ne_no_schema_version", NE, IM, "batch", without(nova_embed(), "schemaVersion"), mal("#", "required key [schemaVersion] not found")),
    Case("ne_schema_version", NE, IM, "batch", {**nova_embed(), "schemaVersion": "v2"}, mal("#/schemaVersion", "nova-multimodal-embed-v1 is the only supported value")),
    Case("ne_segmented_client", NE, IM, "batch", {**nova_embed(), "taskType": "SEGMENTED_EMBEDDING"}, mal("#/taskType", "SEGMENTED_EMBEDDING is only supported asynchronously")),
    Case("ne_dimension", NE, IM, "both", nova_embed(embeddingDimension=512), mal("#/singleEmbeddingParams/embeddingDimension", "512 is not a valid enum value")),
    Case("ne_purpose_client", NE, IM, "batch", nova_embed(embeddingPurpose="SEARCH"), mal("#/singleEmbeddingParams/embeddingPurpose", "not a valid enum value")),
    Case("ne_two_inputs_client", NE, IM, "batch", nova_embed(image={"format": "png", "source": {"bytes": "AAAA"}}), mal("#/singleEmbeddingParams", "exactly one of [text, image, audio, video] is required")),
    Case("ne_titan_body_client", NE, IM, "batch", {"inputText": "hello"}, mal("#", "required key [schemaVersion] not found")),
    # --- one case per rule of openai-chat and nova-embed, on both sides: removing any rule from
    # either implementation fails one of these (checked by deleting each rule in turn) -----------
    Case("o_stop_number", G, IM, "batch", chat(stop=5), mal("#/stop", "expected type: String or JSONArray of String")),
    Case("o_schema_name_number", G, IM, "batch", chat(response_format={"type": "json_schema", "json_schema": {"name": 5, "schema": CLOSED_ANSWER}}), mal("#/response_format/json_schema/name", "expected type: String, found: int")),
    Case("o_schema_not_object", G, IM, "batch", chat(response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": "x"}}), mal("#/response_format/json_schema/schema", "expected type: JSONObject")),
    Case("o_schema_strict_text", G, IM, "batch", chat(response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": CLOSED_ANSWER, "strict": "yes"}}), mal("#/response_format/json_schema/strict", "expected type: Boolean")),
    Case("o_tools_empty", G, IM, "batch", chat(tools=[]), mal("#/tools", "expected type: JSONArray")),
    Case("o_choice_no_function", G, IM, "batch", chat(tools=[CHAT_TOOL], tool_choice={"type": "function"}), mal("#/tool_choice", "expected none, auto, required or a function")),
    Case("o_max_tokens_zero_legacy", G, IM, "batch", chat(max_tokens=0), mal("#/max_tokens", "0 is not greater or equal to 1")),
    Case("o_top_p_high", G, IM, "batch", chat(top_p=2), mal("#/top_p", "2 is not less or equal to 1")),
    Case("o_frequency_penalty", G, IM, "batch", chat(frequency_penalty=3), mal("#/frequency_penalty", "3 is not less or equal to 2")),
    Case("o_presence_penalty", G, IM, "batch", chat(presence_penalty=-3), mal("#/presence_penalty", "-3 is not greater or equal to -2")),
    Case("o_seed_text", G, IM, "batch", chat(seed="x"), mal("#/seed", "expected type: Integer")),
    Case("o_message_extra", G, IM, "batch", chat(messages=[{"role": "user", "content": "hi", "foo": 1}]), mal("#/messages/0", "extraneous key [foo] is not permitted")),
    Case("o_content_empty_list", G, IM, "batch", chat(messages=[{"role": "user", "content": []}]), mal("#/messages/0", "required key [content] not found")),
    Case("o_tool_type_code", G, IM, "batch", chat(tools=[{"type": "code", "function": CHAT_TOOL["function"]}]), mal("#/tools/0/type", "function is the only supported value")),
    Case("o_tool_function_text", G, IM, "batch", chat(tools=[{"type": "function", "function": "get_weather"}]), mal("#/tools/0", "required key [function] not found")),
    Case("o_tool_no_name", G, IM, "batch", chat(tools=[{"type": "function", "function": {"parameters": WEATHER_SCHEMA}}]), mal("#/tools/0/function", "required key [name] not found")),
    Case("o_tool_name_number", G, IM, "batch", chat(tools=[{"type": "function", "function": {"name": 5, "parameters": WEATHER_SCHEMA}}]), mal("#/tools/0/function/name", "expected type: String, found: int")),
    Case("o_tool_parameters_text", G, IM, "batch", chat(tools=[{"type": "function", "function": {"name": "w", "parameters": "x"}}]), mal("#/tools/0/function/parameters", "expected type: JSONObject")),
    Case("o_choice_always", G, IM, "batch", chat(tools=[CHAT_TOOL], tool_choice="always"), mal("#/tool_choice", "always is not a valid enum value")),
    Case("o_choice_required_no_tools", G, IM, "batch", chat(tool_choice="required"), mal("#/tool_choice", "required needs tools")),
    Case("o_part_text_number", G, IM, "batch", chat(messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}]), mal("#/messages/0/content/0/text", "expected type: String, found: int")),
    Case("o_tool_message_no_id", G, IM, "batch", chat(messages=[{"role": "user", "content": "hi"}, {"role": "tool", "content": "sunny"}]), mal("#/messages/1", "required key [tool_call_id] not found")),
    Case("ne_image_text", NE, IM, "batch", ne_params(image="x"), mal("#/singleEmbeddingParams/image", "expected type: JSONObject")),
    Case("ne_image_no_source", NE, IM, "batch", ne_params(image={"format": "png"}), mal("#/singleEmbeddingParams/image", "required key [source] not found")),
    Case("ne_image_bmp", NE, IM, "batch", ne_params(image={"format": "bmp", "source": {"bytes": "AAAA"}}), mal("#/singleEmbeddingParams/image/format", "bmp is not a valid enum value")),
    Case("ne_source_two", NE, IM, "batch", ne_params(image={"format": "png", "source": {"bytes": "AAAA", "s3Location": {"uri": "s3://b/k.png"}}}), mal("#/singleEmbeddingParams/image/source", "exactly one of [bytes, s3Location] is required")),
    Case("ne_source_empty", NE, IM, "batch", ne_params(image={"format": "png", "source": {}}), mal("#/singleEmbeddingParams/image/source", "exactly one of [bytes, s3Location] is required")),
    Case("ne_location_text", NE, IM, "batch", ne_params(image={"format": "png", "source": {"s3Location": "s3://b/k.png"}}), mal("#/singleEmbeddingParams/image/source", "exactly one of [bytes, s3Location] is required")),
    Case("ne_location_no_uri", NE, IM, "batch", ne_params(image={"format": "png", "source": {"s3Location": {}}}), mal("#/singleEmbeddingParams/image/source/s3Location", "required key [uri] not found")),
    Case("ne_location_uri_number", NE, IM, "batch", ne_params(image={"format": "png", "source": {"s3Location": {"uri": 5}}}), mal("#/singleEmbeddingParams/image/source/s3Location/uri", "expected type: String, found: int")),
    Case("ne_bytes_number", NE, IM, "batch", ne_params(image={"format": "png", "source": {"bytes": 5}}), mal("#/singleEmbeddingParams/image/source/bytes", "expected type: String, found: int")),
    Case("ne_extra_key", NE, IM, "batch", {**nova_embed(), "inputText": "x"}, mal("#", "extraneous key [inputText] is not permitted")),
    Case("ne_task_other", NE, IM, "batch", {**nova_embed(), "taskType": "BATCH_EMBEDDING"}, mal("#/taskType", "BATCH_EMBEDDING is not a valid enum value")),
    Case("ne_params_text", NE, IM, "batch", {**nova_embed(), "singleEmbeddingParams": "hello"}, mal("#/singleEmbeddingParams", "expected type: JSONObject")),
    Case("ne_params_extra", NE, IM, "batch", nova_embed(normalize=True), mal("#/singleEmbeddingParams", "extraneous key [normalize] is not permitted")),
    Case("ne_no_purpose", NE, IM, "batch", {**nova_embed(), "singleEmbeddingParams": {"embeddingDimension": 256, "text": {"value": "hi"}}}, mal("#/singleEmbeddingParams", "required key [embeddingPurpose] not found")),
    Case("ne_text_string", NE, IM, "batch", nova_embed(text="hello"), mal("#/singleEmbeddingParams/text", "expected type: JSONObject")),
    Case("ne_text_extra", NE, IM, "batch", nova_embed(text={"value": "hi", "language": "en"}), mal("#/singleEmbeddingParams/text", "extraneous key [language] is not permitted")),
    Case("ne_text_no_value", NE, IM, "batch", nova_embed(text={"truncationMode": "END"}), mal("#/singleEmbeddingParams/text", "required key [value] not found")),
    Case("ne_text_value_number", NE, IM, "batch", nova_embed(text={"value": 5}), mal("#/singleEmbeddingParams/text/value", "expected type: String, found: int")),
    Case("ne_too_long_untruncated", NE, IM, "batch", nova_embed(text={"value": "word " * 8000, "truncationMode": "NONE"}), mal("#/singleEmbeddingParams/text/value", "exceeds the limit of 8192 tokens")),
    Case("ne_long_truncated", NE, IM, "batch", nova_embed(text={"value": "word " * 8000, "truncationMode": "END"}), None),
    Case("ne_truncation_middle", NE, IM, "batch", nova_embed(text={"value": "hi", "truncationMode": "MIDDLE"}), mal("#/singleEmbeddingParams/text/truncationMode", "not a valid enum value")),
    Case("ne_audio_mp4_format", NE, IM, "batch", ne_params(audio={"format": "flac", "source": {"bytes": "AAAA"}}), mal("#/singleEmbeddingParams/audio/format", "flac is not a valid enum value")),
    Case("ne_dimension_text", NE, IM, "batch", nova_embed(embeddingDimension="256"), mal("#/singleEmbeddingParams/embeddingDimension", "256 is not a valid enum value")),

    # --- Claude structured outputs and prompt caching (Sonnet 4.5) ------------------------------
    Case("a45_output_config_client", S45, IM, "both", claude(output_config={"format": {"type": "json_schema", "schema": CLOSED_ANSWER}}), None),
    Case("a45_output_format_deprecated", S45, IM, "batch", claude(output_format={"type": "json_schema", "schema": CLOSED_ANSWER}), None),
    Case("a45_tool_strict", S45, IM, "both", claude(tools=[{**CLOSED_WEATHER_TOOL, "strict": True}], tool_choice={"type": "tool", "name": "get_weather"}), None),
    Case("a45_cache_control_system", S45, IM, "both", claude(system=CACHED_SYSTEM), None),
    Case("a45_output_config_open_object_client", S45, IM, "batch", claude(output_config={"format": {"type": "json_schema", "schema": JSON_ANSWER}}), "output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false"),
    Case("a45_output_config_and_format", S45, IM, "batch", claude(output_config={"format": {"type": "json_schema", "schema": CLOSED_ANSWER}}, output_format={"type": "json_schema", "schema": CLOSED_ANSWER}), "output_format: Cannot be used together with output_config.format"),
    Case("a45_output_config_type", S45, IM, "batch", claude(output_config={"format": {"type": "json", "schema": CLOSED_ANSWER}}), "output_config.format.type: Input should be 'json_schema'"),
    Case("a45_tool_strict_text", S45, IM, "batch", claude(tools=[{**CLOSED_WEATHER_TOOL, "strict": "yes"}]), "tools.0.strict: Input should be a valid boolean"),
    Case("a45_cache_control_persistent", S45, IM, "batch", claude(system=[{"type": "text", "text": "x", "cache_control": {"type": "persistent"}}]), "system.0.cache_control.type: Input should be 'ephemeral'"),
    Case("a45_cache_control_ttl", S45, IM, "batch", claude(system=[{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}]), "system.0.cache_control.ttl: Input should be '5m' or '1h'"),
    Case("a_output_config_old_model", A, IM, "both", claude(output_config={"format": {"type": "json_schema", "schema": CLOSED_ANSWER}}), "output_config.format: This model does not support structured outputs."),
    Case("a_tool_strict_old_model", A, IM, "batch", claude(tools=[{**CLOSED_WEATHER_TOOL, "strict": True}]), "tools.0.strict: This model does not support structured outputs."),
    # --- Converse structured outputs, strict tools and cache points -----------------------------
    Case("c45_structured_output", S45, CV, "batch", messages_body(outputConfig=output_config(json.dumps(CLOSED_ANSWER))), None),
    Case("c_cache_point_system", S45, CV, "both", messages_body(system=[{"text": "be brief"}, CACHE_POINT]), None),
    Case("c_cache_point_prompt", S45, CV, "batch", messages_body(messages=msgs([{"text": "hi"}, CACHE_POINT])), None),
    Case("c_cache_point_type", S45, CV, "batch", messages_body(system=[{"text": "x"}, {"cachePoint": {"type": "forever"}}]), mal("#/system/1/cachePoint/type", "default is the only supported value")),
    Case("c_cache_point_ttl_client", S45, CV, "batch", messages_body(system=[{"text": "x"}, {"cachePoint": {"type": "default", "ttl": "2h"}}]), mal("#/system/1/cachePoint/ttl", "2h is not a valid enum value")),
    Case("c_structured_schema_object_client", S45, CV, "batch", messages_body(outputConfig={"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": CLOSED_ANSWER, "name": "answer"}}}}), mal("#/outputConfig/textFormat/structure", "required key [jsonSchema] not found")),
    Case("cr45_tool_strict", S45, CV, "runtime", messages_body(toolConfig={"tools": [{"toolSpec": {**TOOL_SPEC["toolSpec"], "strict": True}}], "toolChoice": {"tool": {"name": "get_weather"}}}), None, client=False),
    Case("n_cache_point_system", N, IM, "batch", messages_body(system=[{"text": "be brief"}, CACHE_POINT]), None),
]  # fmt: skip

FAMILIES = {
    HAIKU: "anthropic",
    HAIKU45: "anthropic",
    TITAN_TEXT: "titan-text",
    TITAN_EMBED: "titan-embed-text",
    TITAN_IMAGE: "titan-embed-image",
    LLAMA: "llama",
    MISTRAL: "mistral",
    NOVA: "nova",
    SONNET45: "anthropic",
    NOVA2: "nova",
    NOVA_EMBED: "nova-embed",
    GPT_OSS: "openai-chat",
    GPT_OSS_20B: "openai-chat",
    QWEN: "openai-chat",
}

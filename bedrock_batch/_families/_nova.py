"""Amazon Nova (InvokeModel): its request rules; its bodies, forced tool and outputs are
Converse's message shapes (a ``schemaVersion`` ahead), so it builds on :mod:`._converse`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._catalog import ModelInfo
from ._converse import (
    ConverseFamily,
    _messages_content,
    _tool_blocks_without_config,
    _tool_config,
    converse_message_body,
)
from ._protocol import Images, not_yet
from ._schema_rules import _malformed, _schema_extra, _schema_num, run_rules

__all__ = ["NOVA", "NovaFamily"]

_NOVA_CONFIG = frozenset(
    {"maxTokens", "max_new_tokens", "temperature", "topP", "topK", "stopSequences"}
)


def _nova(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_extra(
        body,
        frozenset({"schemaVersion", "system", "messages", "inferenceConfig", "toolConfig"}),
    )
    if "schemaVersion" in body and body["schemaVersion"] != "messages-v1":
        raise _malformed("#/schemaVersion: messages-v1 is the only supported value")
    _messages_content(body)
    cfg = body.get("inferenceConfig", {})
    if not isinstance(cfg, dict):
        raise _malformed("#/inferenceConfig: expected type: JSONObject")
    _schema_extra(cfg, _NOVA_CONFIG, "#/inferenceConfig")
    ceiling = model.max_output_tokens if model else 10000
    for key in ("maxTokens", "max_new_tokens"):
        _schema_num(cfg, key, 1, ceiling, integer=True, path="#/inferenceConfig")
    _schema_num(cfg, "temperature", 0, 1, path="#/inferenceConfig")
    _schema_num(cfg, "topP", 0, 1, path="#/inferenceConfig")
    _schema_num(cfg, "topK", 0, 128, integer=True, path="#/inferenceConfig")
    if "toolConfig" in body:
        _tool_config(body["toolConfig"])
    return _tool_blocks_without_config(body)


class NovaFamily(ConverseFamily):
    """Amazon Nova's native body (``messages-v1``): Converse's shapes, Nova's own rules."""

    name = "nova"
    invocation_type = "InvokeModel"

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
        body = converse_message_body(
            prompt, system=system, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
            stop_sequences=stop_sequences, images=images,
        )  # fmt: skip
        return {"schemaVersion": "messages-v1", **body}

    def native_structured_output(
        self, schema: dict[str, Any], name: str, model: ModelInfo | None
    ) -> dict[str, Any]:
        # ``messages-v1`` has no output format (Converse's ``outputConfig`` is UNVERIFIED in
        # Nova's native body): structured outputs use the forced tool, or Converse.
        raise not_yet(self, "native structured output (use invocation_type='Converse')")

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_nova, body, model)


#: The Nova family.
NOVA = NovaFamily()

"""Amazon Titan Text (``inputText`` + ``textGenerationConfig``): rules, builder, outputs."""

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
    _schema_str_list,
    run_rules,
)
from ._usage import UNKNOWN_USAGE, Usage, count

__all__ = ["TITAN_TEXT", "TitanTextFamily"]

_TITAN_TEXT_CONFIG = frozenset({"maxTokenCount", "temperature", "topP", "stopSequences"})


def _titan_text(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_required(body, "inputText")
    _schema_extra(body, frozenset({"inputText", "textGenerationConfig"}))
    _schema_str(body, "inputText")
    cfg = body.get("textGenerationConfig", {})
    if not isinstance(cfg, dict):
        raise _malformed("#/textGenerationConfig: expected type: JSONObject")
    _schema_extra(cfg, _TITAN_TEXT_CONFIG, "#/textGenerationConfig")
    ceiling = model.max_output_tokens if model else 8192
    _schema_num(cfg, "maxTokenCount", 0, ceiling, integer=True, path="#/textGenerationConfig")
    _schema_num(cfg, "temperature", 0, 1, path="#/textGenerationConfig")
    _schema_num(cfg, "topP", 0, 1, path="#/textGenerationConfig")
    _schema_str_list(cfg, "stopSequences", path="#/textGenerationConfig")
    return None


class TitanTextFamily(TextGenerationFamily):
    """Amazon Titan Text G1 (Express, Premier)."""

    name = "titan-text"

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
            raise ValidationError("Titan Text takes no images")
        text = f"{system}\n\n{prompt}" if system else prompt
        config = drop_none(
            {
                "maxTokenCount": max_tokens,
                "temperature": temperature,
                "topP": top_p,
                "stopSequences": stop_sequences,
            }
        )
        body: dict[str, Any] = {"inputText": text}
        if config:
            body["textGenerationConfig"] = config
        return body

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_titan_text, body, model)

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        cfg = body.get("textGenerationConfig") or {}
        value: Any = cfg.get("maxTokenCount", 512) if isinstance(cfg, dict) else None
        return value if _is_int(value) and value >= 0 else default

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        raise no_forced_tool(self)

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        return None

    def output_text(self, output: Any) -> str | None:
        # results[0].outputText
        result = first(output, "results")
        return result.get("outputText") if result is not None else None

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        result = first(output, "results")
        reason = result.get("completionReason") if result is not None else None
        return reason if isinstance(reason, str) else None

    def output_embedding(self, output: Any) -> list[float] | None:
        return None

    def output_usage(self, output: Any) -> Usage:
        results = output.get("results") if isinstance(output, Mapping) else None
        if type(results) is not list:
            return UNKNOWN_USAGE
        out = sum(count(r.get("tokenCount")) for r in results if type(r) is dict)
        return Usage(count(output.get("inputTextTokenCount")), out)


#: The Titan Text family.
TITAN_TEXT = TitanTextFamily()

"""Meta Llama 3.x (``prompt`` in Llama's chat template): rules, builder, outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._catalog import ModelInfo
from .._errors import ValidationError
from ._protocol import (
    Images,
    TextGenerationFamily,
    drop_none,
    no_forced_tool,
)
from ._schema_rules import (
    _is_int,
    _schema_extra,
    _schema_num,
    _schema_required,
    _schema_str,
    _schema_str_list,
    run_rules,
)
from ._usage import UNKNOWN_USAGE, Usage, count

__all__ = ["LLAMA", "LlamaFamily"]


def _llama(body: Mapping[str, Any], model: ModelInfo | None) -> str | None:
    _schema_required(body, "prompt")
    _schema_extra(body, frozenset({"prompt", "max_gen_len", "temperature", "top_p", "images"}))
    _schema_str(body, "prompt")
    _schema_num(body, "max_gen_len", 1, model.max_output_tokens if model else 2048, integer=True)
    _schema_num(body, "temperature", 0, 1)
    _schema_num(body, "top_p", 0, 1)
    _schema_str_list(body, "images")
    return None


def _llama_prompt(prompt: str, system: str | None) -> str:
    parts = ["<|begin_of_text|>"]
    if system:
        parts.append(f"<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>")
    parts.append(f"<|start_header_id|>user<|end_header_id|>\n\n{prompt}<|eot_id|>")
    parts.append("<|start_header_id|>assistant<|end_header_id|>\n\n")
    return "".join(parts)


class LlamaFamily(TextGenerationFamily):
    """Meta Llama 3.1, 3.2 and 3.3 Instruct."""

    name = "llama"

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
        if stop_sequences:
            raise ValidationError("Llama's native format has no stop sequences; use Converse")
        body: dict[str, Any] = {"prompt": _llama_prompt(prompt, system)}
        body.update(
            drop_none({"max_gen_len": max_tokens, "temperature": temperature, "top_p": top_p})
        )
        if images:
            body["images"] = [b for _, b in images]
        return body

    def check(
        self, body: dict[str, Any], model: ModelInfo | None, *, on_demand: bool = False
    ) -> str | None:
        return run_rules(_llama, body, model)

    def requested_output_tokens(self, body: dict[str, Any], default: int) -> int:
        value: Any = body.get("max_gen_len", 512)
        return value if _is_int(value) and value >= 0 else default

    def forced_tool(self, schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
        raise no_forced_tool(self)

    def requested_tool(self, body: Any) -> tuple[str, dict[str, Any]] | None:
        return None

    def output_text(self, output: Any) -> str | None:
        generation = output.get("generation") if isinstance(output, Mapping) else None
        return generation if isinstance(generation, str) else None

    def tool_input(self, output: Any, name: str) -> tuple[bool, Any]:
        return False, None

    def stop_reason(self, output: Any) -> str | None:
        reason = output.get("stop_reason") if isinstance(output, Mapping) else None
        return reason if isinstance(reason, str) else None

    def output_embedding(self, output: Any) -> list[float] | None:
        return None

    def output_usage(self, output: Any) -> Usage:
        if not isinstance(output, Mapping) or "prompt_token_count" not in output:
            return UNKNOWN_USAGE
        return Usage(
            count(output.get("prompt_token_count")), count(output.get("generation_token_count"))
        )


#: The Llama family.
LLAMA = LlamaFamily()

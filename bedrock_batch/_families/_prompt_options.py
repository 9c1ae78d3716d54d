"""The options of ``add_prompt`` that change a body after its family built it: the structured
output's route (Bedrock's own structured outputs, or a forced tool), prompt-cache markers, and
videos and documents by ``s3Location``. The choices read the catalogue's capability columns
(``native_structured_outputs``, ``prompt_caching``), never model ids.

Routes (facts §12.3):

- ``"native"``: the model's own mechanism: Claude ``output_config.format``, OpenAI-style
  ``response_format``, Converse ``outputConfig.textFormat`` (the schema closed with
  ``additionalProperties: false`` on every object);
- ``"tool"``: a forced tool, marked ``strict`` where the model has native structured outputs
  (refused in Converse batch jobs: ``toolConfig`` is a per-record 400 there);
- ``"auto"`` (the default): native where the family has it and the catalogue does not say the
  model lacks it (``native_structured_outputs`` True, or None: not known, which logs one
  warning), else the forced tool.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Literal

from .._catalog import ModelInfo
from .._errors import Problem, ValidationError
from ._features import closed_schema, unsupported_keyword
from ._protocol import ClientFamily, S3Media
from ._structured import DEFAULT_TOOL, forced_tool

__all__ = ["CacheOption", "StructuredRoute", "add_media", "add_cache", "structured_fields"]

log = logging.getLogger("bedrock_batch")

StructuredRoute = Literal["auto", "native", "tool"]
#: ``True`` (the system text when there is one, else the prompt), ``"system"``, ``"prompt"``.
CacheOption = bool | Literal["system", "prompt"]
_ROUTES = ("auto", "native", "tool")
_warned: set[tuple[str, str]] = set()

_CONVERSE_BATCH_TOOL = (
    "Converse batch jobs refuse toolConfig (facts §12.3): structured='tool' with the Converse "
    "API needs mode='on_demand'; in batch, use structured='native' (outputConfig.textFormat) "
    "or invocation_type='InvokeModel'"
)


def _has_native(family: ClientFamily) -> bool:
    try:
        family.native_structured_output({"type": "object"}, DEFAULT_TOOL, None)
    except ValidationError:
        return False
    return True


def choose_route(
    family: ClientFamily, model: ModelInfo | None, *, converse_batch: bool, structured: str
) -> Literal["native", "tool"]:
    """The route a structured output takes (see the module docstring)."""
    if structured not in _ROUTES:
        raise ValidationError(f"structured must be one of {', '.join(_ROUTES)}, not {structured!r}")
    if structured == "tool":
        if converse_batch:
            raise ValidationError(_CONVERSE_BATCH_TOOL)
        return "tool"
    if structured == "native":
        return "native"
    native = model.native_structured_outputs if model is not None else None
    if _has_native(family) and native is not False:
        if native is None:
            key = (model.model_id if model else "", family.name)
            if key not in _warned:
                _warned.add(key)
                log.warning(
                    "structured outputs: whether %s has Bedrock's native structured outputs is "
                    "UNVERIFIED; using them (%s); pass structured='tool' for a forced tool",
                    model.display_name if model else "this model",
                    family.name,
                )
        return "native"
    if converse_batch:
        name = model.display_name if model else "this model"
        raise ValidationError(
            f"{name} has no native structured outputs in the catalogue, and Converse batch jobs "
            "refuse toolConfig: structured outputs with the Converse API need mode='on_demand' "
            "for a forced tool; "
            "in batch, use invocation_type='InvokeModel' (Claude, Nova), or pass "
            "structured='native' to try outputConfig.textFormat anyway"
        )
    return "tool"


def structured_fields(
    family: ClientFamily,
    model: ModelInfo | None,
    invocation_type: str,
    schema: dict[str, Any],
    *,
    converse_batch: bool,
    structured: str = "auto",
    name: str = DEFAULT_TOOL,
) -> tuple[dict[str, Any], str]:
    """(the request fields of a structured output, the name its answers are registered
    under for ``Result.parsed``)."""
    route = choose_route(family, model, converse_batch=converse_batch, structured=structured)
    strict = model is not None and model.native_structured_outputs is True
    refused = unsupported_keyword(schema) if route == "native" or strict else None
    if refused is not None:
        keyword, where = refused
        raise ValidationError(
            f"output_schema uses {keyword!r}, which Bedrock's structured outputs are taken not to "
            "support (bedrock_batch._families._features.NATIVE_SCHEMA_UNSUPPORTED, a guess): "
            "remove it from the schema, or take it out of that set (or add it to "
            "NATIVE_SCHEMA_DROP to leave it out of the schema sent)",
            [Problem(f"unsupported keyword {keyword!r}", field=f"output_schema{where[1:]}")],
        )
    if route == "native":
        fields = family.native_structured_output(schema, name, model)
        found = family.requested_format(fields)
        return fields, found[0] if found is not None else name
    fields = forced_tool(family, invocation_type, closed_schema(schema) if strict else schema, name)
    if strict:
        with contextlib.suppress(ValidationError):  # no strict tools: the plain forced tool
            fields = family.strict_tool(fields)
    return fields, name


def add_cache(
    family: ClientFamily,
    model: ModelInfo | None,
    body: dict[str, Any],
    cache: CacheOption,
    *,
    has_system: bool,
) -> dict[str, Any]:
    """``body`` with a prompt-cache marker (after the system text, or after the prompt)."""
    if cache is False or cache is None:
        return body
    where = ("system" if has_system else "prompt") if cache is True else cache
    if where not in ("system", "prompt"):
        raise ValidationError(f"cache must be True, 'system' or 'prompt', not {cache!r}")
    if model is not None and model.prompt_caching is not True:
        state = "does not say" if model.prompt_caching is None else "says no"
        raise ValidationError(
            f"prompt caching: the catalogue {state} for {model.display_name} (facts §12.4); "
            "to send cache markers anyway, build the body yourself and use add()"
        )
    return family.add_cache_point(body, where)


def _media(item: S3Media | str, kind: str) -> S3Media:
    if isinstance(item, S3Media):
        return item
    if not isinstance(item, str) or not item.startswith("s3://"):
        raise ValidationError(f"{kind} must be s3:// URIs or S3Media, not {item!r}")
    ext = item.rsplit(".", 1)[-1].lower() if "." in item.rsplit("/", 1)[-1] else ""
    if not ext:
        raise ValidationError(f"cannot tell the format of {item}; pass S3Media(uri, format)")
    return S3Media(item, ext)


def add_media(
    family: ClientFamily,
    body: dict[str, Any],
    *,
    videos: Sequence[S3Media | str] = (),
    documents: Sequence[S3Media | str] = (),
) -> dict[str, Any]:
    """``body`` with videos and documents by ``s3Location`` in its first user turn."""
    if isinstance(videos, str) or isinstance(documents, str):
        raise ValidationError("videos and documents take a list of URIs, not one string")
    if documents:
        body = family.add_documents(body, [_media(d, "documents") for d in documents])
    if videos:
        body = family.add_videos(body, [_media(v, "videos") for v in videos])
    return body

"""Render ``docs/models.md``, the "Supported models" page, from the catalogue.

Run ``python docs/models_page.py`` after changing ``bedrock_batch/_catalog.py``; a test
(``tests/docs/test_models_page.py``) fails while the committed page differs from what this
renders.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package

from bedrock_batch._catalog import CATALOG, SINGLE_FORMAT_PREFIXES, ModelInfo
from bedrock_batch._errors import ValidationError
from bedrock_batch._families._prompt_options import choose_route
from bedrock_batch._families._registry import family_for

PAGE = Path(__file__).resolve().parent / "models.md"

_HEAD = """\
# Supported models

This page is generated from the model catalogue (`bedrock_batch/_catalog.py`) by
`python docs/models_page.py`; a test keeps it in sync. The service is the authority:
a model's batch support and its formats come from `bedrock-facts.md` (§10, §12), each with
its confidence, and Bedrock may still refuse a job ("Batch inference is not supported for the
requested model.").

Columns:

- **family**: the request family that builds, checks and reads the model's native
  (InvokeModel) bodies; Converse jobs use the one Converse family for every model.
- **batch**: the facts' label for the model's batch support. `plan()` warns on UNVERIFIED.
- **profiles**: the inference-profile prefixes the facts have seen (`us.` + model id, ...);
  *required* when the model runs only through a profile; *not known* when no source showed
  them (UNVERIFIED: check with `ListInferenceProfiles`); *none* when it has no profile.
- **default invocation**: what a job uses when `invocation_type` is not given. Converse where
  the native body is not established.
- **native body**: whether `add_prompt` builds the native body with
  `invocation_type="InvokeModel"`: *yes*; *UNVERIFIED* (built, with one warning); *no*
  (refused: use Converse).
- **structured output**: the route `add_prompt(output_schema=...)` takes by default under the
  default invocation type: Bedrock's own mechanism (the request field named), or a forced
  tool; *UNVERIFIED* where the catalogue does not know whether the model has native
  structured outputs (used, with one warning; `structured="tool"` chooses the forced tool).
- **regions**: the only regions the model is offered in (blank: not restricted, or not known).

"""

_TAIL = """
## Models this version does not list

An id newer than this catalogue is still refused when it is a typo of a listed one ("did you
mean"). Otherwise, when its provider has one body format in the facts
({prefixes}), it is accepted with one warning in `Plan.warnings` naming the family
assumed. Any other unknown id
(`amazon.` has several formats, `deepseek.r1` takes a completion body, unknown providers) is
refused with the advice to use `invocation_type="Converse"` (which every batch-capable model
accepts) or `allow_unknown_model=True`.

Local Bedrock refuses ids it does not list, as the service does, unless
`LocalBedrock(accept_unknown_models=True)` (`bedrock-batch local serve
--accept-unknown-models`): then it answers the ids of those providers in the assumed family's
shape.
"""


def _profiles(info: ModelInfo) -> str:
    if info.profiles is None:
        seen = "not known"
    elif not info.profiles:
        seen = "none"
    else:
        seen = ", ".join(f"`{p}`" for p in sorted(info.profiles))
    return f"{seen} (required)" if info.requires_profile else seen


def _native_body(info: ModelInfo) -> str:
    if info.native_prompt is None:
        return "UNVERIFIED"
    return "yes" if info.native_prompt else "no"


def _field(fields: dict[str, Any]) -> str:
    path = []
    node: Any = fields
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    if not path:
        path = [next(iter(fields))]
    return ".".join(path)


def _structured(info: ModelInfo) -> str:
    if info.is_embedding:
        return "—"
    invocation = info.default_invocation
    family = family_for(info.model_id, invocation)
    if family is None:
        return "—"
    converse_batch = invocation == "Converse"
    logger = logging.getLogger("bedrock_batch")
    level = logger.level
    logger.setLevel(logging.ERROR)  # choose_route warns once for UNVERIFIED columns
    try:
        route = choose_route(family, info, converse_batch=converse_batch, structured="auto")
    except ValidationError:
        return "forced tool on demand only (Converse batch jobs refuse `toolConfig`)"
    finally:
        logger.setLevel(level)
    if route == "tool":
        strict = info.native_structured_outputs is True
        return "forced tool (strict)" if strict else "forced tool"
    fields = family.native_structured_output({"type": "object"}, "answer", info)
    label = f"native `{_field(fields)}`"
    return f"{label}, UNVERIFIED" if info.native_structured_outputs is None else label


def _row(info: ModelInfo) -> str:
    cells = [
        info.display_name,
        f"`{info.model_id}`",
        f"`{info.family}`",
        info.batch_support,
        _profiles(info),
        info.default_invocation,
        _native_body(info),
        _structured(info),
        ", ".join(sorted(info.regions)),
    ]
    return "| " + " | ".join(cells) + " |"


def render() -> str:
    """The page, as committed."""
    header = (
        "| model | id | family | batch | profiles | default invocation | native body | "
        "structured output | regions |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = "\n".join(_row(info) for info in CATALOG.values())
    prefixes = ", ".join(f"`{p}`" for p, _ in SINGLE_FORMAT_PREFIXES)
    return _HEAD + header + rows + "\n" + _TAIL.format(prefixes=prefixes)


def main() -> int:
    """Write the page."""
    PAGE.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())

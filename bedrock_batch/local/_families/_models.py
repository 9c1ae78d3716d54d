"""Which model a request names: Local Bedrock's own resolution of a model id.

The model list itself is shared data (``bedrock_batch._catalog.CATALOG``); everything that
interprets a model id here is the emulator's own, so a mistake in the client's resolution
cannot hide behind the same mistake in the emulator.

Accepted spellings of a model id:

- a foundation-model id, ``anthropic.claude-3-haiku-20240307-v1:0``;
- a foundation-model ARN, ``arn:aws:bedrock:us-east-1::foundation-model/<id>``;
- a cross-region (geo) inference profile id, ``us.<id>`` / ``eu.`` / ``apac.`` / ``au.`` /
  ``jp.`` / ``ca.`` / ``us-gov.`` / ``global.``; a geo profile only exists in its geography's
  regions (``global.`` everywhere);
- an inference-profile ARN, ``arn:aws:bedrock:<region>:<account>:inference-profile/<profile id>``.

An id the catalogue does not list is refused, as the service refuses ids it does not know;
with ``accept_unknown`` (``LocalBedrock(accept_unknown_models=True)``) an id whose provider has
one body format (:data:`_ASSUMED`, the emulator's own table) is answered as a model of that
family (:func:`assumed_model`).

Custom models, provisioned models and application inference profiles are not emulated. What a
model can do comes from its catalogue columns (``ModelInfo.tools``, ``tool_choices``, ...); which
family answers it, from :func:`._registry.family_for`.
"""

from __future__ import annotations

import re

import attrs

from ..._catalog import CATALOG, ModelInfo

__all__ = ["ResolvedModel", "assumed_model", "available_in", "resolve_model_id"]

#: Geo prefix of a system inference profile -> the region prefixes it exists in.
_GEOGRAPHIES: dict[str, tuple[str, ...]] = {
    "us-gov": ("us-gov-",),
    "us": ("us-",),
    "eu": ("eu-",),
    "apac": ("ap-",),
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "ca": ("ca-",),
    "global": ("",),
}
_PROFILE_ID = re.compile(r"^(?P<geo>us-gov|us|eu|apac|au|jp|ca|global)\.(?P<model>.+)$")
_ARN = re.compile(
    r"^arn:aws(?:-[a-z-]+)?:bedrock:(?P<region>[a-z0-9-]*):(?P<account>[0-9]{12})?:"
    r"(?P<kind>[a-z-]+)/(?P<rest>.+)$"
)


#: Provider prefixes with one body format (bedrock-facts §10, §12.2): the family that answers
#: an unknown model under them, and that family's capability columns for it.
_ASSUMED: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("anthropic.", "anthropic", frozenset({"auto", "any", "tool"})),
    ("meta.llama", "llama", frozenset({"auto"})),
    ("openai.", "openai-chat", frozenset({"auto"})),
    ("qwen.", "openai-chat", frozenset({"auto"})),
)


def assumed_model(model_id: str) -> ModelInfo | None:
    """A catalogue-like row for a bare model id no row lists, when its provider has one body
    format: the family's shape, tools, default limits, batch support UNVERIFIED; else None."""
    for prefix, family, choices in _ASSUMED:
        if model_id.startswith(prefix) and len(model_id) > len(prefix):
            return ModelInfo(
                model_id,
                family,
                model_id,
                tools=True,
                tool_choices=choices,
                service_quotas=False,
            )
    return None


def _lookup(name: str, accept_unknown: bool) -> ModelInfo | None:
    found = CATALOG.get(name)
    if found is None and accept_unknown:
        return assumed_model(name)
    return found


@attrs.frozen
class ResolvedModel:
    """What a model id names: the catalog entry (None if unknown) and how it was reached."""

    info: ModelInfo | None
    via_profile: bool
    #: Region written in an ARN ("" when the id is not an ARN or names no region).
    arn_region: str = ""
    #: Kind of ARN ("foundation-model", "inference-profile", ...), "" for plain ids.
    arn_kind: str = ""
    #: False when a geo profile is used outside its geography.
    in_geography: bool = True


def resolve_model_id(model_id: str, region: str, *, accept_unknown: bool = False) -> ResolvedModel:
    """Resolve any accepted spelling of a model id, as seen from ``region`` (``accept_unknown``:
    an unlisted id of a one-format provider resolves to :func:`assumed_model`)."""
    arn_region = arn_kind = ""
    name = model_id
    m = _ARN.match(model_id)
    if m:
        arn_region, arn_kind, name = m.group("region"), m.group("kind"), m.group("rest")
        if arn_kind not in ("foundation-model", "inference-profile"):
            return ResolvedModel(None, False, arn_region, arn_kind)
    profile = _PROFILE_ID.match(name)
    if profile:
        prefixes = _GEOGRAPHIES[profile.group("geo")]
        inside = any(region.startswith(p) for p in prefixes)
        return ResolvedModel(
            _lookup(profile.group("model"), accept_unknown), True, arn_region, arn_kind, inside
        )
    if arn_kind == "inference-profile":  # a profile ARN must name a profile id
        return ResolvedModel(None, True, arn_region, arn_kind)
    return ResolvedModel(_lookup(name, accept_unknown), False, arn_region, arn_kind)


def available_in(info: ModelInfo, region: str, *, via_profile: bool) -> bool:
    """Whether ``info`` exists as named in ``region``: a model offered in some regions only
    (``ModelInfo.regions``) exists nowhere else, and a model without inference profiles
    (``ModelInfo.profiles`` empty) has no profile id. Which message the service gives for
    either is UNVERIFIED: batch jobs answer "Batch inference is not supported for the
    requested model.", bedrock-runtime "The provided model identifier is invalid."."""
    if info.regions and region not in info.regions:
        return False
    return not (via_profile and info.profiles is not None and not info.profiles)

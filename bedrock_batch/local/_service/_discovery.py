"""Model discovery, the neighbours of the batch operations (``bedrock-facts.md`` §12.6):
``ListFoundationModels``, ``GetFoundationModel``, ``ListInferenceProfiles`` and
``GetInferenceProfile``, for the models of the shared catalogue.

Everything here is read from the catalogue's data (ids, display names, the ``profiles``,
``requires_profile`` and ``regions`` columns); the rest is the emulator's own, and where the
facts do not say, a documented guess:

- a model offered in some regions only (``regions``) is listed there only;
- its system-defined profiles are the prefixes of its ``profiles`` column usable from the
  region; where the column is None (not known), every geography usable from the region, the
  profiles CreateModelInvocationJob accepts for it;
- the Regions a profile routes to (``models``) are the emulator's guess per geography, the
  calling region first (UNVERIFIED: real profiles differ per model);
- a profile-only model reports ``inferenceTypesSupported: ["INFERENCE_PROFILE"]``, the value
  public code bases expect (REPORTED; botocore's enum has only ``ON_DEMAND`` and
  ``PROVISIONED``), others ``["ON_DEMAND"]``;
- an unknown model answers ``ValidationException`` "The provided model identifier is invalid.",
  an unknown profile ``ResourceNotFoundException`` (both messages UNVERIFIED).

No field says whether a model supports batch inference, as in the service.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from ..._catalog import CATALOG, ModelInfo
from .._exceptions import ResourceNotFoundException, ValidationException
from ._control import partition_of

__all__ = ["Discovery"]

#: Provider names by id prefix (the service's ``providerName``).
_PROVIDERS: dict[str, str] = {
    "anthropic.": "Anthropic",
    "amazon.": "Amazon",
    "meta.": "Meta",
    "mistral.": "Mistral AI",
    "openai.": "OpenAI",
    "qwen.": "Qwen",
    "deepseek.": "DeepSeek",
}
#: Geography prefix -> (region prefixes it can be called from (as CreateModelInvocationJob
#: accepts them, :mod:`.._families._models`), the Regions it routes to, its
#: label in profile names). The routed Regions are a guess (see the module docstring).
_GEOGRAPHIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "us.": (("us-",), ("us-east-1", "us-east-2", "us-west-2"), "US"),
    "us-gov.": (("us-gov-",), ("us-gov-west-1", "us-gov-east-1"), "US-GOV"),
    "eu.": (("eu-",), ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"), "EU"),
    "apac.": (
        ("ap-",),
        ("ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
        "APAC",
    ),
    "jp.": (("ap-northeast-1", "ap-northeast-3"), ("ap-northeast-1", "ap-northeast-3"), "JP"),
    "au.": (("ap-southeast-2", "ap-southeast-4"), ("ap-southeast-2", "ap-southeast-4"), "AU"),
    "ca.": (("ca-",), ("ca-central-1", "ca-west-1"), "CA"),
    "global.": (("",), ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"), "GLOBAL"),
}
#: When the emulated profiles were created (the service's ``createdAt`` / ``updatedAt``).
_PROFILE_STAMP = "2025-01-01T00:00:00Z"
_FM_ARN = re.compile(
    r"^arn:aws(?:-[a-z-]+)?:bedrock:(?P<region>[a-z0-9-]*)::foundation-model/(?P<id>.+)$"
)
_PROFILE_ARN = re.compile(
    r"^arn:aws(?:-[a-z-]+)?:bedrock:(?P<region>[a-z0-9-]*):(?P<account>[0-9]*):"
    r"(?P<kind>inference-profile|application-inference-profile)/(?P<id>.+)$"
)


def _offered(info: ModelInfo, region: str) -> bool:
    return not info.regions or region in info.regions


def _provider(info: ModelInfo) -> str:
    head = info.model_id.split(".", 1)[0]
    return _PROVIDERS.get(f"{head}.", head.capitalize())


def _usable(geo: str, region: str) -> bool:
    return any(region.startswith(p) for p in _GEOGRAPHIES[geo][0])


class Discovery:
    """The four discovery operations, per account and region (stateless: catalogue data)."""

    def summary(self, info: ModelInfo, region: str) -> dict[str, Any]:
        """A ``FoundationModelSummary`` (also ``GetFoundationModel``'s ``modelDetails``)."""
        partition = partition_of(region)
        inputs = ["TEXT"] if info.max_image_bytes is None else ["TEXT", "IMAGE"]
        return {
            "modelArn": f"arn:{partition}:bedrock:{region}::foundation-model/{info.model_id}",
            "modelId": info.model_id,
            "modelName": info.display_name,
            "providerName": _provider(info),
            "inputModalities": inputs,
            "outputModalities": ["EMBEDDING"] if info.is_embedding else ["TEXT"],
            "responseStreamingSupported": not info.is_embedding,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["INFERENCE_PROFILE"]
            if info.requires_profile
            else ["ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"},
        }

    def list_foundation_models(
        self,
        *,
        region: str,
        by_provider: str | None = None,
        by_customization_type: str | None = None,
        by_output_modality: str | None = None,
        by_inference_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every catalogue model offered in ``region`` that passes the filters (no paging)."""
        out = []
        for info in CATALOG.values():
            if not _offered(info, region):
                continue
            summary = self.summary(info, region)
            if by_provider and by_provider.lower() not in (
                summary["providerName"].lower(),
                info.model_id.split(".", 1)[0],
            ):
                continue
            if by_customization_type and by_customization_type not in summary["customizationsSupported"]:  # fmt: skip
                continue
            if by_output_modality and by_output_modality not in summary["outputModalities"]:
                continue
            if by_inference_type and by_inference_type not in summary["inferenceTypesSupported"]:
                continue
            out.append(summary)
        return out

    def get_foundation_model(self, *, region: str, model_identifier: str) -> dict[str, Any]:
        """``modelDetails`` of one model, by id or foundation-model ARN of this region."""
        model_id = model_identifier
        arn = _FM_ARN.match(model_identifier)
        if arn:
            if arn.group("region") != region:
                raise ValidationException("The provided model identifier is invalid.")
            model_id = arn.group("id")
        info = CATALOG.get(model_id)
        if info is None or not _offered(info, region):
            raise ValidationException("The provided model identifier is invalid.")
        return self.summary(info, region)

    # -- inference profiles ------------------------------------------------------------------

    def _profiles(self, account: str, region: str) -> list[dict[str, Any]]:
        out = []
        for info in CATALOG.values():
            if not _offered(info, region):
                continue
            geos = sorted(_GEOGRAPHIES) if info.profiles is None else sorted(info.profiles)
            for geo in geos:
                if geo in _GEOGRAPHIES and _usable(geo, region):
                    out.append(self._profile(info, geo, account, region))
        return sorted(out, key=lambda p: str(p["inferenceProfileId"]))

    @staticmethod
    def _profile(info: ModelInfo, geo: str, account: str, region: str) -> dict[str, Any]:
        partition = partition_of(region)
        _, routed, label = _GEOGRAPHIES[geo]
        regions = [region, *(r for r in routed if r != region)][:5]
        if info.regions:
            regions = [r for r in regions if r in info.regions] or [region]
        profile_id = f"{geo}{info.model_id}"
        where = regions[0] if len(regions) == 1 else f"{', '.join(regions[:-1])} and {regions[-1]}"
        return {
            "inferenceProfileName": f"{label} {info.display_name}",
            "description": f"Routes requests to {info.display_name} in {where}.",
            "createdAt": _PROFILE_STAMP,
            "updatedAt": _PROFILE_STAMP,
            "inferenceProfileArn": f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{profile_id}",
            "models": [
                {"modelArn": f"arn:{partition}:bedrock:{r}::foundation-model/{info.model_id}"}
                for r in regions
            ],
            "inferenceProfileId": profile_id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        }

    def list_inference_profiles(
        self,
        *,
        account: str,
        region: str,
        max_results: int | None = None,
        next_token: str | None = None,
        type_equals: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the system-defined profiles usable from ``region``, and the next token
        (no application profiles are emulated)."""
        profiles = [] if type_equals == "APPLICATION" else self._profiles(account, region)
        start = 0
        if next_token:
            try:
                start = int(base64.urlsafe_b64decode(next_token.encode()).decode())
            except (ValueError, UnicodeDecodeError) as err:
                raise ValidationException("The nextToken is invalid.") from err
        size = max_results or 1000
        end = start + size
        token = (
            base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(profiles) else None
        )
        return profiles[start:end], token

    def get_inference_profile(
        self, *, account: str, region: str, inference_profile_identifier: str
    ) -> dict[str, Any]:
        """One system-defined profile, by id or ARN."""
        profile_id = inference_profile_identifier
        arn = _PROFILE_ARN.match(inference_profile_identifier)
        if arn:
            profile_id = arn.group("id")
            if (
                arn.group("kind") != "inference-profile"
                or arn.group("region") != region
                or arn.group("account") not in ("", account)
            ):
                profile_id = ""
        for profile in self._profiles(account, region) if profile_id else []:
            if profile["inferenceProfileId"] == profile_id:
                return profile
        raise ResourceNotFoundException(
            f"The specified inference profile {inference_profile_identifier} was not found."
        )

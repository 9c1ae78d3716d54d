"""Service Quotas for ``bedrock``: the six batch quotas of every model whose quota names are
known (``ModelInfo.service_quotas``), under AWS's names."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from ..._catalog import CATALOG, QUOTA_NAME_TEMPLATES, ModelInfo
from .._config import Quotas
from .._exceptions import IllegalArgumentException, NoSuchResourceException
from ._control import partition_of

__all__ = ["ServiceQuotas", "quota_code"]

_GB_FIELDS = frozenset({"max_file_bytes", "max_job_bytes"})
# Codes AWS publishes for Claude 3 Haiku (facts, Appendix A); others are derived stably.
_KNOWN_CODES = {
    "Minimum number of records per batch inference job for Claude 3 Haiku": "L-AE7F26D4",
    "Records per batch inference job for Claude 3 Haiku": "L-1F644C2A",
    "Records per input file per batch inference job for Claude 3 Haiku": "L-EBB72C32",
    "Batch inference input file size (in GB) for Claude 3 Haiku": "L-42ABE687",
    "Batch inference job size (in GB) for Claude 3 Haiku": "L-79301C5B",
}


def quota_code(name: str) -> str:
    """The quota code for a quota name: AWS's where known, else a stable derived one."""
    return _KNOWN_CODES.get(name) or "L-" + hashlib.sha1(name.encode()).hexdigest()[:8].upper()


class ServiceQuotas:
    """ListServiceQuotas, GetServiceQuota and their AWS-default variants, for ``bedrock``."""

    def __init__(self, *, applied: Callable[[ModelInfo], Quotas], defaults: Quotas) -> None:
        self.applied = applied
        self.defaults = defaults

    def quotas(self, *, account: str, region: str, defaults: bool) -> list[dict[str, Any]]:
        """Every batch quota of every model."""
        out = []
        for info in CATALOG.values():
            if not info.service_quotas:
                continue  # no quota names known (facts, Appendix A): none are published
            values = self.defaults if defaults else self.applied(info)
            for field, template in QUOTA_NAME_TEMPLATES.items():
                name = template.format(info.display_name)
                code = quota_code(name)
                value = getattr(values, field)
                out.append(
                    {
                        "ServiceCode": "bedrock",
                        "ServiceName": "Amazon Bedrock",
                        "QuotaArn": f"arn:{partition_of(region)}:servicequotas:{region}:{account}:bedrock/{code}",
                        "QuotaCode": code,
                        "QuotaName": name,
                        "Value": float(value) / 1e9 if field in _GB_FIELDS else float(value),
                        "Unit": "None",
                        "Adjustable": True,
                        "GlobalQuota": False,
                    }
                )
        return out

    def _check_service(self, service_code: str | None) -> None:
        if service_code != "bedrock":
            raise NoSuchResourceException(f"The service {service_code} is not emulated.")

    def list_quotas(
        self,
        *,
        account: str,
        region: str,
        service_code: str | None,
        defaults: bool,
        quota_code: str | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of quotas and the next token."""
        self._check_service(service_code)
        quotas = self.quotas(account=account, region=region, defaults=defaults)
        if quota_code:
            quotas = [q for q in quotas if q["QuotaCode"] == quota_code]
        try:
            start = int(next_token or 0)
        except ValueError as err:
            raise IllegalArgumentException("Invalid NextToken.") from err
        size = max_results or 100
        token = str(start + size) if start + size < len(quotas) else None
        return quotas[start : start + size], token

    def get_quota(
        self,
        *,
        account: str,
        region: str,
        service_code: str | None,
        quota_code: str | None,
        defaults: bool,
    ) -> dict[str, Any]:
        """One quota by code."""
        self._check_service(service_code)
        for quota in self.quotas(account=account, region=region, defaults=defaults):
            if quota["QuotaCode"] == quota_code:
                return quota
        raise NoSuchResourceException(f"The quota {quota_code} does not exist.")

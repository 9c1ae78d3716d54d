"""A model's batch quotas and where their values come from.

Resolution order: the user's override, else the account's applied values from Service Quotas
(service code ``bedrock``) when they can be read, else the documented defaults.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import attrs

from .._catalog import QUOTA_NAME_TEMPLATES, ModelInfo
from .._errors import BatchError, translate_client_error

__all__ = ["Quotas", "QuotaSource", "read_service_quotas", "resolve_quotas"]

log = logging.getLogger("bedrock_batch")

GB = 1_000_000_000
MB = 1_000_000


@attrs.frozen
class Quotas:
    """A model's batch quotas. The defaults are today's commonly cited values (facts §5)."""

    min_records_per_job: int = 100
    max_records_per_file: int = 50_000
    max_records_per_job: int = 50_000
    max_file_bytes: int = 1 * GB
    max_job_bytes: int = 5 * GB
    max_concurrent_jobs: int = 20

    @classmethod
    def legacy_2024(cls) -> Quotas:
        """The 2024 values of the original walkthrough: 1,000 min, 200 MB/file, 1 GB/job, 3 jobs."""
        return cls(
            min_records_per_job=1000,
            max_file_bytes=200 * MB,
            max_job_bytes=1 * GB,
            max_concurrent_jobs=3,
        )


def _norm(name: str) -> str:
    # Tolerate both spellings: "... (in GB) for X" and "... for X (in GB)".
    return re.sub(r"\s+", " ", name.replace("(in GB)", "")).strip().lower()


def read_service_quotas(
    model: ModelInfo, list_quotas: Callable[..., Any], base: Quotas
) -> tuple[Quotas, int]:
    """Overlay the applied Service Quotas values for ``model`` on ``base``.

    ``list_quotas`` is ``service_quotas_client.list_service_quotas``. Returns the quotas and how
    many values were found. Errors propagate (the caller decides to fall back).
    """
    wanted = {
        _norm(t.format(model.display_name)): field for field, t in QUOTA_NAME_TEMPLATES.items()
    }
    found: dict[str, Any] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"ServiceCode": "bedrock", "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        page = list_quotas(**kwargs)
        for q in page.get("Quotas", []):
            field = wanted.get(_norm(str(q.get("QuotaName", ""))))
            if field is not None and isinstance(q.get("Value"), (int, float)):
                value = q["Value"]
                found[field] = round(value * GB) if field.endswith("_bytes") else int(value)
        token = page.get("NextToken")
        if not token:
            break
    return attrs.evolve(base, **found), len(found)


@attrs.frozen
class QuotaSource:
    """Where a plan's quota values came from, and what went wrong when they are defaults."""

    name: str  # "override", "service-quotas", "defaults"
    warning: str | None = None

    def __str__(self) -> str:
        return self.name if self.warning is None else f"{self.name} ({self.warning})"


def resolve_quotas(
    model: ModelInfo | None,
    *,
    override: Quotas | None,
    use_service_quotas: bool,
    list_quotas: Callable[[], Callable[..., Any]],
) -> tuple[Quotas, QuotaSource]:
    """The quotas a plan uses: the override, else Service Quotas, else the defaults.

    When Service Quotas cannot be read (throttled, denied, no credentials), the defaults are
    used *and the source says so* with a warning logged: a silent fallback could plan jobs the
    account's real quotas refuse.
    """
    if override is not None:
        return override, QuotaSource("override")
    if not use_service_quotas:
        return Quotas(), QuotaSource("defaults")
    if model is None:
        return Quotas(), QuotaSource("defaults", "model unknown to this version")
    try:
        with translate_client_error("ListServiceQuotas"):
            quotas, found = read_service_quotas(model, list_quotas(), Quotas())
    except BatchError as err:
        warning = f"Service Quotas unreadable: {err}"
        log.warning("using the default batch quotas for %s: %s", model.display_name, warning)
        return Quotas(), QuotaSource("defaults", warning)
    if not found:
        return Quotas(), QuotaSource(
            "defaults", f"Service Quotas has no batch quotas for {model.display_name}"
        )
    return quotas, QuotaSource("service-quotas")

"""Where boto3 clients come from: the ones given, or built lazily from a session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

if TYPE_CHECKING:  # the mypy-boto3 stubs are needed at type-check time only
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_service_quotas import ServiceQuotasClient

__all__ = ["Clients", "default_config"]


def default_config() -> Config:
    """Standard retry mode (botocore handles throttling of single calls) and our user agent."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("bedrock-batch")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        ver = "0"
    return Config(
        retries={"mode": "standard", "max_attempts": 8}, user_agent_extra=f"bedrock-batch/{ver}"
    )


class Clients:
    """The boto3 clients a job needs; given ones are used as they are, others built on demand."""

    def __init__(
        self,
        *,
        session: boto3.Session | None = None,
        bedrock: BedrockClient | None = None,
        s3: S3Client | None = None,
        runtime: BedrockRuntimeClient | None = None,
        quotas: ServiceQuotasClient | None = None,
    ) -> None:
        self._session = session
        self._given = {
            "bedrock": bedrock,
            "s3": s3,
            "bedrock-runtime": runtime,
            "service-quotas": quotas,
        }
        self._made: dict[str, Any] = {}

    def _get(self, name: str) -> Any:
        if self._given.get(name) is not None:
            return self._given[name]
        if name not in self._made:
            session = self._session or boto3.Session()
            self._made[name] = session.client(name, config=default_config())  # type: ignore[call-overload]
        return self._made[name]

    @property
    def bedrock(self) -> BedrockClient:
        """The Bedrock control-plane client."""
        return cast("BedrockClient", self._get("bedrock"))

    @property
    def s3(self) -> S3Client:
        """The S3 client."""
        return cast("S3Client", self._get("s3"))

    @property
    def runtime(self) -> BedrockRuntimeClient:
        """The bedrock-runtime client."""
        return cast("BedrockRuntimeClient", self._get("bedrock-runtime"))

    @property
    def sts(self) -> Any:
        """The STS client (built from the session; for the account of the saved defaults)."""
        return self._get("sts")

    @property
    def profile(self) -> str | None:
        """The AWS profile of the session (None when none is named)."""
        name = (self._session or boto3.Session()).profile_name
        return str(name) if name else None

    @property
    def quotas(self) -> ServiceQuotasClient:
        """The Service Quotas client."""
        return cast("ServiceQuotasClient", self._get("service-quotas"))

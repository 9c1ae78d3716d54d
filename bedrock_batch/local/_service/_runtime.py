"""bedrock-runtime: InvokeModel and Converse, answered by the same responders as batch records."""

from __future__ import annotations

from typing import Any

from ..._catalog import ModelInfo
from .._exceptions import (
    InternalServerException,
    ServiceException,
    ThrottlingException,
    ValidationException,
)
from .._families._answers import Answerer
from .._families._context import RecordError
from .._families._models import available_in, resolve_model_id
from .._families._usage import latency_ms

__all__ = ["Runtime"]


def _refusal(err: RecordError) -> ServiceException:
    if err.code == 429:
        return ThrottlingException(err.message)
    if err.code >= 500:
        return InternalServerException(err.message)
    return ValidationException(err.message)


class Runtime:
    """On-demand inference: the same checks and responders as batch, one request at a time."""

    def __init__(self, answerer: Answerer, *, accept_unknown_models: bool = False) -> None:
        self.answerer = answerer
        self.accept_unknown_models = accept_unknown_models

    def model(self, model_id: str, region: str) -> ModelInfo:
        """The model an on-demand request names, or the service's refusal."""
        resolved = resolve_model_id(model_id, region, accept_unknown=self.accept_unknown_models)
        if resolved.arn_region and resolved.arn_region != region:
            raise ValidationException(
                f"The model ARN region {resolved.arn_region} does not match the request region {region}."
            )
        info = resolved.info
        if (
            info is None
            or not resolved.in_geography
            or not available_in(info, region, via_profile=resolved.via_profile)
        ):
            raise ValidationException("The provided model identifier is invalid.")
        if info.requires_profile and not resolved.via_profile:
            raise ValidationException(
                f"Invocation of model ID {info.model_id} with on-demand throughput isn't supported. "
                "Retry your request with the ID or ARN of an inference profile that contains this model."
            )
        return info

    def _answer(
        self, model: ModelInfo, model_id: str, invocation_type: str, body: Any
    ) -> tuple[dict[str, Any], tuple[int, int]]:
        """The answer and its (input, output) tokens, as the family counts them."""
        try:
            output = self.answerer.answer(
                model, model_id, invocation_type, "runtime", body, bucket=None, on_demand=True
            )
            family = self.answerer.family(model, invocation_type)
        except RecordError as err:
            raise _refusal(err) from err
        return output, family.usage(body if isinstance(body, dict) else {}, output)

    def invoke_model(
        self, *, region: str, model_id: str, body: Any
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """InvokeModel: the response body and the token-count and latency headers."""
        model = self.model(model_id, region)
        output, (used_in, used_out) = self._answer(model, model_id, "InvokeModel", body)
        headers = {
            "X-Amzn-Bedrock-Input-Token-Count": str(used_in),
            "X-Amzn-Bedrock-Output-Token-Count": str(used_out),
            "X-Amzn-Bedrock-Invocation-Latency": str(latency_ms(used_out)),
        }
        return output, headers

    def converse(self, *, region: str, model_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """Converse: the response, with ``metrics.latencyMs``."""
        model = self.model(model_id, region)
        output, (_, used_out) = self._answer(model, model_id, "Converse", request)
        if "metrics" not in output:
            output["metrics"] = {"latencyMs": latency_ms(used_out)}
        return output

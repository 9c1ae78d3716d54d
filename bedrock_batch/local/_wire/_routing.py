"""Routing, shared by the in-process hooks and the server (moto's ``urls.py``).

:data:`URLS` maps (service, method, path pattern) to a handler. :func:`service_for` decides
which emulated service a request is for from its SigV4 scope: ``bedrock`` is the control plane,
except paths under ``/model/`` which are bedrock-runtime (it signs as ``bedrock`` too);
``servicequotas`` is Service Quotas; anything else (S3, EventBridge, SQS, STS, IAM...) is not
ours and goes to moto.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from .._exceptions import (
    AnswerLost,
    InternalServerException,
    ServiceException,
    UnknownOperationException,
)
from .._service._backend import Backend
from ._http import Request, Response, error_response
from ._responses import BedrockResponses, Context, QuotaResponses, RuntimeResponses

__all__ = ["EMULATED_SERVICES", "OPERATIONS", "URLS", "Router", "service_for"]

log = logging.getLogger("bedrock_batch.local")

#: botocore service ids Local Bedrock answers.
EMULATED_SERVICES = ("bedrock", "bedrock-runtime", "service-quotas")

#: (service, method, path regex, handler name); named groups become keyword arguments.
URLS: tuple[tuple[str, str, re.Pattern[str], str], ...] = tuple(
    (service, method, re.compile(pattern), handler)
    for service, method, pattern, handler in (
        ("bedrock", "POST", r"^/model-invocation-job/?$", "create"),
        ("bedrock", "GET", r"^/model-invocation-jobs/?$", "list"),
        ("bedrock", "POST", r"^/model-invocation-job/(?P<job>.+?)/stop/?$", "stop"),
        ("bedrock", "GET", r"^/model-invocation-job/(?P<job>.+?)/?$", "get"),
        ("bedrock", "POST", r"^/tagResource/?$", "tag"),
        ("bedrock", "POST", r"^/untagResource/?$", "untag"),
        ("bedrock", "POST", r"^/listTagsForResource/?$", "list_tags"),
        ("bedrock", "GET", r"^/foundation-models/?$", "list_models"),
        ("bedrock", "GET", r"^/foundation-models/(?P<model>.+?)/?$", "get_model"),
        ("bedrock", "GET", r"^/inference-profiles/?$", "list_profiles"),
        ("bedrock", "GET", r"^/inference-profiles/(?P<profile>.+?)/?$", "get_profile"),
        ("bedrock-runtime", "POST", r"^/model/(?P<model>[^/]+)/invoke/?$", "invoke"),
        ("bedrock-runtime", "POST", r"^/model/(?P<model>[^/]+)/converse/?$", "converse"),
    )
)


#: The operation each handler answers (the name faults are keyed by).
OPERATIONS = {
    "create": "CreateModelInvocationJob",
    "list": "ListModelInvocationJobs",
    "stop": "StopModelInvocationJob",
    "get": "GetModelInvocationJob",
    "tag": "TagResource",
    "untag": "UntagResource",
    "list_tags": "ListTagsForResource",
    "list_models": "ListFoundationModels",
    "get_model": "GetFoundationModel",
    "list_profiles": "ListInferenceProfiles",
    "get_profile": "GetInferenceProfile",
    "invoke": "InvokeModel",
    "converse": "Converse",
}


def service_for(scope_service: str | None, path: str) -> str | None:
    """The emulated service a request signed for ``scope_service`` is for (None: not ours)."""
    if scope_service == "bedrock":
        return "bedrock-runtime" if path.startswith("/model/") else "bedrock"
    if scope_service == "servicequotas":
        return "service-quotas"
    return None


class Router:
    """Answers one request for an emulated service."""

    def __init__(self, backend: Backend, *, default_region: str) -> None:
        self.backend = backend
        self.default_region = default_region
        self._responses = {
            "bedrock": BedrockResponses(backend),
            "bedrock-runtime": RuntimeResponses(backend),
        }
        self._quotas = QuotaResponses(backend)

    def context(self, request: Request) -> Context:
        """The account and region a request acts in (region from its SigV4 scope)."""
        scope = request.scope
        return Context(self.backend.account_id, scope.region if scope else self.default_region)

    def handle(self, service: str, request: Request) -> Response:
        """Answer ``request`` for ``service`` ('bedrock', 'bedrock-runtime', 'service-quotas').

        Raises :class:`AnswerLost` when a fault after the operation drops its answer.
        """
        json_protocol = service == "service-quotas"
        operation = ""
        try:
            self.backend.observe()
            operation, response = self._dispatch(service, request)
            if response.status < 300:
                response = self._after(operation, response, json_protocol=json_protocol)
        except ServiceException as err:
            response = error_response(err, json_protocol=json_protocol)
        finally:
            self.backend.events.flush()
        return response

    def _after(self, operation: str, response: Response, *, json_protocol: bool) -> Response:
        """The answer of a call that took effect, or the fault injected after it."""
        kind = self.backend.after_fault(operation)
        if kind == "lost_answer":
            raise AnswerLost(operation)
        if kind == "server_error":
            err = InternalServerException("Internal server error (injected after the operation).")
            return error_response(err, json_protocol=json_protocol)
        return response

    def _dispatch(self, service: str, request: Request) -> tuple[str, Response]:
        ctx = self.context(request)
        if service == "service-quotas":
            operation = request.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
            if operation not in QuotaResponses.OPERATIONS:
                raise UnknownOperationException(
                    f"Local Bedrock does not implement Service Quotas {operation}."
                )
            return operation, self._quotas.dispatch(ctx, request, operation)
        responses = self._responses.get(service)
        if responses is not None:
            for url_service, method, pattern, name in URLS:
                match = pattern.match(request.path) if url_service == service else None
                if match and request.method == method:
                    handler: Callable[..., Response] = getattr(responses, name)
                    return OPERATIONS[name], handler(ctx, request, **match.groupdict())
        raise UnknownOperationException(
            f"Local Bedrock does not implement {request.method} {request.path}."
        )

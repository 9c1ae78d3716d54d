"""HTTP in and out of Local Bedrock, shared by the in-process hooks and the server.

Three services are answered here, each in its own protocol: the Bedrock control plane and
bedrock-runtime (rest-json) and Service Quotas (json 1.1). Requests are checked against
botocore's service model (:mod:`._shapes`); errors carry ``x-amzn-ErrorType`` so every AWS SDK
reads the right code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs
import botocore.session
from botocore.model import ServiceModel

from .._catalog import QUOTA_NAME_TEMPLATES, ModelInfo
from .._outputs import output_usage
from .._shapes import constraint_violations
from ._backend import Backend, ServiceException
from ._responders import RecordError

__all__ = ["Request", "Response", "Router", "quota_code"]

_GB_FIELDS = frozenset({"max_file_bytes", "max_job_bytes"})
# Codes AWS publishes for Claude 3 Haiku (facts, Appendix A); others are derived stably.
_KNOWN_CODES = {
    "Minimum number of records per batch inference job for Claude 3 Haiku": "L-AE7F26D4",
    "Records per batch inference job for Claude 3 Haiku": "L-1F644C2A",
    "Records per input file per batch inference job for Claude 3 Haiku": "L-EBB72C32",
    "Batch inference input file size (in GB) for Claude 3 Haiku": "L-42ABE687",
    "Batch inference job size (in GB) for Claude 3 Haiku": "L-79301C5B",
}


@lru_cache(maxsize=4)
def _model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def quota_code(name: str) -> str:
    """The quota code for a quota name: AWS's where known, else a stable derived one."""
    return _KNOWN_CODES.get(name) or "L-" + hashlib.sha1(name.encode()).hexdigest()[:8].upper()


@attrs.frozen
class Request:
    """A transport-neutral HTTP request."""

    method: str
    path: str  # still percent-encoded
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names, str values
    body: bytes

    @classmethod
    def from_url(cls, method: str, url: str, headers: Mapping[str, Any], body: bytes) -> Request:
        """Build from a full URL (as botocore prepares it)."""
        parts = urlsplit(url)
        return cls(
            method.upper(),
            parts.path or "/",
            parse_qs(parts.query, keep_blank_values=True),
            {
                k.lower(): v.decode("latin-1") if isinstance(v, bytes) else str(v)
                for k, v in headers.items()
            },
            body,
        )

    def json(self) -> Any:
        """The body parsed as JSON ({} when empty)."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as err:
            raise ServiceException(
                "ValidationException", "The request body is not valid JSON."
            ) from err

    def one(self, name: str) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@attrs.frozen
class Response:
    """A transport-neutral HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes


def _json_response(
    payload: Any, status: int = 200, extra: Mapping[str, str] | None = None
) -> Response:
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    headers.update(extra or {})
    return Response(status, headers, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _error(err: ServiceException, *, json_protocol: bool = False) -> Response:
    body: dict[str, Any] = {"message": err.message}
    if json_protocol:
        body["__type"] = err.code
    return _json_response(body, err.status, {"x-amzn-ErrorType": f"{err.code}:"})


_JOB_PATH = re.compile(r"^/model-invocation-job/(?P<id>.+?)(?P<stop>/stop)?/?$")
_RUNTIME_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>invoke|converse)/?$")


class Router:
    """Dispatch requests for the three services to the backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # -- entry point ------------------------------------------------------------------------

    def handle(self, service: str, request: Request) -> Response:
        """Answer one request; ``service`` is 'bedrock', 'bedrock-runtime' or 'service-quotas'."""
        json_protocol = service == "service-quotas"
        try:
            if service == "bedrock-runtime":
                return self._runtime(request)
            if json_protocol:
                return self._quotas(request)
            return self._control(request)
        except ServiceException as err:
            return _error(err, json_protocol=json_protocol)

    def _validated(self, service: str, operation: str, params: dict[str, Any]) -> None:
        self.backend.maybe_fail_call(operation)
        message = constraint_violations(_model(service).operation_model(operation), params)
        if message:
            raise ServiceException("ValidationException", message)

    # -- control plane ----------------------------------------------------------------------

    def _control(self, req: Request) -> Response:
        b = self.backend
        path = req.path
        if req.method == "POST" and path.rstrip("/") == "/model-invocation-job":
            params = _object(req.json())
            self._validated("bedrock", "CreateModelInvocationJob", params)
            return _json_response(b.create_job(params))
        if req.method == "GET" and path.rstrip("/") == "/model-invocation-jobs":
            q = self._list_query(req)
            return _json_response(b.list_jobs(q))
        m = _JOB_PATH.match(path)
        if m:
            identifier = unquote(m.group("id"))
            if m.group("stop") and req.method == "POST":
                self._validated("bedrock", "StopModelInvocationJob", {"jobIdentifier": identifier})
                return _json_response(b.stop_job(identifier))
            if not m.group("stop") and req.method == "GET":
                self._validated("bedrock", "GetModelInvocationJob", {"jobIdentifier": identifier})
                return _json_response(b.get_job(identifier))
        if req.method == "POST" and path in (
            "/tagResource",
            "/untagResource",
            "/listTagsForResource",
        ):
            params = _object(req.json())
            op = {"/tagResource": "TagResource", "/untagResource": "UntagResource"}.get(
                path, "ListTagsForResource"
            )
            self._validated("bedrock", op, params)
            arn = params["resourceARN"]
            if op == "TagResource":
                return _json_response(b.tag(arn, params["tags"]))
            if op == "UntagResource":
                return _json_response(b.untag(arn, params["tagKeys"]))
            return _json_response(b.list_tags(arn))
        raise ServiceException(
            "UnknownOperationException",
            f"Local Bedrock does not implement {req.method} {path}.",
            404,
        )

    def _list_query(self, req: Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in ("statusEquals", "nameContains", "nextToken", "sortBy", "sortOrder"):
            value = req.one(name)
            if value is not None:
                params[name] = value
        raw_max = req.one("maxResults")
        if raw_max is not None:
            try:
                params["maxResults"] = int(raw_max)
            except ValueError:
                params["maxResults"] = raw_max
        epochs: dict[str, float] = {}
        for name in ("submitTimeAfter", "submitTimeBefore"):
            value = req.one(name)
            if value is not None:
                stamp = _parse_time(value)
                params[name] = stamp if stamp is not None else value
                if stamp is not None:
                    epochs[name] = stamp.timestamp()
        self._validated("bedrock", "ListModelInvocationJobs", params)
        params.update(epochs)
        return params

    # -- runtime ---------------------------------------------------------------------------

    def _runtime(self, req: Request) -> Response:
        m = _RUNTIME_PATH.match(req.path)
        if not m or req.method != "POST":
            raise ServiceException(
                "UnknownOperationException",
                f"Local Bedrock does not implement {req.method} {req.path}.",
                404,
            )
        model_id = unquote(m.group("model"))
        converse = m.group("op") == "converse"
        operation = "Converse" if converse else "InvokeModel"
        self.backend.maybe_fail_call(operation)
        model = self.backend.resolve_model(model_id, on_demand=True)
        body = req.json()
        if converse:
            body = {k: v for k, v in _object(body).items() if k != "modelId"}
        try:
            output = self.backend.respond(
                model,
                model_id,
                "Converse" if converse else "InvokeModel",
                "runtime",
                body,
                bucket=None,
            )
        except RecordError as err:
            raise _runtime_error(err) from err
        usage = output_usage(output)
        headers = {
            "X-Amzn-Bedrock-Input-Token-Count": str(usage.input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(usage.output_tokens),
        }
        return _json_response(output, 200, headers)

    # -- Service Quotas --------------------------------------------------------------------

    def _quotas(self, req: Request) -> Response:
        target = req.headers.get("x-amz-target", "")
        operation = target.rsplit(".", 1)[-1]
        params = _object(req.json())
        if operation not in (
            "ListServiceQuotas",
            "ListAWSDefaultServiceQuotas",
            "GetServiceQuota",
            "GetAWSDefaultServiceQuota",
        ):
            raise ServiceException(
                "UnknownOperationException",
                f"Local Bedrock does not implement Service Quotas {operation}.",
            )
        self._validated("service-quotas", operation, params)
        defaults = "Default" in operation
        if params.get("ServiceCode") != "bedrock":
            raise ServiceException(
                "NoSuchResourceException",
                f"The service {params.get('ServiceCode')} is not emulated.",
            )
        quotas = self._quota_list(defaults)
        if operation.startswith("Get"):
            for q in quotas:
                if q["QuotaCode"] == params.get("QuotaCode"):
                    return _json_response({"Quota": q})
            raise ServiceException(
                "NoSuchResourceException", f"The quota {params.get('QuotaCode')} does not exist."
            )
        if params.get("QuotaCode"):
            quotas = [q for q in quotas if q["QuotaCode"] == params["QuotaCode"]]
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or 100)
        out: dict[str, Any] = {"Quotas": quotas[start : start + size]}
        if start + size < len(quotas):
            out["NextToken"] = str(start + size)
        return _json_response(out)

    def _quota_list(self, defaults: bool) -> list[dict[str, Any]]:
        b = self.backend
        out = []
        for info in b.catalog().values():
            values = b.default_quotas if defaults else b.quotas_for(info)
            out.extend(_quota_entries(info, values, b.region, b.account_id))
        return out


def _quota_entries(info: ModelInfo, values: Any, region: str, account: str) -> list[dict[str, Any]]:
    entries = []
    for field, template in QUOTA_NAME_TEMPLATES.items():
        name = template.format(info.display_name)
        code = quota_code(name)
        value = getattr(values, field)
        entries.append(
            {
                "ServiceCode": "bedrock",
                "ServiceName": "Amazon Bedrock",
                "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:bedrock/{code}",
                "QuotaCode": code,
                "QuotaName": name,
                "Value": float(value) / 1e9 if field in _GB_FIELDS else float(value),
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        )
    return entries


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ServiceException("ValidationException", "The request body must be a JSON object.")
    return value


def _parse_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    except ValueError:
        pass
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def _runtime_error(err: RecordError) -> ServiceException:
    if err.code == 429:
        return ServiceException("ThrottlingException", err.message, 429)
    if err.code >= 500:
        return ServiceException("InternalServerException", err.message, 500)
    return ServiceException("ValidationException", err.message, 400)

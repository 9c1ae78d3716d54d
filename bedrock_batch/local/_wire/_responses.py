"""Requests in, backend calls, responses out: no business logic here (moto's ``responses.py``).

Each handler parses its operation's parameters, checks them against botocore's service model
(:mod:`._service_model`, the service's own checks), calls the backend with typed keyword
arguments and serializes the answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote

import attrs

from .._exceptions import ValidationException
from .._service._backend import Backend
from .._service._lifecycle import Job
from ._http import Request, Response, json_response
from ._service_model import check_request

__all__ = ["BedrockResponses", "Context", "QuotaResponses", "RuntimeResponses", "iso"]


@attrs.frozen
class Context:
    """Who asks, and where: the account and the region of the request's SigV4 scope."""

    account: str
    region: str


def iso(stamp: float) -> str:
    """An ISO 8601 timestamp with milliseconds, as Bedrock writes them."""
    return (
        dt.datetime.fromtimestamp(stamp, tz=dt.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationException("The request body must be a JSON object.")
    return value


def _parse_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


class _Base:
    service = ""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def checked(self, operation: str, params: dict[str, Any]) -> None:
        self.backend.maybe_fail(operation)
        problem = check_request(self.service, operation, params)
        if problem is not None:
            raise ValidationException(problem)


class BedrockResponses(_Base):
    """The control plane's operations (rest-json)."""

    service = "bedrock"

    def describe(self, job: Job) -> dict[str, Any]:
        """GetModelInvocationJob's response body (also a list item)."""
        request = job.request
        out: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "modelId": job.model_id,
            "clientRequestToken": job.token,
            "roleArn": job.role_arn,
            "status": job.status,
            "submitTime": iso(job.submit_stamp),
            "lastModifiedTime": iso(job.modified_stamp),
            "inputDataConfig": request["inputDataConfig"],
            "outputDataConfig": request["outputDataConfig"],
            "timeoutDurationInHours": job.timeout_hours,
            "jobExpirationTime": iso(job.submit_stamp + job.timeout_hours * 3600.0),
            "modelInvocationType": job.invocation_type,
        }
        if job.message:
            out["message"] = job.message[:2048]
        if job.end_stamp is not None:
            out["endTime"] = iso(job.end_stamp)
        if "vpcConfig" in request:
            out["vpcConfig"] = request["vpcConfig"]
        if self.backend.record_counters:
            out.update(
                totalRecordCount=job.total,
                processedRecordCount=job.processed,
                successRecordCount=job.success,
                errorRecordCount=job.errors,
            )
        return out

    def create(self, ctx: Context, req: Request, **_: str) -> Response:
        params = _object(req.json())
        self.checked("CreateModelInvocationJob", params)
        job = self.backend.control.create_model_invocation_job(
            account=ctx.account,
            region=ctx.region,
            job_name=params["jobName"],
            role_arn=params["roleArn"],
            model_id=params["modelId"],
            input_data_config=params["inputDataConfig"],
            output_data_config=params["outputDataConfig"],
            client_request_token=params.get("clientRequestToken"),
            timeout_duration_in_hours=params.get("timeoutDurationInHours"),
            model_invocation_type=params.get("modelInvocationType"),
            tags=params.get("tags"),
            vpc_config=params.get("vpcConfig"),
        )
        return json_response({"jobArn": job.arn})

    def get(self, ctx: Context, req: Request, *, job: str = "") -> Response:
        identifier = unquote(job)
        self.checked("GetModelInvocationJob", {"jobIdentifier": identifier})
        found = self.backend.control.get_model_invocation_job(
            account=ctx.account, region=ctx.region, job_identifier=identifier
        )
        with self.backend.lock:
            return json_response(self.describe(found))

    def list(self, ctx: Context, req: Request, **_: str) -> Response:
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
        self.checked("ListModelInvocationJobs", params)
        jobs, token = self.backend.control.list_model_invocation_jobs(
            account=ctx.account,
            region=ctx.region,
            submit_time_after=epochs.get("submitTimeAfter"),
            submit_time_before=epochs.get("submitTimeBefore"),
            status_equals=params.get("statusEquals"),
            name_contains=params.get("nameContains"),
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
            sort_by=params.get("sortBy"),
            sort_order=params.get("sortOrder"),
        )
        with self.backend.lock:
            out: dict[str, Any] = {"invocationJobSummaries": [self.describe(j) for j in jobs]}
        if token is not None:
            out["nextToken"] = token
        return json_response(out)

    def stop(self, ctx: Context, req: Request, *, job: str = "") -> Response:
        identifier = unquote(job)
        self.checked("StopModelInvocationJob", {"jobIdentifier": identifier})
        self.backend.control.stop_model_invocation_job(
            account=ctx.account, region=ctx.region, job_identifier=identifier
        )
        return json_response({})

    def tag(self, ctx: Context, req: Request, **_: str) -> Response:
        params = _object(req.json())
        self.checked("TagResource", params)
        self.backend.control.tag_resource(
            account=ctx.account,
            region=ctx.region,
            resource_arn=params["resourceARN"],
            tags=params["tags"],
        )
        return json_response({})

    def untag(self, ctx: Context, req: Request, **_: str) -> Response:
        params = _object(req.json())
        self.checked("UntagResource", params)
        self.backend.control.untag_resource(
            account=ctx.account,
            region=ctx.region,
            resource_arn=params["resourceARN"],
            tag_keys=params["tagKeys"],
        )
        return json_response({})

    def list_tags(self, ctx: Context, req: Request, **_: str) -> Response:
        params = _object(req.json())
        self.checked("ListTagsForResource", params)
        tags = self.backend.control.list_tags_for_resource(
            account=ctx.account, region=ctx.region, resource_arn=params["resourceARN"]
        )
        return json_response({"tags": [{"key": k, "value": v} for k, v in tags.items()]})

    # -- model discovery (bedrock-facts §12.6) ------------------------------------------------

    def list_models(self, ctx: Context, req: Request, **_: str) -> Response:
        params: dict[str, Any] = {}
        for name in ("byProvider", "byCustomizationType", "byOutputModality", "byInferenceType"):
            value = req.one(name)
            if value is not None:
                params[name] = value
        self.checked("ListFoundationModels", params)
        summaries = self.backend.discovery.list_foundation_models(
            region=ctx.region,
            by_provider=params.get("byProvider"),
            by_customization_type=params.get("byCustomizationType"),
            by_output_modality=params.get("byOutputModality"),
            by_inference_type=params.get("byInferenceType"),
        )
        return json_response({"modelSummaries": summaries})

    def get_model(self, ctx: Context, req: Request, *, model: str = "") -> Response:
        identifier = unquote(model)
        self.checked("GetFoundationModel", {"modelIdentifier": identifier})
        details = self.backend.discovery.get_foundation_model(
            region=ctx.region, model_identifier=identifier
        )
        return json_response({"modelDetails": details})

    def list_profiles(self, ctx: Context, req: Request, **_: str) -> Response:
        params: dict[str, Any] = {}
        for name, wire in (("nextToken", "nextToken"), ("typeEquals", "type")):
            value = req.one(wire)
            if value is not None:
                params[name] = value
        raw_max = req.one("maxResults")
        if raw_max is not None:
            try:
                params["maxResults"] = int(raw_max)
            except ValueError:
                params["maxResults"] = raw_max
        self.checked("ListInferenceProfiles", params)
        page, token = self.backend.discovery.list_inference_profiles(
            account=ctx.account,
            region=ctx.region,
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
            type_equals=params.get("typeEquals"),
        )
        out: dict[str, Any] = {"inferenceProfileSummaries": page}
        if token is not None:
            out["nextToken"] = token
        return json_response(out)

    def get_profile(self, ctx: Context, req: Request, *, profile: str = "") -> Response:
        identifier = unquote(profile)
        self.checked("GetInferenceProfile", {"inferenceProfileIdentifier": identifier})
        return json_response(
            self.backend.discovery.get_inference_profile(
                account=ctx.account, region=ctx.region, inference_profile_identifier=identifier
            )
        )


class RuntimeResponses(_Base):
    """bedrock-runtime's InvokeModel and Converse (rest-json)."""

    service = "bedrock-runtime"

    def invoke(self, ctx: Context, req: Request, *, model: str = "") -> Response:
        self.backend.maybe_fail("InvokeModel")
        body, headers = self.backend.runtime.invoke_model(
            region=ctx.region, model_id=unquote(model), body=req.json()
        )
        return json_response(body, 200, headers)

    def converse(self, ctx: Context, req: Request, *, model: str = "") -> Response:
        model_id = unquote(model)
        params = _object(req.json())
        params.pop("modelId", None)
        self.checked("Converse", {"modelId": model_id, **params})
        return json_response(
            self.backend.runtime.converse(region=ctx.region, model_id=model_id, request=params)
        )


class QuotaResponses(_Base):
    """Service Quotas (json 1.1, dispatched on ``X-Amz-Target``)."""

    service = "service-quotas"
    OPERATIONS = frozenset(
        {
            "ListServiceQuotas",
            "ListAWSDefaultServiceQuotas",
            "GetServiceQuota",
            "GetAWSDefaultServiceQuota",
        }
    )

    def dispatch(self, ctx: Context, req: Request, operation: str) -> Response:
        params = _object(req.json())
        self.checked(operation, params)
        quotas = self.backend.service_quotas
        defaults = "Default" in operation
        if operation.startswith("Get"):
            quota = quotas.get_quota(
                account=ctx.account,
                region=ctx.region,
                service_code=params.get("ServiceCode"),
                quota_code=params.get("QuotaCode"),
                defaults=defaults,
            )
            return json_response({"Quota": quota})
        page, token = quotas.list_quotas(
            account=ctx.account,
            region=ctx.region,
            service_code=params.get("ServiceCode"),
            defaults=defaults,
            quota_code=params.get("QuotaCode"),
            next_token=params.get("NextToken"),
            max_results=params.get("MaxResults"),
        )
        out: dict[str, Any] = {"Quotas": page}
        if token is not None:
            out["NextToken"] = token
        return json_response(out)

"""Typed views of model invocation jobs, and the control-plane calls that create, read, list
and stop them — each translated into the library's errors, none retried here (botocore's
standard retry mode retries single calls; the lifecycle decides what happens after that)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

from .._errors import translate_client_error

__all__ = [
    "TERMINAL",
    "JobDescription",
    "JobStatus",
    "create",
    "describe",
    "find_by_name",
    "iter_jobs",
    "stop",
]

JobStatus = Literal[
    "Submitted",
    "Validating",
    "Scheduled",
    "InProgress",
    "Stopping",
    "Completed",
    "PartiallyCompleted",
    "Failed",
    "Stopped",
    "Expired",
]

#: Statuses a job never leaves.
TERMINAL: frozenset[str] = frozenset(
    {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}
)


def _dt(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@attrs.frozen
class JobDescription:
    """A snapshot of one model invocation job, as GetModelInvocationJob describes it.

    The record counters are None when the service (or an SDK older than 2026-04-01) does not
    report them.
    """

    job_arn: str
    job_name: str
    model_id: str
    status: str
    role_arn: str = ""
    message: str | None = None
    submit_time: dt.datetime | None = None
    last_modified_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    job_expiration_time: dt.datetime | None = None
    input_uri: str = ""
    output_uri: str = ""
    invocation_type: str = "InvokeModel"
    timeout_hours: int | None = None
    client_request_token: str | None = None
    total_records: int | None = None
    processed_records: int | None = None
    succeeded_records: int | None = None
    errored_records: int | None = None
    bucket_owner: str | None = None
    kms_key_id: str | None = None
    vpc_subnet_ids: tuple[str, ...] = ()
    vpc_security_group_ids: tuple[str, ...] = ()

    @classmethod
    def from_response(cls, resp: Mapping[str, Any]) -> JobDescription:
        """Build from a Get response or a List summary."""
        inp = resp.get("inputDataConfig", {}).get("s3InputDataConfig", {})
        out = resp.get("outputDataConfig", {}).get("s3OutputDataConfig", {})
        return cls(
            job_arn=resp["jobArn"],
            job_name=resp.get("jobName", ""),
            model_id=resp.get("modelId", ""),
            status=resp.get("status", "Submitted"),
            role_arn=resp.get("roleArn", ""),
            message=resp.get("message") or None,
            submit_time=_dt(resp.get("submitTime")),
            last_modified_time=_dt(resp.get("lastModifiedTime")),
            end_time=_dt(resp.get("endTime")),
            job_expiration_time=_dt(resp.get("jobExpirationTime")),
            input_uri=inp.get("s3Uri", ""),
            output_uri=out.get("s3Uri", ""),
            invocation_type=resp.get("modelInvocationType") or "InvokeModel",
            timeout_hours=_opt_int(resp.get("timeoutDurationInHours")),
            client_request_token=resp.get("clientRequestToken"),
            total_records=_opt_int(resp.get("totalRecordCount")),
            processed_records=_opt_int(resp.get("processedRecordCount")),
            succeeded_records=_opt_int(resp.get("successRecordCount")),
            errored_records=_opt_int(resp.get("errorRecordCount")),
            bucket_owner=inp.get("s3BucketOwner"),
            kms_key_id=out.get("s3EncryptionKeyId"),
            vpc_subnet_ids=tuple(resp.get("vpcConfig", {}).get("subnetIds", ())),
            vpc_security_group_ids=tuple(resp.get("vpcConfig", {}).get("securityGroupIds", ())),
        )

    @property
    def job_id(self) -> str:
        """The last segment of the ARN, which names the folder Bedrock writes outputs to."""
        return self.job_arn.rsplit("/", 1)[-1]

    @property
    def is_terminal(self) -> bool:
        """True once the job can no longer change."""
        return self.status in TERMINAL


def create(bedrock: Any, request: dict[str, Any]) -> str:
    """CreateModelInvocationJob, translated; returns the job ARN."""
    with translate_client_error("CreateModelInvocationJob"):
        return str(bedrock.create_model_invocation_job(**request)["jobArn"])


def find_by_name(bedrock: Any, name: str, token: str | None = None) -> JobDescription | None:
    """The job of exactly this name (and client request token, when the service reports it)."""
    for desc in iter_jobs(bedrock, name_contains=name):
        if desc.job_name == name and (token is None or desc.client_request_token in (None, token)):
            return desc
    return None


def describe(bedrock: Any, job_arn: str) -> JobDescription:
    """GetModelInvocationJob, translated."""
    with translate_client_error("GetModelInvocationJob"):
        return JobDescription.from_response(bedrock.get_model_invocation_job(jobIdentifier=job_arn))


def stop(bedrock: Any, job_arn: str) -> None:
    """StopModelInvocationJob, translated."""
    with translate_client_error("StopModelInvocationJob"):
        bedrock.stop_model_invocation_job(jobIdentifier=job_arn)


def iter_jobs(
    bedrock: Any,
    *,
    status: str | None = None,
    name_contains: str | None = None,
    submitted_after: dt.datetime | None = None,
    submitted_before: dt.datetime | None = None,
) -> Iterator[JobDescription]:
    """Every matching job, across pages (botocore's paginator), newest first."""
    kwargs: dict[str, Any] = {"sortOrder": "Descending"}
    if status:
        kwargs["statusEquals"] = status
    if name_contains:
        kwargs["nameContains"] = name_contains
    if submitted_after:
        kwargs["submitTimeAfter"] = submitted_after
    if submitted_before:
        kwargs["submitTimeBefore"] = submitted_before
    with translate_client_error("ListModelInvocationJobs"):
        for page in bedrock.get_paginator("list_model_invocation_jobs").paginate(**kwargs):
            for item in page.get("invocationJobSummaries", []):
                yield JobDescription.from_response(item)

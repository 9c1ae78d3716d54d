"""The control plane: model invocation jobs and their tags, per account and region.

Every operation takes typed keyword arguments (already checked against the service model by
the responses layer) and returns :class:`Job` objects or plain values; serialization lives in
:mod:`._responses`. Jobs live in one :class:`JobStore` per (account, region), like moto's
``BackendDict``: a job in one region is not found from another.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import string
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import attrs

from ..._catalog import ModelInfo
from .._clock import Clock, wall_time
from .._config import FaultEvent, Faults, Quotas
from .._exceptions import (
    AccessDeniedException,
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    TooManyTagsException,
    ValidationException,
)
from .._families._models import available_in, resolve_model_id
from .._s3 import split_s3_uri
from ._events import EventBus
from ._lifecycle import ACTIVE, TERMINAL, Job, enter

__all__ = ["ControlPlane", "JobStore", "partition_of"]

log = logging.getLogger("bedrock_batch.local")

_ID_CHARS = string.ascii_lowercase + string.digits


def partition_of(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@attrs.frozen
class _TokenUse:
    job_id: str
    fingerprint: str
    at: float  # emulated time of first use


@attrs.define
class JobStore:
    """The jobs and idempotency tokens of one account in one region."""

    jobs: dict[str, Job] = attrs.field(factory=dict)
    tokens: OrderedDict[str, _TokenUse] = attrs.field(factory=OrderedDict)


class ControlPlane:
    """CreateModelInvocationJob, Get, List, Stop, and tagging."""

    def __init__(
        self,
        *,
        lock: threading.RLock,
        clock: Clock,
        quotas: Callable[[ModelInfo], Quotas],
        faults: Faults,
        events: EventBus,
        seed: int,
        idempotency_window: float,
        default_timeout_hours: int,
        stoppable: frozenset[str],
        accept_unknown_models: bool = False,
    ) -> None:
        self.lock = lock
        self.accept_unknown_models = accept_unknown_models
        self.clock = clock
        self.quotas = quotas
        self.faults = faults
        self.events = events
        self.idempotency_window = idempotency_window
        self.default_timeout_hours = default_timeout_hours
        self.stoppable = stoppable
        self._rng = random.Random(seed)
        self._stores: dict[tuple[str, str], JobStore] = {}

    def store(self, account: str, region: str) -> JobStore:
        """The job store of an account in a region (created on first use)."""
        key = (account, region)
        if key not in self._stores:
            self._stores[key] = JobStore()
        return self._stores[key]

    def all_jobs(self) -> list[Job]:
        """Every job of every account and region."""
        return [job for store in list(self._stores.values()) for job in list(store.jobs.values())]

    def now(self) -> tuple[float, float]:
        """(emulated now, the wall-clock timestamp clients see for it)."""
        at = self.clock.now()
        return at, wall_time(self.clock, at)

    # -- create ----------------------------------------------------------------------------

    def create_model_invocation_job(
        self,
        *,
        account: str,
        region: str,
        job_name: str,
        role_arn: str,
        model_id: str,
        input_data_config: dict[str, Any],
        output_data_config: dict[str, Any],
        client_request_token: str | None = None,
        timeout_duration_in_hours: int | None = None,
        model_invocation_type: str | None = None,
        tags: list[dict[str, str]] | None = None,
        vpc_config: dict[str, Any] | None = None,
    ) -> Job:
        """Create a job (or return the job this idempotency token already created)."""
        request: dict[str, Any] = {
            "jobName": job_name,
            "roleArn": role_arn,
            "modelId": model_id,
            "inputDataConfig": input_data_config,
            "outputDataConfig": output_data_config,
        }
        for key, value in (
            ("timeoutDurationInHours", timeout_duration_in_hours),
            ("modelInvocationType", model_invocation_type),
            ("tags", tags),
            ("vpcConfig", vpc_config),
        ):
            if value is not None:
                request[key] = value
        fingerprint = hashlib.sha256(
            json.dumps(request, sort_keys=True, default=str).encode()
        ).hexdigest()
        with self.lock:
            store = self.store(account, region)
            at, stamp = self.now()
            token = client_request_token or "".join(self._rng.choice(_ID_CHARS) for _ in range(32))
            self._forget_old_tokens(store, at)
            used = store.tokens.get(token)
            if used is not None:
                if used.fingerprint != fingerprint:
                    raise ConflictException(
                        "The clientRequestToken was already used with a different request."
                    )
                return store.jobs[used.job_id]
            model = self._batch_model(model_id, region)
            role_account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
            if role_account and role_account != account:
                raise AccessDeniedException(
                    f"User is not authorized to perform: iam:PassRole on resource: {role_arn}"
                )
            invocation_type = model_invocation_type or "InvokeModel"
            if model.is_embedding and invocation_type == "Converse":
                raise ValidationException(
                    "The Converse invocation type is not supported for the requested model."
                )
            self._check_concurrency(store, model)
            job_id = self._new_id(store)
            partition = partition_of(region)
            job = Job(
                job_id=job_id,
                arn=f"arn:{partition}:bedrock:{region}:{account}:model-invocation-job/{job_id}",
                name=job_name,
                region=region,
                account=account,
                model_id=model_id,
                model=model,
                model_arn=_model_arn(model_id, model, partition, region, account),
                role_arn=role_arn,
                token=token,
                request=request,
                invocation_type=invocation_type,
                timeout_hours=timeout_duration_in_hours or self.default_timeout_hours,
                fault=self.faults.take_job_fault(job_name),
                input_bucket=split_s3_uri(input_data_config["s3InputDataConfig"]["s3Uri"]).bucket,
                submit_at=at,
                submit_stamp=stamp,
                phase_start=at,
                modified_stamp=stamp,
                tags={t["key"]: t["value"] for t in tags or []},
                history=[("Submitted", at)],
            )
            if job.fault is not None:
                self.faults.log.append(
                    FaultEvent(f"job_{job.fault.kind}", "CreateModelInvocationJob", job_id)
                )
            store.jobs[job_id] = job
            store.tokens[token] = _TokenUse(job_id, fingerprint, at)
            self.events.emit(job, stamp)
            log.debug("created job %s (%s)", job.arn, job.name)
            return job

    def _forget_old_tokens(self, store: JobStore, at: float) -> None:
        while store.tokens:
            token, used = next(iter(store.tokens.items()))
            if at - used.at < self.idempotency_window:
                return
            del store.tokens[token]

    def _batch_model(self, model_id: str, region: str) -> ModelInfo:
        resolved = resolve_model_id(model_id, region, accept_unknown=self.accept_unknown_models)
        if resolved.arn_region and resolved.arn_region != region:
            raise ValidationException(
                f"The model ARN region {resolved.arn_region} does not match the request region {region}."
            )
        if not resolved.in_geography:
            raise ValidationException("The provided model identifier is invalid.")
        info = resolved.info
        if info is None:
            raise ValidationException("Batch inference is not supported for the requested model.")
        if info.requires_profile and not resolved.via_profile:
            raise ValidationException(
                f"Invocation of model ID {info.model_id} with on-demand throughput isn't supported. "
                "Retry your request with the ID or ARN of an inference profile that contains this model."
            )
        if not available_in(info, region, via_profile=resolved.via_profile):
            raise ValidationException("Batch inference is not supported for the requested model.")
        return info

    def _check_concurrency(self, store: JobStore, model: ModelInfo) -> None:
        quota = self.quotas(model)
        active = sum(
            1
            for j in store.jobs.values()
            if j.model.model_id == model.model_id and j.status in ACTIVE
        )
        if active >= quota.max_concurrent_jobs:
            raise ServiceQuotaExceededException(
                f"The number of in-progress and submitted batch inference jobs for {model.display_name} "
                f"has reached its quota ({quota.max_concurrent_jobs}). Wait for jobs to finish or request a quota increase."
            )

    def _new_id(self, store: JobStore) -> str:
        while True:
            job_id = "".join(self._rng.choice(_ID_CHARS) for _ in range(12))
            if job_id not in store.jobs:
                return job_id

    # -- read ------------------------------------------------------------------------------

    def _job(self, account: str, region: str, identifier: str) -> Job:
        job = self.store(account, region).jobs.get(identifier.rsplit("/", 1)[-1])
        if job is None or (identifier.startswith("arn:") and identifier != job.arn):
            raise ResourceNotFoundException(f"The specified job {identifier} was not found.")
        return job

    def get_model_invocation_job(self, *, account: str, region: str, job_identifier: str) -> Job:
        """One job, by ARN or id."""
        with self.lock:
            return self._job(account, region, job_identifier)

    def list_model_invocation_jobs(
        self,
        *,
        account: str,
        region: str,
        submit_time_after: float | None = None,
        submit_time_before: float | None = None,
        status_equals: str | None = None,
        name_contains: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """One page of jobs (filters on the timestamps clients see), and the next token."""
        with self.lock:
            jobs = list(self.store(account, region).jobs.values())
        if status_equals:
            jobs = [j for j in jobs if j.status == status_equals]
        if name_contains:
            jobs = [j for j in jobs if name_contains in j.name]
        if submit_time_after is not None:
            jobs = [j for j in jobs if j.submit_stamp > submit_time_after]
        if submit_time_before is not None:
            jobs = [j for j in jobs if j.submit_stamp < submit_time_before]
        jobs.sort(
            key=lambda j: (j.submit_at, j.job_id),
            reverse=(sort_order or "Descending") == "Descending",
        )
        start = 0
        if next_token:
            try:
                start = int(base64.urlsafe_b64decode(next_token.encode()).decode())
            except (ValueError, UnicodeDecodeError) as err:
                raise ValidationException("The nextToken is invalid.") from err
        size = max_results or 1000
        token = (
            base64.urlsafe_b64encode(str(start + size).encode()).decode()
            if start + size < len(jobs)
            else None
        )
        return jobs[start : start + size], token

    # -- stop ------------------------------------------------------------------------------

    def stop_model_invocation_job(self, *, account: str, region: str, job_identifier: str) -> None:
        """Stopping now, Stopped after ``Timings.stopping``; processed outputs are kept."""
        with self.lock:
            job = self._job(account, region, job_identifier)
            if job.status in TERMINAL or (
                job.status not in self.stoppable and job.status != "Stopping"
            ):
                raise ConflictException(
                    f"The job {job.arn} can't be stopped because it is {job.status}."
                )
            if job.status != "Stopping":
                at, stamp = self.now()
                enter(job, "Stopping", at, stamp)
                self.events.emit(job, stamp)

    # -- tags ------------------------------------------------------------------------------

    def _tagged(self, account: str, region: str, arn: str) -> Job:
        if ":model-invocation-job/" not in arn:
            raise ResourceNotFoundException(f"The resource {arn} was not found.")
        return self._job(account, region, arn)

    def tag_resource(
        self, *, account: str, region: str, resource_arn: str, tags: list[dict[str, str]]
    ) -> None:
        """Add or replace tags."""
        with self.lock:
            job = self._tagged(account, region, resource_arn)
            merged = {**job.tags, **{t["key"]: t["value"] for t in tags}}
            if len(merged) > 200:
                raise TooManyTagsException("The resource would have more than 200 tags.")
            job.tags = merged

    def untag_resource(
        self, *, account: str, region: str, resource_arn: str, tag_keys: list[str]
    ) -> None:
        """Remove tags."""
        with self.lock:
            job = self._tagged(account, region, resource_arn)
            for key in tag_keys:
                job.tags.pop(key, None)

    def list_tags_for_resource(
        self, *, account: str, region: str, resource_arn: str
    ) -> dict[str, str]:
        """The tags of a job."""
        with self.lock:
            return dict(self._tagged(account, region, resource_arn).tags)


def _model_arn(model_id: str, model: ModelInfo, partition: str, region: str, account: str) -> str:
    """The model ARN EventBridge events name: the FM ARN, or the inference profile's ARN."""
    if model_id.startswith("arn:"):
        return model_id
    if model_id == model.model_id:
        return f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"
    return f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}"

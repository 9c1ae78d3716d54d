"""The Bedrock batch backend of Local Bedrock: job state, lifecycle and the data plane.

It knows no HTTP: ``_wire`` turns requests into calls here and :class:`ServiceException` into
error responses. Job state advances lazily from the emulated clock whenever it is observed
(any API call) or when the owner calls :meth:`Backend.tick`, so a manual clock makes every
transition deterministic.

Data plane: at the end of Validating every input ``.jsonl`` is streamed from S3 to a local
temporary file (checked line by line; memory does not grow with file size); while InProgress
records are answered at ``Timings.records_per_second`` and written through a bounded shuffle
buffer to temporary ``.out`` files, uploaded to ``{output}/{jobId}/`` with the manifest when the
job ends. Nothing of S3 is emulated here: reads and writes go through a boto3 S3 client.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import math
import os
import random
import string
import tempfile
import threading
from collections.abc import Callable, Mapping
from typing import IO, Any

import attrs
from botocore.exceptions import ClientError

from .._catalog import CATALOG, ModelInfo, lookup_model
from .._jsonl import dumps_line
from .._outputs import output_usage
from .._s3uri import S3Uri
from .._schemas import check_model_input, iter_s3_locations
from ._clock import Clock
from ._config import FaultEvent, Faults, JobFault, Quotas, Timings
from ._responders import RecordContext, RecordError, Responder, synthetic

__all__ = ["Backend", "ServiceException"]

log = logging.getLogger("bedrock_batch.local")

TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
ACTIVE = frozenset({"Submitted", "Validating", "Scheduled", "InProgress", "Stopping"})
DEFAULT_TIMEOUT_HOURS = 24  # UNVERIFIED default when timeoutDurationInHours is omitted
_ID_CHARS = string.ascii_lowercase + string.digits
_RID_CHARS = string.ascii_uppercase + string.digits
_CONVERSE_BLOCK_KEYS = (
    "audio", "cachePoint", "citationsContent", "document", "guardContent", "image",
    "reasoningContent", "searchResult", "text", "toolResult", "toolUse", "video",
)  # fmt: skip


class ServiceException(Exception):
    """An AWS error answer: ``code`` (e.g. ValidationException), HTTP ``status`` and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return (
        dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@attrs.define
class _Staged:
    key: str  # S3 key of the input file
    rel: str  # name of the output, relative to {output}/{jobId}/
    path: str  # local copy
    records: int
    size: int


@attrs.define
class _Runner:
    """Answers records one at a time and buffers the output lines (bounded shuffle)."""

    files: list[_Staged]
    tmpdir: str
    rng: random.Random
    window: int
    file_index: int = 0
    handle: IO[bytes] | None = None
    out_paths: list[str] = attrs.field(factory=list)
    out_handle: IO[bytes] | None = None
    buffer: list[bytes] = attrs.field(factory=list)

    def next_line(self) -> bytes | None:
        while self.file_index < len(self.files):
            if self.handle is None:
                self.handle = open(self.files[self.file_index].path, "rb")  # noqa: SIM115
                out_path = os.path.join(self.tmpdir, f"out-{self.file_index}")
                self.out_paths.append(out_path)
                self.out_handle = open(out_path, "wb")  # noqa: SIM115
            line = self.handle.readline()
            if line.strip():
                return line
            if not line:  # end of this file
                self._close_file()
        return None

    def emit(self, line: bytes) -> None:
        assert self.out_handle is not None
        self.buffer.append(line)
        if len(self.buffer) >= self.window:
            i = self.rng.randrange(len(self.buffer))
            self.buffer[i], self.buffer[-1] = self.buffer[-1], self.buffer[i]
            self.out_handle.write(self.buffer.pop())

    def _close_file(self) -> None:
        self.rng.shuffle(self.buffer)
        if self.out_handle is not None:
            self.out_handle.writelines(self.buffer)
            self.out_handle.close()
        self.buffer.clear()
        if self.handle is not None:
            self.handle.close()
        self.handle = None
        self.out_handle = None
        self.file_index += 1

    def finish(self) -> list[tuple[_Staged, str | None]]:
        """Close everything; pairs each input file with its output file (None if never reached)."""
        if self.handle is not None:
            self._close_file()
        return [
            (f, self.out_paths[i] if i < len(self.out_paths) else None)
            for i, f in enumerate(self.files)
        ]


@attrs.define
class _Job:
    job_id: str
    arn: str
    name: str
    model_id: str
    model: ModelInfo
    role_arn: str
    token: str
    fingerprint: str
    request: dict[str, Any]
    submit: float
    timeout_hours: int
    invocation_type: str
    fault: JobFault | None
    input_bucket: str  # referenced S3 objects (Nova s3Location) must live there
    status: str = "Submitted"
    phase_start: float = 0.0
    last_modified: float = 0.0
    end: float | None = None
    message: str | None = None
    total: int = 0
    processed: int = 0
    success: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tags: dict[str, str] = attrs.field(factory=dict)
    runner: _Runner | None = None
    tmpdir: str | None = None
    history: list[tuple[str, float]] = attrs.field(factory=list)

    @property
    def expiration(self) -> float:
        return self.submit + self.timeout_hours * 3600.0


class Backend:
    """State and rules of the emulated control plane, runtime and Service Quotas."""

    def __init__(
        self,
        *,
        s3_client: Callable[[], Any],
        clock: Clock,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        timings: Timings | None = None,
        quotas: Mapping[str, Quotas] | None = None,
        default_quotas: Quotas | None = None,
        faults: Faults | None = None,
        seed: int = 0,
        responder: Responder | None = None,
        validate_inputs: bool = True,
        record_counters: bool = True,
        output_paths: str = "relative",
        shuffle_window: int = 256,
        max_records_per_tick: int | None = None,
    ) -> None:
        if output_paths not in ("relative", "basename"):
            raise ValueError("output_paths must be 'relative' or 'basename'")
        self._s3_factory = s3_client
        self._s3: Any = None
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.timings = timings or Timings()
        self.default_quotas = default_quotas or Quotas()
        self.quotas: dict[str, Quotas] = {}
        for model_id, q in (quotas or {}).items():
            info, _ = lookup_model(model_id)
            self.quotas[info.model_id if info else model_id] = q
        self.faults = faults or Faults()
        self.seed = seed
        self.responder = responder or synthetic
        self.validate_inputs = validate_inputs
        self.record_counters = record_counters
        self.output_paths = output_paths
        self.shuffle_window = max(1, shuffle_window)
        #: Bound on records answered per observation, so API calls stay quick while a big job
        #: runs on a real-time clock (None: everything due is processed at once).
        self.max_records_per_tick = max_records_per_tick
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(seed ^ 0x5EED)
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._tokens: dict[str, str] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="local-bedrock-")

    # -- plumbing --------------------------------------------------------------------------

    @property
    def s3(self) -> Any:
        """The boto3 S3 client the data plane reads and writes through."""
        if self._s3 is None:
            self._s3 = self._s3_factory()
        return self._s3

    def close(self) -> None:
        """Release temporary files."""
        with self._lock:
            for job in self._jobs.values():
                if job.runner is not None:
                    job.runner.finish()
            self._tmp.cleanup()

    def quotas_for(self, model: ModelInfo) -> Quotas:
        """The quotas in force for a model."""
        return self.quotas.get(model.model_id, self.default_quotas)

    def maybe_fail_call(self, operation: str) -> None:
        """Seeded throttling / 500 injection for one API call."""
        f = self.faults
        if f.operations is not None and operation not in f.operations:
            return
        if f.throttle_rate and self._fault_rng.random() < f.throttle_rate:
            f.log.append(FaultEvent("throttle", operation))
            raise ServiceException(
                "ThrottlingException", "Too many requests, please wait before trying again.", 429
            )
        if f.server_error_rate and self._fault_rng.random() < f.server_error_rate:
            f.log.append(FaultEvent("server_error", operation))
            raise ServiceException(
                "InternalServerException", "Internal server error (injected).", 500
            )

    def _job(self, identifier: str) -> _Job:
        job_id = identifier.rsplit("/", 1)[-1]
        job = self._jobs.get(job_id)
        if job is None or (identifier.startswith("arn:") and identifier != job.arn):
            raise ServiceException(
                "ResourceNotFoundException", f"The specified job {identifier} was not found.", 404
            )
        return job

    # -- model resolution ------------------------------------------------------------------

    def resolve_model(self, model_id: str, *, on_demand: bool = False) -> ModelInfo:
        """The catalog entry for a model id, or the service's refusal."""
        info, via_profile = lookup_model(model_id)
        m = model_id.split(":", 4)
        if model_id.startswith("arn:") and len(m) > 3 and m[3] and m[3] != self.region:
            raise ServiceException(
                "ValidationException",
                f"The model ARN region {m[3]} does not match the request region {self.region}.",
            )
        if info is None:
            if on_demand:
                raise ServiceException(
                    "ValidationException", "The provided model identifier is invalid."
                )
            raise ServiceException(
                "ValidationException", "Batch inference is not supported for the requested model."
            )
        if info.requires_profile and not via_profile:
            raise ServiceException(
                "ValidationException",
                f"Invocation of model ID {info.model_id} with on-demand throughput isn't supported. "
                "Retry your request with the ID or ARN of an inference profile that contains this model.",
            )
        return info

    # -- control plane ---------------------------------------------------------------------

    def create_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """CreateModelInvocationJob (params already checked against the service model)."""
        with self._lock:
            self.tick()
            token = params.get("clientRequestToken") or "".join(
                self._rng.choice(_ID_CHARS) for _ in range(32)
            )
            fingerprint = hashlib.sha256(
                json.dumps(
                    {k: v for k, v in params.items() if k != "clientRequestToken"},
                    sort_keys=True,
                    default=str,
                ).encode()
            ).hexdigest()
            if token in self._tokens:
                job = self._jobs[self._tokens[token]]
                if job.fingerprint != fingerprint:
                    raise ServiceException(
                        "ConflictException",
                        "The clientRequestToken was already used with a different request.",
                    )
                return {"jobArn": job.arn}
            model = self.resolve_model(params["modelId"])
            role = params["roleArn"]
            role_account = role.split(":")[4] if role.count(":") >= 5 else ""
            if role_account and role_account != self.account_id:
                raise ServiceException(
                    "AccessDeniedException",
                    f"User is not authorized to perform: iam:PassRole on resource: {role}",
                    403,
                )
            if model.is_embedding and params.get("modelInvocationType") == "Converse":
                raise ServiceException(
                    "ValidationException",
                    "The Converse invocation type is not supported for the requested model.",
                )
            quota = self.quotas_for(model)
            active = sum(
                1
                for j in self._jobs.values()
                if j.model.model_id == model.model_id and j.status in ACTIVE
            )
            if active >= quota.max_concurrent_jobs:
                raise ServiceException(
                    "ServiceQuotaExceededException",
                    f"The number of in-progress and submitted batch inference jobs for {model.display_name} "
                    f"has reached its quota ({quota.max_concurrent_jobs}). Wait for jobs to finish or request a quota increase.",
                )
            job_id = "".join(self._rng.choice(_ID_CHARS) for _ in range(12))
            while job_id in self._jobs:
                job_id = "".join(self._rng.choice(_ID_CHARS) for _ in range(12))
            now = self.clock.now()
            job = _Job(
                job_id=job_id,
                arn=f"arn:aws:bedrock:{self.region}:{self.account_id}:model-invocation-job/{job_id}",
                name=params["jobName"],
                model_id=params["modelId"],
                model=model,
                role_arn=role,
                token=token,
                fingerprint=fingerprint,
                request=params,
                submit=now,
                timeout_hours=int(params.get("timeoutDurationInHours") or DEFAULT_TIMEOUT_HOURS),
                invocation_type=params.get("modelInvocationType") or "InvokeModel",
                fault=self.faults.take_job_fault(params["jobName"]),
                input_bucket=S3Uri.parse(
                    params["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
                ).bucket,
                phase_start=now,
                last_modified=now,
                tags={t["key"]: t["value"] for t in params.get("tags", [])},
            )
            if job.fault:
                self.faults.log.append(
                    FaultEvent(f"job_{job.fault.kind}", "CreateModelInvocationJob", job_id)
                )
            self._jobs[job_id] = job
            self._tokens[token] = job_id
            log.debug("created job %s (%s)", job.arn, job.name)
            return {"jobArn": job.arn}

    def get_job(self, identifier: str) -> dict[str, Any]:
        """GetModelInvocationJob."""
        with self._lock:
            job = self._job(identifier)
            self._advance(job, self.clock.now())
            return self._describe(job)

    def list_jobs(self, q: dict[str, Any]) -> dict[str, Any]:
        """ListModelInvocationJobs with filters, sorting and nextToken pagination."""
        with self._lock:
            self.tick()
            jobs = list(self._jobs.values())
            if q.get("statusEquals"):
                jobs = [j for j in jobs if j.status == q["statusEquals"]]
            if q.get("nameContains"):
                jobs = [j for j in jobs if q["nameContains"] in j.name]
            if q.get("submitTimeAfter") is not None:
                jobs = [j for j in jobs if j.submit > q["submitTimeAfter"]]
            if q.get("submitTimeBefore") is not None:
                jobs = [j for j in jobs if j.submit < q["submitTimeBefore"]]
            jobs.sort(
                key=lambda j: (j.submit, j.job_id),
                reverse=q.get("sortOrder", "Descending") == "Descending",
            )
            start = 0
            if q.get("nextToken"):
                try:
                    start = int(base64.urlsafe_b64decode(q["nextToken"].encode()).decode())
                except (ValueError, UnicodeDecodeError) as err:
                    raise ServiceException(
                        "ValidationException", "The nextToken is invalid."
                    ) from err
            size = int(q.get("maxResults") or 1000)
            page = jobs[start : start + size]
            out: dict[str, Any] = {"invocationJobSummaries": [self._describe(j) for j in page]}
            if start + size < len(jobs):
                out["nextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
            return out

    def stop_job(self, identifier: str) -> dict[str, Any]:
        """StopModelInvocationJob: Stopping now, Stopped shortly after; processed outputs kept."""
        with self._lock:
            job = self._job(identifier)
            now = self.clock.now()
            self._advance(job, now)
            if job.status in TERMINAL:
                raise ServiceException(
                    "ConflictException",
                    f"The job {job.arn} can't be stopped because it is {job.status}.",
                )
            if job.status != "Stopping":
                self._set(job, "Stopping", now)
            return {}

    def tag(self, arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        """TagResource."""
        with self._lock:
            job = self._job_by_arn(arn)
            merged = {**job.tags, **{t["key"]: t["value"] for t in tags}}
            if len(merged) > 200:
                raise ServiceException(
                    "TooManyTagsException", "The resource would have more than 200 tags."
                )
            job.tags = merged
            return {}

    def untag(self, arn: str, keys: list[str]) -> dict[str, Any]:
        """UntagResource."""
        with self._lock:
            job = self._job_by_arn(arn)
            for key in keys:
                job.tags.pop(key, None)
            return {}

    def list_tags(self, arn: str) -> dict[str, Any]:
        """ListTagsForResource."""
        with self._lock:
            job = self._job_by_arn(arn)
            return {"tags": [{"key": k, "value": v} for k, v in job.tags.items()]}

    def _job_by_arn(self, arn: str) -> _Job:
        if ":model-invocation-job/" not in arn:
            raise ServiceException(
                "ResourceNotFoundException", f"The resource {arn} was not found.", 404
            )
        return self._job(arn)

    def _describe(self, job: _Job) -> dict[str, Any]:
        req = job.request
        out: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "modelId": job.model_id,
            "clientRequestToken": job.token,
            "roleArn": job.role_arn,
            "status": job.status,
            "submitTime": _iso(job.submit),
            "lastModifiedTime": _iso(job.last_modified),
            "inputDataConfig": req["inputDataConfig"],
            "outputDataConfig": req["outputDataConfig"],
            "timeoutDurationInHours": job.timeout_hours,
            "jobExpirationTime": _iso(job.expiration),
            "modelInvocationType": job.invocation_type,
        }
        if job.message:
            out["message"] = job.message[:2048]
        if job.end is not None:
            out["endTime"] = _iso(job.end)
        if "vpcConfig" in req:
            out["vpcConfig"] = req["vpcConfig"]
        if self.record_counters:
            out.update(
                totalRecordCount=job.total,
                processedRecordCount=job.processed,
                successRecordCount=job.success,
                errorRecordCount=job.errors,
            )
        return out

    # -- lifecycle -------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance every job to the current emulated time."""
        with self._lock:
            now = self.clock.now()
            for job in list(self._jobs.values()):
                self._advance(job, now)

    def idle(self) -> bool:
        """True when no job is still running."""
        with self._lock:
            self.tick()
            return all(j.status in TERMINAL for j in self._jobs.values())

    def _set(self, job: _Job, status: str, at: float, message: str | None = None) -> None:
        log.debug("job %s: %s -> %s", job.job_id, job.status, status)
        job.status = status
        job.history.append((status, at))
        job.phase_start = at
        job.last_modified = at
        if message is not None:
            job.message = message
        if status in TERMINAL:
            job.end = at

    def _advance(self, job: _Job, now: float) -> None:
        t = self.timings
        while job.status not in TERMINAL:
            status = job.status
            if status == "Submitted":
                due = job.phase_start + t.submitted
                if now < due:
                    return
                self._set(job, "Validating", due)
            elif status == "Validating":
                due = job.phase_start + t.validating
                if now < due:
                    return
                self._validate(job, due)
            elif status == "Scheduled":
                due = job.phase_start + t.scheduled
                if job.fault and job.fault.kind == "expire":
                    due = math.inf
                deadline = min(due, job.expiration)
                if now < deadline:
                    return
                if job.expiration <= due:
                    self._set(
                        job, "Expired", job.expiration, "The job timed out before it started."
                    )
                    self._cleanup(job)
                else:
                    self._set(job, "InProgress", due)
            elif status == "InProgress":
                self._run(job, now)
                if job.status == "InProgress":
                    return
            elif status == "Stopping":
                due = job.phase_start + t.stopping
                if now < due:
                    return
                self._finish(job, "Stopped", due)

    def _run(self, job: _Job, now: float) -> None:
        rate = self.timings.records_per_second
        limit = job.total
        if job.fault and job.fault.kind in ("timeout", "stall"):
            limit = min(job.total, int(job.total * job.fault.at_fraction))
        done_at = job.phase_start + job.total / rate if limit == job.total else math.inf
        horizon = min(now, job.expiration, done_at)
        due = (
            job.total
            if done_at <= horizon
            else min(limit, int((horizon - job.phase_start) * rate + 1e-9))
        )
        cap = self.max_records_per_tick
        self._process_to(job, due if cap is None else min(due, job.processed + cap))
        if job.processed < due and job.runner is not None:
            return  # still catching up with the clock: stay InProgress, continue next tick
        if job.fault and job.fault.kind == "stall":
            return
        if done_at <= now and done_at <= job.expiration:
            if job.fault and job.fault.kind == "fail_late":
                self._set(job, "Failed", done_at, job.fault.message)
                self._cleanup(job)
            else:
                self._finish(job, "Completed", done_at)
        elif job.expiration <= now:
            self._finish(
                job,
                "PartiallyCompleted",
                job.expiration,
                "Not all records could be processed before the job timed out.",
            )

    # -- data plane ------------------------------------------------------------------------

    def _fail(self, job: _Job, at: float, message: str) -> None:
        self._set(job, "Failed", at, message)
        self._cleanup(job)

    def _cleanup(self, job: _Job) -> None:
        if job.runner is not None:
            job.runner.finish()
            job.runner = None
        if job.tmpdir:
            for name in os.listdir(job.tmpdir):
                os.unlink(os.path.join(job.tmpdir, name))
            os.rmdir(job.tmpdir)
            job.tmpdir = None

    def _list_inputs(self, uri: S3Uri, owner: str | None) -> list[tuple[str, str, int]]:
        """(key, relative output name, size) of every .jsonl at the input location."""
        extra = {"ExpectedBucketOwner": owner} if owner else {}
        if uri.key and not uri.key.endswith("/"):
            try:
                head = self.s3.head_object(Bucket=uri.bucket, Key=uri.key, **extra)
                if uri.key.endswith(".jsonl"):
                    return [(uri.key, uri.key.rsplit("/", 1)[-1], int(head["ContentLength"]))]
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") not in (
                    "404",
                    "NoSuchKey",
                    "NotFound",
                ):
                    raise
        prefix = uri.prefix
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=uri.bucket, Prefix=prefix, **extra
        ):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith(".jsonl"):
                    rel = (
                        key[len(prefix) :]
                        if self.output_paths == "relative"
                        else key.rsplit("/", 1)[-1]
                    )
                    found.append((key, rel, int(obj["Size"])))
        return sorted(found)

    def _validate(self, job: _Job, at: float) -> None:
        """End of Validating: read every input file once, check format and quotas, stage locally."""
        if job.fault and job.fault.kind == "fail_validation":
            self._fail(job, at, job.fault.message)
            return
        req = job.request
        in_cfg = req["inputDataConfig"]["s3InputDataConfig"]
        out_cfg = req["outputDataConfig"]["s3OutputDataConfig"]
        uri = S3Uri.parse(in_cfg["s3Uri"])
        quota = self.quotas_for(job.model)
        try:
            out_uri = S3Uri.parse(out_cfg["s3Uri"])
            extra = (
                {"ExpectedBucketOwner": out_cfg["s3BucketOwner"]}
                if out_cfg.get("s3BucketOwner")
                else {}
            )
            self.s3.head_bucket(Bucket=out_uri.bucket, **extra)
            files = self._list_inputs(uri, in_cfg.get("s3BucketOwner"))
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            self._fail(
                job,
                at,
                f"Unable to access the S3 location for input or output data ({code}). Check that the service role can read the input location and write to the output location.",
            )
            return
        if not files:
            self._fail(
                job, at, f"No .jsonl files were found at the input location {in_cfg['s3Uri']}."
            )
            return
        job.tmpdir = tempfile.mkdtemp(dir=self._tmp.name, prefix=job.job_id)
        staged: list[_Staged] = []
        total_records = 0
        total_bytes = 0
        for n, (key, rel, size) in enumerate(files):
            if size > quota.max_file_bytes:
                self._fail(
                    job,
                    at,
                    f"The input file {key} is {size} bytes, over the quota of {quota.max_file_bytes} bytes per file for {job.model.display_name}.",
                )
                return
            path = os.path.join(job.tmpdir, f"in-{n}")
            try:
                records = self._stage(uri.bucket, key, path, in_cfg.get("s3BucketOwner"))
            except _BadLine as bad:
                self._fail(
                    job,
                    at,
                    f"The input file {key} has an invalid record at line {bad.line}: {bad.reason}",
                )
                return
            except ClientError as err:
                self._fail(
                    job,
                    at,
                    f"Unable to read the input file {key} ({err.response.get('Error', {}).get('Code', '')}).",
                )
                return
            if records > quota.max_records_per_file:
                self._fail(
                    job,
                    at,
                    f"The input file {key} has {records} records, over the quota of {quota.max_records_per_file} records per file for {job.model.display_name}.",
                )
                return
            staged.append(_Staged(key, rel, path, records, size))
            total_records += records
            total_bytes += size
        if total_bytes > quota.max_job_bytes:
            self._fail(
                job,
                at,
                f"The job's input is {total_bytes} bytes, over the quota of {quota.max_job_bytes} bytes per job for {job.model.display_name}.",
            )
            return
        if total_records > quota.max_records_per_job:
            self._fail(
                job,
                at,
                f"The job has {total_records} records, over the quota of {quota.max_records_per_job} records per job for {job.model.display_name}.",
            )
            return
        if total_records < quota.min_records_per_job:
            self._fail(
                job,
                at,
                f"The job has {total_records} records, fewer than the minimum of {quota.min_records_per_job} records per batch inference job for {job.model.display_name}.",
            )
            return
        job.total = total_records
        job.runner = _Runner(
            staged, job.tmpdir, random.Random(f"{self.seed}:{job.job_id}"), self.shuffle_window
        )
        self._set(job, "Scheduled", at)

    def _stage(self, bucket: str, key: str, path: str, owner: str | None) -> int:
        extra = {"ExpectedBucketOwner": owner} if owner else {}
        body = self.s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
        records = 0
        pending = b""
        line_no = 0
        with open(path, "wb") as fh:
            for chunk in body.iter_chunks(1 << 20):
                data = pending + chunk
                lines = data.split(b"\n")
                pending = lines.pop()
                for line in lines:
                    line_no += 1
                    if line.strip():
                        _check_line(line, line_no)
                        records += 1
                fh.write(data[: len(data) - len(pending)])
            if pending.strip():
                line_no += 1
                _check_line(pending, line_no)
                records += 1
                fh.write(pending + b"\n")
        return records

    def _process_to(self, job: _Job, target: int) -> None:
        runner = job.runner
        if runner is None:
            return
        while job.processed < target:
            raw = runner.next_line()
            if raw is None:
                break
            runner.emit(self._answer(job, raw))
            job.processed += 1

    def _answer(self, job: _Job, raw: bytes) -> bytes:
        obj = json.loads(raw)
        record_id = obj.get("recordId")
        if not isinstance(record_id, str) or not record_id:
            record_id = "".join(self._rng.choice(_RID_CHARS) for _ in range(11))
        model_input = obj["modelInput"]
        try:
            output = self._respond(job, record_id, model_input)
        except RecordError as err:
            job.errors += 1
            error: dict[str, Any] = {
                "errorCode": err.code,
                "errorMessage": err.message,
                "expired": err.expired,
                "retryable": err.retryable,
            }
            return dumps_line({"modelInput": model_input, "error": error, "recordId": record_id})
        job.success += 1
        usage = output_usage(output)
        job.input_tokens += usage.input_tokens
        job.output_tokens += usage.output_tokens
        if job.invocation_type == "Converse":
            output = _batch_converse(output)
        return dumps_line({"modelInput": model_input, "modelOutput": output, "recordId": record_id})

    def _respond(self, job: _Job, record_id: str, model_input: Any) -> dict[str, Any]:
        f = self.faults
        if record_id in f.record_error_ids:
            f.log.append(FaultEvent("record_error", job_id=job.job_id, record_id=record_id))
            raise RecordError(400, "Injected record error.")
        if f.record_error_rate or f.retryable_record_error_rate:
            draw = random.Random(f"{self.seed}:{job.job_id}:{record_id}").random()
            if draw < f.record_error_rate:
                f.log.append(FaultEvent("record_error", job_id=job.job_id, record_id=record_id))
                raise RecordError(400, "Injected record error.")
            if draw < f.record_error_rate + f.retryable_record_error_rate:
                f.log.append(
                    FaultEvent("retryable_record_error", job_id=job.job_id, record_id=record_id)
                )
                raise RecordError(
                    429, "Too many tokens, please wait before trying again.", retryable=True
                )
        return self.respond(
            job.model,
            job.model_id,
            job.invocation_type,
            record_id,
            model_input,
            bucket=job.input_bucket,
        )

    def respond(
        self,
        model: ModelInfo,
        model_id: str,
        invocation_type: str,
        record_id: str,
        model_input: Any,
        *,
        bucket: str | None,
    ) -> dict[str, Any]:
        """Check one request body like the model does, then ask the responder for the output."""
        if self.validate_inputs:
            problem = check_model_input(
                model_input, model.family, invocation_type=invocation_type, model=model
            )
            if problem:
                raise RecordError(400, problem)
            for loc in iter_s3_locations(model_input):
                self._check_s3_location(loc, bucket)
        ctx = RecordContext(record_id, model_id, model, invocation_type, model_input)
        output = self.responder(ctx)
        if not isinstance(output, dict):
            raise TypeError(
                f"responder returned {type(output).__name__}, expected a dict modelOutput"
            )
        return output

    def _check_s3_location(self, loc: str, bucket: str | None) -> None:
        try:
            ref = S3Uri.parse(loc)
        except ValueError as err:
            raise RecordError(400, f"The S3 location {loc} is not valid.") from err
        if bucket is not None and ref.bucket != bucket:
            raise RecordError(
                400, f"The S3 location {loc} must be in the job's input bucket {bucket}."
            )
        try:
            self.s3.head_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as err:
            raise RecordError(
                400, f"The S3 object {loc} does not exist or cannot be read."
            ) from err

    def _finish(self, job: _Job, status: str, at: float, message: str | None = None) -> None:
        """Write the .out files and the manifest, then end the job."""
        runner = job.runner
        if runner is not None:
            cfg = job.request["outputDataConfig"]["s3OutputDataConfig"]
            out = S3Uri.parse(cfg["s3Uri"]).join(job.job_id)
            extra: dict[str, Any] = {}
            if cfg.get("s3EncryptionKeyId"):
                extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=cfg["s3EncryptionKeyId"])
            if cfg.get("s3BucketOwner"):
                extra["ExpectedBucketOwner"] = cfg["s3BucketOwner"]
            for staged, path in runner.finish():
                key = out.join(staged.rel + ".out").key
                if path is None:
                    continue
                with open(path, "rb") as fh:
                    self.s3.put_object(Bucket=out.bucket, Key=key, Body=fh, **extra)
            manifest = {
                "totalRecordCount": job.total,
                "processedRecordCount": job.processed,
                "successRecordCount": job.success,
                "errorRecordCount": job.errors,
                "inputTokenCount": job.input_tokens,
                "outputTokenCount": job.output_tokens,
            }
            self.s3.put_object(
                Bucket=out.bucket,
                Key=out.join("manifest.json.out").key,
                Body=json.dumps(manifest).encode(),
                **extra,
            )
        self._set(job, status, at, message)
        self._cleanup(job)

    def history(self, identifier: str) -> list[tuple[str, float]]:
        """Every status a job has been in, with the emulated time it was entered."""
        with self._lock:
            job = self._job(identifier)
            self._advance(job, self.clock.now())
            return [("Submitted", job.submit), *job.history]

    @staticmethod
    def catalog() -> dict[str, ModelInfo]:
        """Every supported model."""
        return dict(CATALOG)


class _BadLine(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _check_line(line: bytes, line_no: int) -> None:
    try:
        obj = json.loads(line)
    except ValueError as err:
        raise _BadLine(line_no, "the line is not valid JSON") from err
    if not isinstance(obj, dict):
        raise _BadLine(line_no, "the line is not a JSON object")
    if not isinstance(obj.get("modelInput"), dict):
        raise _BadLine(line_no, "the record has no modelInput object")
    rid = obj.get("recordId")
    if rid is not None and not isinstance(rid, str):
        raise _BadLine(line_no, "recordId must be a string")


def _batch_converse(output: dict[str, Any]) -> dict[str, Any]:
    """A runtime Converse response as batch output writes it: every union member, nulls included."""
    message = (output.get("output") or {}).get("message") or {}
    blocks = []
    for block in message.get("content") or []:
        full: dict[str, Any] = dict.fromkeys(_CONVERSE_BLOCK_KEYS)
        full.update(block)
        blocks.append(full)
    usage = output.get("usage") or {}
    return {
        "output": {"message": {"content": blocks}},
        "stopReason": output.get("stopReason", "end_turn"),
        "usage": {
            "serverToolUsage": {"webSearchRequests": None},
            "cacheReadInputTokens": None,
            "cacheWriteInputTokens": None,
            "cacheReadInputTokenCount": None,
            "cacheWriteInputTokenCount": None,
            "cacheDetails": None,
            "inputTokens": usage.get("inputTokens", 0),
            "outputTokens": usage.get("outputTokens", 0),
            "totalTokens": usage.get("totalTokens", 0),
        },
    }

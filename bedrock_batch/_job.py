"""``BatchJob``: build → shard → upload → submit → wait → read and join."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import attrs
import boto3
import tenacity as _t
from boto3.s3.transfer import S3Transfer, TransferConfig
from botocore.exceptions import ClientError

from . import _lifecycle
from ._catalog import Family, ModelInfo, estimate_tokens, family_of, lookup_model
from ._clients import Clients
from ._errors import (
    JobExpiredError,
    JobFailedError,
    JobStoppedError,
    Problem,
    QuotaError,
    ServiceError,
    StateError,
    ValidationError,
    translate_client_error,
)
from ._jsonl import iter_lines, loads_line
from ._lifecycle import JobDescription
from ._polling import PollConfig, backoff, wait_until_terminal
from ._progress import ProgressDisplay
from ._quotas import Quotas, read_service_quotas
from ._records import (
    DEFAULT_RECORD_ID_PATTERN,
    Image,
    build_embedding,
    build_prompt,
    default_id_factory,
    id_checker,
)
from ._results import Results, Summary, reconcile
from ._s3uri import S3Uri
from ._schemas import check_model_input, input_text, iter_s3_locations
from ._shapes import constraint_violations
from ._store import RecordStore, Shard, plan_shards

__all__ = ["BatchJob", "Plan"]

log = logging.getLogger("bedrock_batch")

STATE_FORMAT = "bedrock-batch/1"
STATE_NAME = "bedrock-batch.json"
INDEX_NAME = "index.jsonl"
_TRANSIENT = frozenset(
    {"ThrottlingException", "InternalServerException", "ServiceUnavailableException"}
)


@attrs.frozen
class Plan:
    """What ``submit()`` would do, computed without side effects."""

    model_id: str
    family: Family | None
    invocation_type: str
    records: int
    bytes: int
    shards: tuple[Shard, ...]
    quotas: Quotas
    quota_source: str
    estimated_input_tokens: int
    content_id: str
    job_name: str
    job_input_uri: str
    state_uri: str
    client_request_token: str

    def __str__(self) -> str:
        return (
            f"{self.records} records, {self.bytes} bytes in {len(self.shards)} file(s) → "
            f"{self.job_input_uri}\nmodel {self.model_id} ({self.family or 'unknown family'}, "
            f"{self.invocation_type}); ~{self.estimated_input_tokens} input tokens; "
            f"quotas from {self.quota_source}: min {self.quotas.min_records_per_job}, "
            f"max {self.quotas.max_records_per_job} records/job"
        )


def _bedrock_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("bedrock")


class BatchJob:
    """One Bedrock batch inference job, from records to joined results.

    ``__init__`` only stores what it is given: no network, no files. Records are checked as
    they are added; :meth:`plan` and :meth:`submit` check the job parameters and the model's
    quotas before anything is uploaded or created.

    Args:
        model_id: a foundation-model id, inference-profile id (``us.``, ``eu.``, ...) or ARN.
        role_arn: the service role Bedrock assumes to read inputs and write outputs.
        input_uri: an S3 prefix; each job's inputs go under ``{input_uri}{content id}/``.
        output_uri: the S3 prefix Bedrock writes ``{jobId}/...`` under.
        session / bedrock_client / s3_client / runtime_client / quotas_client: where clients
            come from; given clients are used as they are.
        invocation_type: ``"InvokeModel"`` (the family's native body) or ``"Converse"``.
        quotas: override the model's quotas; otherwise Service Quotas (when readable,
            ``use_service_quotas``), else the documented defaults.
        max_records_per_file / max_bytes_per_file: cut shards smaller than the quotas.
        kms_key_id: SSE-KMS key for the outputs (``s3EncryptionKeyId``).
        bucket_owner: expected owner account of both buckets (``s3BucketOwner`` and
            ``ExpectedBucketOwner`` on our own S3 calls).
        upload_extra_args: extra S3 upload arguments (checked against boto3's allow-list).
        poll: how :meth:`wait` polls. ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        model_id: str,
        role_arn: str,
        input_uri: str,
        output_uri: str,
        *,
        session: boto3.Session | None = None,
        bedrock_client: Any = None,
        s3_client: Any = None,
        runtime_client: Any = None,
        quotas_client: Any = None,
        job_name: str | None = None,
        invocation_type: str = "InvokeModel",
        timeout_hours: int | None = None,
        tags: Mapping[str, str] | None = None,
        vpc_config: Mapping[str, Sequence[str]] | None = None,
        kms_key_id: str | None = None,
        bucket_owner: str | None = None,
        quotas: Quotas | None = None,
        use_service_quotas: bool = True,
        max_records_per_file: int | None = None,
        max_bytes_per_file: int | None = None,
        upload_extra_args: Mapping[str, Any] | None = None,
        transfer_config: TransferConfig | None = None,
        id_factory: Callable[[int], str] = default_id_factory,
        record_id_pattern: str = DEFAULT_RECORD_ID_PATTERN,
        poll: PollConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model_id = model_id
        self.role_arn = role_arn
        self.input_uri = input_uri
        self.output_uri = output_uri
        self.job_name = job_name
        self.invocation_type = invocation_type
        self.timeout_hours = timeout_hours
        self.tags = dict(tags or {})
        self.vpc_config = {k: list(v) for k, v in vpc_config.items()} if vpc_config else None
        self.kms_key_id = kms_key_id
        self.bucket_owner = bucket_owner
        self.quotas = quotas
        self.use_service_quotas = use_service_quotas
        self.max_records_per_file = max_records_per_file
        self.max_bytes_per_file = max_bytes_per_file
        self.upload_extra_args = dict(upload_extra_args or {})
        self.transfer_config = transfer_config
        self.poll = poll or PollConfig()
        self.sleep = sleep
        self._clients = Clients(
            session=session,
            bedrock=bedrock_client,
            s3=s3_client,
            runtime=runtime_client,
            quotas=quotas_client,
        )
        self.model: ModelInfo | None = lookup_model(model_id)[0]
        self.family: Family | None = family_of(model_id)
        self._id_factory = id_factory
        self._check_id = id_checker(record_id_pattern)
        self._store = RecordStore()
        self._tokens = 0
        self._job_arn: str | None = None
        self._state: dict[str, Any] | None = None
        self._index_cache: dict[str, Any] | None = None
        self._resolved_quotas: tuple[Quotas, str] | None = None
        self._state_checked = False

    # -- adding records --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._store)

    @property
    def job_arn(self) -> str | None:
        """The job's ARN once submitted (or attached)."""
        return self._job_arn

    def _ensure_open(self) -> None:
        if self._job_arn is not None or self._state is not None:
            raise StateError("this job was already submitted; records can no longer be added")

    def _new_id(self) -> str:
        n = len(self._store)
        while True:
            candidate = self._id_factory(n)
            if candidate not in self._store:
                return candidate
            n += 1

    def _record_problem(
        self, model_input: Any, record_id: str, line: int, source: str | None
    ) -> Problem | None:
        message = check_model_input(
            model_input, self.family, invocation_type=self.invocation_type, model=self.model
        )
        if message:
            return Problem(
                message, record_id=record_id, line=line, field="modelInput", source=source
            )
        if self.family != "nova" and self.invocation_type != "Converse":
            return None  # only Nova and Converse bodies reference S3 objects
        try:
            bucket = S3Uri.parse(self.input_uri).bucket
        except ValueError:
            bucket = None
        for loc in iter_s3_locations(model_input):
            if bucket is not None and not loc.startswith(f"s3://{bucket}/"):
                return Problem(
                    f"s3Location {loc} must be in the job's input bucket {bucket}",
                    record_id=record_id,
                    line=line,
                    field="modelInput",
                    source=source,
                )
        return None

    def _check_key(self, key: Any, record_id: str, line: int) -> None:
        try:
            json.dumps(key)
        except (TypeError, ValueError) as err:
            raise ValidationError(
                "the key must be JSON-serialisable (it is persisted for attach())",
                [Problem(str(err), record_id=record_id, line=line, field="key")],
            ) from err

    def add(
        self, model_input: Mapping[str, Any], *, record_id: str | None = None, key: Any = None
    ) -> str:
        """Add one record with a complete ``modelInput`` body; returns its record id.

        Raises :class:`ValidationError` for an invalid or duplicate id, a key that cannot be
        persisted, or a body the model would refuse.
        """
        self._ensure_open()
        line = len(self._store) + 1
        if record_id is None:
            record_id = self._new_id()
        else:
            why = self._check_id(record_id)
            if why:
                raise ValidationError(
                    "invalid record id",
                    [Problem(why, record_id=str(record_id), line=line, field="recordId")],
                )
            if record_id in self._store:
                raise ValidationError(
                    f"duplicate record id {record_id!r}",
                    [
                        Problem(
                            "this recordId was already added",
                            record_id=record_id,
                            line=line,
                            field="recordId",
                        )
                    ],
                )
        body = dict(model_input) if isinstance(model_input, Mapping) else model_input
        bad = self._record_problem(body, record_id, line, None)
        if bad:
            raise ValidationError(f"record {record_id!r} would be refused by the model", [bad])
        if key is not None:
            self._check_key(key, record_id, line)
        self._store.append(record_id, body, key)
        self._tokens += estimate_tokens(input_text(body))
        return record_id

    def add_prompt(
        self,
        prompt: str,
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop_sequences: Sequence[str] | None = None,
        images: Sequence[Image] = (),
        record_id: str | None = None,
        key: Any = None,
        **extra: Any,
    ) -> str:
        """Add a text-generation record, built in the model family's format (or Converse's)."""
        body = build_prompt(
            self.family,
            prompt,
            invocation_type=self.invocation_type,
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop_sequences=stop_sequences,
            images=images,
            extra=extra or None,
        )
        return self.add(body, record_id=record_id, key=key)

    def add_embedding(
        self,
        text: str | None = None,
        *,
        image: Image | None = None,
        dimensions: int | None = None,
        normalize: bool | None = None,
        record_id: str | None = None,
        key: Any = None,
    ) -> str:
        """Add an embeddings record (Titan Text Embeddings V2, Titan Multimodal Embeddings G1)."""
        body = build_embedding(
            self.family, text, image=image, dimensions=dimensions, normalize=normalize
        )
        return self.add(body, record_id=record_id, key=key)

    def add_jsonl(self, source: str | Path | IO[bytes], *, key_field: str | None = None) -> int:
        """Add every ``{"recordId", "modelInput"}`` line of a JSONL file; returns the count.

        All-or-nothing: every bad line (unparseable, no ``modelInput``, invalid or duplicate id,
        a body the model refuses) is listed in one :class:`ValidationError` and nothing from the
        file is added. ``key_field`` names a top-level field kept as each record's key.
        """
        self._ensure_open()
        name = (
            str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "<stream>")
        )
        problems: list[Problem] = []
        ids: set[str] = set()
        count = 0
        for line_no, obj in self._iter_jsonl(source):
            if isinstance(obj, Problem):
                problems.append(attrs.evolve(obj, source=name, line=line_no))
                continue
            rid = obj.get("recordId")
            if rid is not None:
                why = self._check_id(rid)
                if why:
                    problems.append(
                        Problem(
                            why, record_id=str(rid), line=line_no, field="recordId", source=name
                        )
                    )
                    continue
                if rid in ids or rid in self._store:
                    problems.append(
                        Problem(
                            "duplicate recordId",
                            record_id=rid,
                            line=line_no,
                            field="recordId",
                            source=name,
                        )
                    )
                    continue
                ids.add(rid)
            bad = self._record_problem(obj["modelInput"], str(rid), line_no, name)
            if bad:
                problems.append(bad)
            count += 1
        if problems:
            raise ValidationError(
                f"{len(problems)} invalid line(s) in {name}; nothing was added", problems
            )
        if count == 0:
            raise ValidationError(f"{name} holds no records")
        for line_no, obj in self._iter_jsonl(source):
            assert isinstance(obj, dict)
            key = obj.get(key_field) if key_field else None
            rid = obj.get("recordId") or self._new_id()
            if key is not None:
                self._check_key(key, rid, line_no)
            self._store.append(rid, obj["modelInput"], key)
            self._tokens += estimate_tokens(input_text(obj["modelInput"]))
        return count

    def _iter_jsonl(
        self, source: str | Path | IO[bytes]
    ) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
        if isinstance(source, (str, Path)):
            fh: IO[bytes] = open(source, "rb")  # noqa: SIM115
            close = True
        else:
            fh, close = source, False
            fh.seek(0)
        try:
            for line_no, raw in iter_lines(iter(lambda: fh.read(1 << 20), b"")):
                try:
                    obj = loads_line(raw)
                except ValueError as err:
                    yield line_no, Problem(f"not valid JSON ({err.__class__.__name__})")
                    continue
                if not isinstance(obj, dict):
                    yield line_no, Problem("the line is not a JSON object")
                elif not isinstance(obj.get("modelInput"), dict):
                    yield line_no, Problem("the line has no modelInput object", field="modelInput")
                else:
                    yield line_no, obj
        finally:
            if close:
                fh.close()

    def add_records(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Add ``{"modelInput", "recordId"?, "key"?}`` mappings; returns how many were added."""
        n = 0
        for rec in records:
            self.add(rec["modelInput"], record_id=rec.get("recordId"), key=rec.get("key"))
            n += 1
        return n

    # -- planning --------------------------------------------------------------------------

    def _request(self, job_name: str, job_input_uri: str, token: str) -> dict[str, Any]:
        inp: dict[str, Any] = {"s3Uri": job_input_uri, "s3InputFormat": "JSONL"}
        out: dict[str, Any] = {"s3Uri": self.output_uri}
        if self.bucket_owner:
            inp["s3BucketOwner"] = self.bucket_owner
            out["s3BucketOwner"] = self.bucket_owner
        if self.kms_key_id:
            out["s3EncryptionKeyId"] = self.kms_key_id
        req: dict[str, Any] = {
            "jobName": job_name,
            "roleArn": self.role_arn,
            "clientRequestToken": token,
            "modelId": self.model_id,
            "inputDataConfig": {"s3InputDataConfig": inp},
            "outputDataConfig": {"s3OutputDataConfig": out},
        }
        if self.invocation_type != "InvokeModel":
            req["modelInvocationType"] = self.invocation_type
        if self.timeout_hours is not None:
            req["timeoutDurationInHours"] = self.timeout_hours
        if self.tags:
            req["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        if self.vpc_config:
            req["vpcConfig"] = self.vpc_config
        return req

    def _resolve_quotas(self) -> tuple[Quotas, str]:
        if self.quotas is not None:
            return self.quotas, "override"
        if self._resolved_quotas is None:
            result: tuple[Quotas, str] = (Quotas(), "defaults")
            if self.use_service_quotas and self.model is not None:
                try:
                    with translate_client_error("ListServiceQuotas"):
                        q, found = read_service_quotas(
                            self.model, self._clients.quotas.list_service_quotas, Quotas()
                        )
                    if found:
                        result = (q, "service-quotas")
                except (ServiceError, ClientError, OSError) as err:
                    log.debug("Service Quotas unreadable, using defaults: %s", err)
                except Exception as err:
                    log.debug("Service Quotas unavailable, using defaults: %s", err)
            self._resolved_quotas = result
        return self._resolved_quotas

    def plan(self) -> Plan:
        """Check everything that can be checked locally and say what ``submit()`` would do.

        No S3 writes and no job creation (Service Quotas may be read). Raises
        :class:`ValidationError` (or :class:`QuotaError`) listing every problem.
        """
        problems: list[Problem] = []
        if self.invocation_type not in ("InvokeModel", "Converse"):
            problems.append(Problem("must be 'InvokeModel' or 'Converse'", field="invocation_type"))
        if (
            self.model is not None
            and self.model.is_embedding
            and self.invocation_type == "Converse"
        ):
            problems.append(
                Problem(
                    "embedding models cannot use the Converse invocation type",
                    field="invocation_type",
                )
            )
        if (
            self.model is not None
            and self.model.requires_profile
            and self.model_id == self.model.model_id
        ):
            problems.append(
                Problem(
                    f"{self.model_id} is only reachable through an inference profile: use e.g. 'us.{self.model_id}'",
                    field="model_id",
                )
            )
        if self.family is None and self.invocation_type == "InvokeModel":
            log.info(
                "unknown model family for %s: record bodies are passed through unchecked",
                self.model_id,
            )
        root: S3Uri | None = None
        for name, value in (("input_uri", self.input_uri), ("output_uri", self.output_uri)):
            try:
                uri = S3Uri.parse(value)
                if name == "input_uri":
                    root = uri
            except ValueError as err:
                problems.append(Problem(str(err), field=name))
        unknown = set(self.upload_extra_args) - set(S3Transfer.ALLOWED_UPLOAD_ARGS)
        if unknown:
            problems.append(
                Problem(
                    f"not allowed S3 upload arguments: {sorted(unknown)}", field="upload_extra_args"
                )
            )
        for name, limit in (
            ("max_records_per_file", self.max_records_per_file),
            ("max_bytes_per_file", self.max_bytes_per_file),
        ):
            if limit is not None and limit < 1:
                problems.append(Problem("must be positive", field=name))
        content_id = self._content_id()
        job_name = (
            self.job_name if self.job_name is not None else f"bedrock-batch-{content_id[:16]}"
        )
        token = f"bb{content_id}"
        job_input = root.join(content_id, "input").prefix if root else ""
        request = self._request(
            job_name,
            f"s3://{root.bucket}/{job_input}" if root else "s3://placeholder-bucket/x/",
            token,
        )
        if root is None:
            request["inputDataConfig"]["s3InputDataConfig"].pop("s3Uri")
        message = constraint_violations(
            _bedrock_model().operation_model("CreateModelInvocationJob"), request
        )
        if message:
            for part in message.split(": ", 1)[1].split("; "):
                field = part.split("at '", 1)[1].split("'", 1)[0] if "at '" in part else None
                if field == "inputDataConfig.s3InputDataConfig.s3Uri" and root is None:
                    continue
                problems.append(Problem(part, field=field))
        if problems:
            raise ValidationError("invalid job parameters", problems)
        if len(self._store) == 0:
            raise ValidationError("the job has no records: add some first")
        quotas, source = self._resolve_quotas()
        max_records = min(
            quotas.max_records_per_file, self.max_records_per_file or quotas.max_records_per_file
        )
        max_bytes = min(quotas.max_file_bytes, self.max_bytes_per_file or quotas.max_file_bytes)
        oversize = [
            Problem(
                f"record is {n} bytes, over the {max_bytes}-byte file limit",
                record_id=rid,
                line=i + 1,
            )
            for i, (n, (rid, _)) in enumerate(
                zip(self._store.sizes, self._store.iter_index(), strict=True)
            )
            if n > max_bytes
        ]
        if oversize:
            raise QuotaError(
                "record(s) too large for one input file",
                oversize,
                quota="max_file_bytes",
                limit=max_bytes,
            )
        n = len(self._store)
        label = self.model.display_name if self.model else self.model_id
        if n < quotas.min_records_per_job:
            raise QuotaError(
                f"{n} records is below the minimum of {quotas.min_records_per_job} records per batch job for {label} "
                f"(quotas from {source})",
                quota="min_records_per_job",
                limit=quotas.min_records_per_job,
            )
        if n > quotas.max_records_per_job:
            raise QuotaError(
                f"{n} records is above the maximum of {quotas.max_records_per_job} records per batch job for {label}",
                quota="max_records_per_job",
                limit=quotas.max_records_per_job,
            )
        if self._store.total_bytes > quotas.max_job_bytes:
            raise QuotaError(
                f"{self._store.total_bytes} bytes is above the {quotas.max_job_bytes}-byte job size quota for {label}",
                quota="max_job_bytes",
                limit=quotas.max_job_bytes,
            )
        assert root is not None
        shards = plan_shards(self._store.sizes, max_records, max_bytes)
        return Plan(
            model_id=self.model_id,
            family=self.family,
            invocation_type=self.invocation_type,
            records=n,
            bytes=self._store.total_bytes,
            shards=tuple(shards),
            quotas=quotas,
            quota_source=source,
            estimated_input_tokens=self._tokens,
            content_id=content_id,
            job_name=job_name,
            job_input_uri=f"s3://{root.bucket}/{job_input}",
            state_uri=str(root.join(content_id, STATE_NAME)),
            client_request_token=token,
        )

    def _content_id(self) -> str:
        params = {
            "model": self.model_id,
            "type": self.invocation_type,
            "role": self.role_arn,
            "out": self.output_uri,
            "name": self.job_name,
            "timeout": self.timeout_hours,
            "tags": self.tags,
            "vpc": self.vpc_config,
            "kms": self.kms_key_id,
            "owner": self.bucket_owner,
            "rpf": self.max_records_per_file,
            "bpf": self.max_bytes_per_file,
        }
        h = hashlib.sha256(self._store.content_digest().encode())
        h.update(json.dumps(params, sort_keys=True).encode())
        return h.hexdigest()[:24]

    # -- submitting ------------------------------------------------------------------------

    @property
    def _s3_extra(self) -> dict[str, str]:
        return {"ExpectedBucketOwner": self.bucket_owner} if self.bucket_owner else {}

    def _read_json(self, uri: S3Uri) -> dict[str, Any] | None:
        try:
            with translate_client_error("GetObject"):
                body = self._clients.s3.get_object(
                    Bucket=uri.bucket, Key=uri.key, **self._s3_extra
                )["Body"].read()
        except ServiceError as err:
            if err.code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        data = json.loads(body)
        return data if isinstance(data, dict) else None

    def _write_json(self, uri: S3Uri, data: dict[str, Any]) -> None:
        with translate_client_error("PutObject"):
            self._clients.s3.put_object(
                Bucket=uri.bucket,
                Key=uri.key,
                Body=json.dumps(data, indent=1).encode(),
                ContentType="application/json",
                **self._s3_extra,
            )

    def _upload(self, fh: IO[bytes], uri: S3Uri, sha: str) -> None:
        extra = {**self.upload_extra_args, **self._s3_extra, "Metadata": {"sha256": sha}}
        with translate_client_error("PutObject"):
            self._clients.s3.upload_fileobj(
                fh, uri.bucket, uri.key, ExtraArgs=extra, Config=self.transfer_config
            )

    def _already_there(self, uri: S3Uri, sha: str, size: int) -> bool:
        try:
            head = self._clients.s3.head_object(Bucket=uri.bucket, Key=uri.key, **self._s3_extra)
        except ClientError:
            return False
        return bool(
            head.get("Metadata", {}).get("sha256") == sha and head.get("ContentLength") == size
        )

    def _upload_shards(self, plan: Plan) -> list[dict[str, Any]]:
        root = S3Uri.parse(plan.job_input_uri)
        lines = self._store.iter_lines()
        out = []
        for shard in plan.shards:
            with tempfile.SpooledTemporaryFile(max_size=8 << 20) as fh:
                h = hashlib.sha256()
                for _ in range(shard.records):
                    line = next(lines)
                    h.update(line)
                    fh.write(line)
                sha = h.hexdigest()
                uri = root.join(shard.name)
                if self._already_there(uri, sha, shard.size):
                    log.debug("%s already uploaded", uri)
                else:
                    fh.seek(0)
                    self._upload(fh, uri, sha)
                    log.debug("uploaded %s (%d records, %d bytes)", uri, shard.records, shard.size)
            out.append(
                {"name": shard.name, "records": shard.records, "size": shard.size, "sha256": sha}
            )
        return out

    def _upload_index(self, plan: Plan) -> None:
        uri = S3Uri.parse(plan.state_uri.rsplit("/", 1)[0] + "/" + INDEX_NAME)
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as fh:
            h = hashlib.sha256()
            for rid, key in self._store.iter_index():
                line = (
                    json.dumps(
                        {"recordId": rid, "key": key} if key is not None else {"recordId": rid},
                        ensure_ascii=False,
                    ).encode()
                    + b"\n"
                )
                h.update(line)
                fh.write(line)
            size = fh.tell()
            sha = h.hexdigest()
            if not self._already_there(uri, sha, size):
                fh.seek(0)
                self._upload(fh, uri, sha)

    def _create(self, request: dict[str, Any]) -> str:
        retrying = _t.Retrying(
            retry=_t.retry_if_exception(
                lambda e: isinstance(e, ServiceError) and e.code in _TRANSIENT
            ),
            wait=backoff(1.0, 30.0, 1.0),
            stop=_t.stop_after_attempt(6),
            sleep=self.sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt, translate_client_error("CreateModelInvocationJob"):
                arn: str = self._clients.bedrock.create_model_invocation_job(**request)["jobArn"]
                return arn
        raise AssertionError("unreachable")  # pragma: no cover

    def submit(self) -> JobDescription:
        """Validate, shard, upload and create the job. Safe to call again: same content, same job.

        The clientRequestToken is derived from the records and parameters, and the job handle
        is persisted beside the inputs, so a repeated or retried submit never creates a second
        paid job and re-uploads nothing that is already there.
        """
        if self._job_arn is not None:
            return self.describe()
        plan = self.plan()
        state_uri = S3Uri.parse(plan.state_uri)
        state = self._read_json(state_uri)
        if state and state.get("job_arn") and state.get("content_id") == plan.content_id:
            log.info("already submitted as %s", state["job_arn"])
            self._state = state
            self._job_arn = state["job_arn"]
            return self.describe()
        shards = self._upload_shards(plan)
        self._upload_index(plan)
        request = self._request(plan.job_name, plan.job_input_uri, plan.client_request_token)
        state = {
            "format": STATE_FORMAT,
            "content_id": plan.content_id,
            "model_id": self.model_id,
            "invocation_type": self.invocation_type,
            "role_arn": self.role_arn,
            "input_uri": self.input_uri,
            "output_uri": self.output_uri,
            "job_name": plan.job_name,
            "client_request_token": plan.client_request_token,
            "bucket_owner": self.bucket_owner,
            "records": plan.records,
            "bytes": plan.bytes,
            "shards": shards,
            "index": INDEX_NAME,
            "job_arn": None,
        }
        self._write_json(state_uri, state)
        arn = self._create(request)
        state["job_arn"] = arn
        self._write_json(state_uri, state)
        self._state = state
        self._job_arn = arn
        log.info("submitted %s: %d records in %d file(s)", arn, plan.records, len(shards))
        return self.describe()

    # -- after submission ------------------------------------------------------------------

    def _require_arn(self) -> str:
        if self._job_arn is None:
            raise StateError("the job has not been submitted yet")
        return self._job_arn

    def describe(self) -> JobDescription:
        """The job's current description (one GetModelInvocationJob call)."""
        return _lifecycle.describe(self._clients.bedrock, self._require_arn())

    def stop(self) -> None:
        """Ask Bedrock to stop the job; records already processed keep their outputs."""
        _lifecycle.stop(self._clients.bedrock, self._require_arn())

    def wait(
        self,
        *,
        progress: bool = False,
        timeout: float | None = None,
        callback: Callable[[JobDescription], None] | None = None,
        raise_on_failure: bool = True,
    ) -> JobDescription:
        """Poll until the job ends; returns its final description.

        Raises :class:`JobFailedError` / :class:`JobExpiredError` / :class:`JobStoppedError`
        (unless ``raise_on_failure=False``) and :class:`PollTimeoutError`. PartiallyCompleted
        returns: its unprocessed records come back as missing. ``progress=True`` shows a bar
        (tqdm when installed) on stderr; ``callback`` gets every description. Ctrl-C stops
        waiting, not the job.
        """
        arn = self._require_arn()
        config = self.poll if timeout is None else attrs.evolve(self.poll, timeout=timeout)
        display = ProgressDisplay() if progress else None

        def on_update(desc: JobDescription) -> None:
            if display is not None:
                display.update(desc)
            if callback is not None:
                callback(desc)

        try:
            final = wait_until_terminal(
                self.describe, config, sleep=self.sleep, on_update=on_update
            )
        except KeyboardInterrupt:
            hint = f"stopped waiting; the job keeps running. Resume with BatchJob.attach({arn!r})"
            log.warning(hint)
            if display is not None:
                display.close()
                display = None
                sys.stderr.write(hint + "\n")
            raise
        finally:
            if display is not None:
                display.close()
        if raise_on_failure:
            error = {
                "Failed": JobFailedError,
                "Expired": JobExpiredError,
                "Stopped": JobStoppedError,
            }.get(final.status)
            if error is not None:
                raise error(final.job_arn, final.status, final.message)
        return final

    def _load_state(self) -> dict[str, Any] | None:
        if self._state is None and self._job_arn is not None and not self._state_checked:
            self._state_checked = True
            desc = self.describe()
            parent = desc.input_uri.rstrip("/").rsplit("/", 1)[0]
            try:
                self._state = self._read_json(S3Uri.parse(parent + "/" + STATE_NAME))
            except ValueError:
                self._state = None
        return self._state

    def _index(self) -> dict[str, Any]:
        if len(self._store):
            return dict(self._store.iter_index())
        if self._index_cache is None:
            state = self._load_state()
            index: dict[str, Any] = {}
            if state is not None:
                root = S3Uri.parse(self.input_uri).join(
                    state["content_id"], state.get("index", INDEX_NAME)
                )
                body = self._clients.s3.get_object(
                    Bucket=root.bucket, Key=root.key, **self._s3_extra
                )["Body"]
                for _, raw in iter_lines(body.iter_chunks(1 << 20)):
                    entry = loads_line(raw)
                    index[entry["recordId"]] = entry.get("key")
            else:  # a job we did not create: its inputs are the index
                for rid, _ in self._iter_inputs(None):
                    index[rid] = None
            self._index_cache = index
        return self._index_cache

    def _input_files(self) -> list[S3Uri]:
        state = self._load_state()
        if state is not None:
            root = S3Uri.parse(self.input_uri).join(state["content_id"], "input")
            return [root.join(s["name"]) for s in state["shards"]]
        uri = S3Uri.parse(self.describe().input_uri)
        if uri.key.endswith(".jsonl"):
            return [uri]
        files = []
        for page in self._clients.s3.get_paginator("list_objects_v2").paginate(
            Bucket=uri.bucket, Prefix=uri.prefix, **self._s3_extra
        ):
            files += [
                S3Uri(uri.bucket, o["Key"])
                for o in page.get("Contents", [])
                if o["Key"].endswith(".jsonl")
            ]
        return files

    def _iter_inputs(self, wanted: set[str] | None) -> Iterator[tuple[str, Any]]:
        for uri in self._input_files():
            body = self._clients.s3.get_object(Bucket=uri.bucket, Key=uri.key, **self._s3_extra)[
                "Body"
            ]
            for _, raw in iter_lines(body.iter_chunks(1 << 20)):
                obj = loads_line(raw)
                rid = obj.get("recordId")
                if isinstance(rid, str) and (wanted is None or rid in wanted):
                    yield rid, obj.get("modelInput")

    def _expected_outputs(self) -> list[str]:
        state = self._load_state()
        return [s["name"] + ".out" for s in state["shards"]] if state else []

    def results(self) -> Results:
        """Every input record exactly once, joined by recordId (an iterable; streams from S3)."""
        arn = self._require_arn()
        return Results(
            s3=self._clients.s3,
            job_arn=arn,
            output_uri=self.output_uri,
            index=self._index(),
            read_inputs=self._iter_inputs,
            expected_files=self._expected_outputs(),
            bucket_owner=self.bucket_owner,
        )

    def summary(self) -> Summary:
        """Counts by status and tokens, reconciled with manifest.json.out and the job counters."""
        desc = self.describe()
        results = self.results()
        for _ in results:
            pass
        manifest = results.read_manifest() if desc.status not in ("Expired",) else None
        counters = {
            "totalRecordCount": desc.total_records,
            "processedRecordCount": desc.processed_records,
            "successRecordCount": desc.succeeded_records,
            "errorRecordCount": desc.errored_records,
        }
        return reconcile(results, desc.status, counters, manifest, len(self._index()))

    def run(self, *, progress: bool = False, timeout: float | None = None) -> Results:
        """submit(), wait() and return results() — the whole job in one call."""
        self.submit()
        self.wait(progress=progress, timeout=timeout)
        return self.results()

    @classmethod
    def attach(
        cls,
        job_arn: str,
        *,
        session: boto3.Session | None = None,
        bedrock_client: Any = None,
        s3_client: Any = None,
        runtime_client: Any = None,
        quotas_client: Any = None,
        poll: PollConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> BatchJob:
        """Pick up a submitted job from its ARN, in this or any other process or machine.

        The job's parameters and input index are read back from the state ``submit()`` wrote
        beside the inputs; a job not created by ``bedrock_batch`` is indexed from its inputs.
        """
        clients = Clients(
            session=session,
            bedrock=bedrock_client,
            s3=s3_client,
            runtime=runtime_client,
            quotas=quotas_client,
        )
        desc = _lifecycle.describe(clients.bedrock, job_arn)
        owner = None
        parent = (
            desc.input_uri.rstrip("/").rsplit("/", 1)[0]
            if desc.input_uri.rstrip("/").count("/") > 2
            else desc.input_uri
        )
        job = cls(
            desc.model_id,
            desc.role_arn,
            parent,
            desc.output_uri,
            session=session,
            bedrock_client=clients.bedrock,
            s3_client=s3_client,
            runtime_client=runtime_client,
            quotas_client=quotas_client,
            invocation_type=desc.invocation_type,
            poll=poll,
            sleep=sleep,
        )
        job._job_arn = desc.job_arn
        state = None
        try:
            state = job._read_json(S3Uri.parse(parent + "/" + STATE_NAME))
        except ValueError:
            state = None
        if state is not None and state.get("job_arn") == desc.job_arn:
            owner = state.get("bucket_owner")
            job.input_uri = state["input_uri"]
            job.bucket_owner = owner
            job._state = state
        else:
            job.input_uri = desc.input_uri
        job._state_checked = True
        return job

    def __repr__(self) -> str:
        arn = f" {self._job_arn}" if self._job_arn else ""
        return f"<BatchJob{arn} model={self.model_id} records={len(self._store)}>"

    def _repr_html_(self) -> str:
        import html

        rows = [
            ("model", self.model_id),
            ("records", str(len(self._store))),
            ("job", self._job_arn or "not submitted"),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table>{cells}</table>"

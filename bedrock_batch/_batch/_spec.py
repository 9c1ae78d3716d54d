"""A batch's job parameters in canonical form, checked, and the identity derived from them.

:class:`JobParams` is what the caller passed (stored as given, no I/O). :func:`resolve` checks
every parameter the way Bedrock would (botocore's service model, the model catalog, the
region) and returns a :class:`JobSpec` whose values are canonical — URIs with one trailing
``/``, the model as one id — so that cosmetic differences (a trailing ``/``, a model ARN
instead of its id) make the same batch and never a second paid job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

import attrs

from .._catalog import canonical_model_id, lookup_model, model_problem
from .._common._s3uri import S3Uri
from .._common._shapes import constraint_violations
from .._errors import Problem, ValidationError
from ._quotas import Quotas

__all__ = [
    "JobParams",
    "JobSpec",
    "Mode",
    "OnInvalid",
    "VpcConfig",
    "content_id",
    "create_operation_of",
    "identity",
    "resolve",
]

Mode = Literal["auto", "batch", "on_demand"]
#: What an ``add_*`` call does with a record it refuses: refuse the whole call, or skip it.
OnInvalid = Literal["raise", "skip"]


@attrs.frozen
class VpcConfig:
    """``vpcConfig`` of a job: subnets and security groups."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    def to_request(self) -> dict[str, list[str]]:
        """The request shape."""
        return {
            "subnetIds": list(self.subnet_ids),
            "securityGroupIds": list(self.security_group_ids),
        }


@attrs.frozen
class JobParams:
    """The job parameters exactly as the caller gave them (checked by :func:`resolve`)."""

    model_id: Any
    role_arn: Any
    input_uri: Any
    output_uri: Any
    invocation_type: Any = "InvokeModel"
    mode: Any = "auto"
    job_name: Any = None
    timeout_hours: Any = None
    tags: Any = None
    vpc_config: Any = None
    kms_key_id: Any = None
    bucket_owner: Any = None
    max_records_per_file: Any = None
    max_bytes_per_file: Any = None
    upload_extra_args: Any = None
    on_demand_concurrency: Any = 4
    allow_unknown_model: bool = False


@attrs.frozen
class JobSpec:
    """Canonical, checked job parameters: what goes into every CreateModelInvocationJob."""

    model_id: str
    role_arn: str
    input_root: str
    output_uri: str
    invocation_type: str = "InvokeModel"
    job_name: str | None = None
    timeout_hours: int | None = None
    tags: tuple[tuple[str, str], ...] = ()
    vpc: VpcConfig | None = None
    kms_key_id: str | None = None
    bucket_owner: str | None = None
    max_records_per_file: int | None = None
    max_bytes_per_file: int | None = None

    @property
    def root(self) -> S3Uri:
        """The input prefix as an :class:`S3Uri`."""
        return S3Uri.parse(self.input_root)

    def base_name(self, batch_id: str) -> str:
        """The batch's job name (each job adds a part suffix when there are several)."""
        return self.job_name if self.job_name is not None else f"bedrock-batch-{batch_id[:16]}"

    def request(self, name: str, input_uri: str, token: str) -> dict[str, Any]:
        """The CreateModelInvocationJob parameters of one job (no ``None`` values)."""
        inp: dict[str, Any] = {"s3Uri": input_uri, "s3InputFormat": "JSONL"}
        out: dict[str, Any] = {"s3Uri": self.output_uri}
        if self.bucket_owner:
            inp["s3BucketOwner"] = self.bucket_owner
            out["s3BucketOwner"] = self.bucket_owner
        if self.kms_key_id:
            out["s3EncryptionKeyId"] = self.kms_key_id
        req: dict[str, Any] = {
            "jobName": name,
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
            req["tags"] = [{"key": k, "value": v} for k, v in self.tags]
        if self.vpc is not None:
            req["vpcConfig"] = self.vpc.to_request()
        return req


def _normalise_prefix(uri: str) -> str:
    """``s3://b/in`` and ``s3://b/in/`` are one prefix: keep exactly one trailing ``/``."""
    parsed = S3Uri.parse(uri)
    return f"s3://{parsed.bucket}/{parsed.prefix}"


def _string_list(value: Any, field: str, problems: list[Problem]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        problems.append(
            Problem(
                f"must be a list of strings, not {type(value).__name__} "
                f"(a single {field[:-1]} goes in a one-item list)",
                field=f"vpc_config.{field}",
            )
        )
        return ()
    if not all(isinstance(v, str) for v in value):
        problems.append(Problem("must hold only strings", field=f"vpc_config.{field}"))
        return ()
    return tuple(value)


def _vpc(value: Any, problems: list[Problem]) -> VpcConfig | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.append(
            Problem("must be a mapping with subnetIds and securityGroupIds", field="vpc_config")
        )
        return None
    unknown = set(value) - {"subnetIds", "securityGroupIds"}
    if unknown:
        problems.append(Problem(f"unknown keys {sorted(unknown)}", field="vpc_config"))
    return VpcConfig(
        _string_list(value.get("subnetIds", ()), "subnetIds", problems),
        _string_list(value.get("securityGroupIds", ()), "securityGroupIds", problems),
    )


def _tags(value: Any, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        problems.append(Problem("must be a mapping of tag keys to values", field="tags"))
        return ()
    bad = [k for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        problems.append(Problem(f"tag keys and values must be strings: {bad[:5]}", field="tags"))
        return ()
    reserved = sorted(k for k in value if k.lower().startswith("aws:"))
    if reserved:  # AWS refuses them on every tagging API (TagResource included)
        problems.append(
            Problem(
                f"tag keys beginning with 'aws:' are reserved for AWS: {reserved[:5]}", field="tags"
            )
        )
        return ()
    return tuple(sorted(value.items()))


@lru_cache(maxsize=1)
def _create_operation() -> Any:
    """botocore's CreateModelInvocationJob model, loaded once per process (only when no client
    that already holds it is at hand: loading the bedrock service model costs ~0.2 s)."""
    import botocore.session

    return (
        botocore.session.get_session()
        .get_service_model("bedrock")
        .operation_model("CreateModelInvocationJob")
    )


def create_operation_of(client: Any) -> Any:
    """The CreateModelInvocationJob model of a bedrock client already made (its service model
    is loaded with it), or the process's own copy when ``client`` has none."""
    try:
        return client.meta.service_model.operation_model("CreateModelInvocationJob")
    except AttributeError:  # not a botocore client: load the model ourselves
        return _create_operation()


def resolve(params: JobParams, *, region: str | None, operation: Any = None) -> JobSpec:
    """Check every job parameter and return the canonical spec.

    ``operation`` is botocore's CreateModelInvocationJob model to check the request against
    (the job's bedrock client's, see :func:`create_operation_of`; loaded when not given).
    Raises :class:`ValidationError` listing every problem at once. Nothing is read or written.
    """
    problems: list[Problem] = []
    p = params
    if p.invocation_type not in ("InvokeModel", "Converse"):
        problems.append(Problem("must be 'InvokeModel' or 'Converse'", field="invocation_type"))
    if p.mode not in ("auto", "batch", "on_demand"):
        problems.append(Problem("must be 'auto', 'batch' or 'on_demand'", field="mode"))
    model_id = p.model_id if isinstance(p.model_id, str) else ""
    if not model_id:
        problems.append(Problem("must be a non-empty string", field="model_id"))
    else:
        kind = p.invocation_type if isinstance(p.invocation_type, str) else "InvokeModel"
        why = model_problem(model_id, region, kind)
        if why and not (p.allow_unknown_model and "is not a model" in why):
            problems.append(Problem(why, field="model_id"))
        info = lookup_model(model_id)[0]
        if info is not None and info.is_embedding and p.invocation_type == "Converse":
            problems.append(
                Problem(
                    "embedding models cannot use the Converse invocation type",
                    field="invocation_type",
                )
            )
    uris: dict[str, str] = {}
    for name in ("input_uri", "output_uri"):
        try:
            uris[name] = _normalise_prefix(getattr(p, name))
        except ValueError as err:
            problems.append(Problem(str(err), field=name))
    from boto3.s3.transfer import S3Transfer  # heavy (s3transfer): only when planning

    unknown = set(p.upload_extra_args or {}) - set(S3Transfer.ALLOWED_UPLOAD_ARGS)
    if unknown:
        problems.append(
            Problem(
                f"not allowed S3 upload arguments: {sorted(unknown)}", field="upload_extra_args"
            )
        )
    for name in ("max_records_per_file", "max_bytes_per_file", "on_demand_concurrency"):
        value = getattr(p, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(Problem("must be an integer", field=name))
        elif value is not None and value < 1:
            problems.append(Problem("must be positive", field=name))
    role = p.role_arn if isinstance(p.role_arn, str) else ""
    if isinstance(p.bucket_owner, str) and role.count(":") >= 5:
        role_account = role.split(":")[4]
        if role_account and role_account != p.bucket_owner:
            problems.append(
                Problem(
                    f"the role is in account {role_account} but the buckets' owner is "
                    f"{p.bucket_owner}; Bedrock passes the role of the account that owns the job",
                    field="role_arn",
                )
            )
    spec = JobSpec(
        model_id=canonical_model_id(model_id) if model_id else "",
        role_arn=role,
        input_root=uris.get("input_uri", ""),
        output_uri=uris.get("output_uri", ""),
        invocation_type=p.invocation_type if isinstance(p.invocation_type, str) else "",
        job_name=p.job_name,
        timeout_hours=p.timeout_hours,
        tags=_tags(p.tags, problems),
        vpc=_vpc(p.vpc_config, problems),
        kms_key_id=p.kms_key_id,
        bucket_owner=p.bucket_owner,
        max_records_per_file=p.max_records_per_file,
        max_bytes_per_file=p.max_bytes_per_file,
    )
    probe_input = (
        str(spec.root.join("0" * 24, "runs", "p000")) + "/"
        if "input_uri" in uris
        else "s3://placeholder-bucket/x/"
    )
    request = spec.request(spec.base_name("0" * 24), probe_input, "bb" + "0" * 24)
    if "output_uri" not in uris:
        request["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] = "s3://placeholder-bucket/o/"
    if p.vpc_config is not None and spec.vpc is None:
        request.pop("vpcConfig", None)
    message = constraint_violations(operation or _create_operation(), request)
    if message:
        for part in message.split(": ", 1)[1].split("; "):
            field = part.split("at '", 1)[1].split("'", 1)[0] if "at '" in part else None
            problems.append(Problem(part, field=field))
    if problems:
        raise ValidationError("invalid job parameters", problems)
    return spec


def _canonical(spec: JobSpec) -> dict[str, Any]:
    return {
        "model": spec.model_id,
        "type": spec.invocation_type,
        "role": spec.role_arn,
        "in": spec.input_root,
        "out": spec.output_uri,
        "name": spec.job_name,
        "timeout": spec.timeout_hours,
        "tags": [list(t) for t in spec.tags],
        "vpc": spec.vpc.to_request() if spec.vpc else None,
        "kms": spec.kms_key_id,
        "owner": spec.bucket_owner,
        "rpf": spec.max_records_per_file,
        "bpf": spec.max_bytes_per_file,
    }


def content_id(records_digest: str, spec: JobSpec, mode: str) -> str:
    """Where the batch lives (``{input}{content id}/``): a hash of the records, the canonical
    parameters and the mode that applies (``"batch"`` or ``"on_demand"``)."""
    h = hashlib.sha256(records_digest.encode())
    h.update(json.dumps({**_canonical(spec), "mode": mode}, sort_keys=True).encode())
    return h.hexdigest()[:24]


def identity(batch_id: str, quotas: Quotas) -> str:
    """The batch's identity: its content id and the quota values its plan used. Client request
    tokens derive from it."""
    h = hashlib.sha256(batch_id.encode())
    h.update(json.dumps(attrs.asdict(quotas), sort_keys=True).encode())
    return h.hexdigest()[:24]


def legacy_content_id(records_digest: str, params: JobParams) -> str:
    """The content id version 0.1 (ledger format ``bedrock-batch/2``) gave the same batch, so a
    batch it submitted is resumed rather than paid for again."""
    legacy = {
        "model": params.model_id,
        "type": params.invocation_type,
        "role": params.role_arn,
        "out": params.output_uri,
        "name": params.job_name,
        "timeout": params.timeout_hours,
        "tags": dict(params.tags or {}),
        "vpc": {k: list(v) for k, v in params.vpc_config.items()} if params.vpc_config else None,
        "kms": params.kms_key_id,
        "owner": params.bucket_owner,
        "rpf": params.max_records_per_file,
        "bpf": params.max_bytes_per_file,
        "mode": params.mode,
    }
    h = hashlib.sha256(records_digest.encode())
    h.update(json.dumps(legacy, sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]

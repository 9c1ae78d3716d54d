"""``BatchJob``: build → plan → upload → submit → wait → read and join — over one or many
Bedrock jobs, crash-safe, with retries and an on-demand fallback.

Persistence (all beside the inputs, under ``{input_uri}{content id}/``):

- ``bedrock-batch.json`` — the state: parameters, every *run* (a Bedrock job of the first
  submission or of a retry, or an on-demand run) with its input files, client request token and,
  once created, its job ARN. It is written *before* anything it describes is acted on.
- ``index.jsonl`` — record id → the caller's key, for ``attach()`` from anywhere.
- ``runs/{run}/part-NNNNN.jsonl`` — the inputs of each run; ``runs/{run}/ondemand.jsonl.out``
  — the outputs of an on-demand run, in Bedrock's output-line format.

The content id hashes the records and the job parameters, and each run's client request token
derives from it, so a process killed anywhere and started again with the same inputs picks up
where it stopped: uploads already done are skipped, a create already sent returns the same job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import attrs
import boto3
import tenacity as _t
from boto3.s3.transfer import S3Transfer, TransferConfig
from botocore.exceptions import ClientError

from . import _lifecycle
from ._catalog import Family, ModelInfo, estimate_tokens, family_of, lookup_model
from ._clients import Clients
from ._errors import (
    NOT_FOUND_CODES,
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
from ._jsonl import dumps_line, iter_lines, loads_line
from ._lifecycle import TERMINAL, JobDescription
from ._ondemand import run_on_demand
from ._outputs import Usage
from ._polling import PollConfig, backoff, wait_until_terminal
from ._pricing import Cost, Price, price_for
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
from ._results import OutputSource, Results, Summary, reconcile
from ._s3uri import S3Uri
from ._schemas import check_model_input, input_text, iter_s3_locations, requested_output_tokens
from ._shapes import constraint_violations
from ._store import Part, RecordStore, Shard, plan_parts

if TYPE_CHECKING:  # the mypy-boto3 stubs are needed at type-check time only
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_service_quotas import ServiceQuotasClient

__all__ = ["BatchJob", "BatchStatus", "Mode", "PartPlan", "Plan"]

log = logging.getLogger("bedrock_batch")

STATE_FORMAT = "bedrock-batch/2"
STATE_NAME = "bedrock-batch.json"
INDEX_NAME = "index.jsonl"
ONDEMAND_OUT = "ondemand.jsonl.out"
_TRANSIENT = frozenset(
    {"ThrottlingException", "InternalServerException", "ServiceUnavailableException"}
)
_ACTIVE_ORDER = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
_TERMINAL_SEVERITY = ("Completed", "PartiallyCompleted", "Stopped", "Expired", "Failed")

Mode = Literal["auto", "batch", "on_demand"]


@attrs.frozen
class PartPlan:
    """One Bedrock job of a plan (or the on-demand run, when ``kind == "on_demand"``)."""

    run: str
    kind: str
    job_name: str
    client_request_token: str
    input_uri: str
    records: int
    bytes: int
    shards: tuple[Shard, ...]


@attrs.frozen
class Plan:
    """What ``submit()`` would do, computed without side effects.

    ``cost`` is an upper bound: it counts every record's requested maximum output tokens.
    """

    model_id: str
    family: Family | None
    invocation_type: str
    mode: str
    records: int
    bytes: int
    parts: tuple[PartPlan, ...]
    quotas: Quotas
    quota_source: str
    estimated_input_tokens: int
    max_output_tokens: int
    cost: Cost
    content_id: str
    state_uri: str

    @property
    def shards(self) -> tuple[Shard, ...]:
        """Every input file of every job."""
        return tuple(s for p in self.parts for s in p.shards)

    @property
    def job_name(self) -> str:
        """The first job's name."""
        return self.parts[0].job_name

    @property
    def job_input_uri(self) -> str:
        """The first job's input folder."""
        return self.parts[0].input_uri

    @property
    def client_request_token(self) -> str:
        """The first job's client request token."""
        return self.parts[0].client_request_token

    def __str__(self) -> str:
        how = (
            f"{len(self.parts)} Bedrock job(s)"
            if self.mode == "batch"
            else "on demand (bedrock-runtime)"
        )
        cost = ""
        if self.cost.batch is not None and self.cost.on_demand is not None:
            cost = f"; at most ${self.cost.batch:.4f} batch / ${self.cost.on_demand:.4f} on demand (prices of {self.cost.prices_as_of})"
        return (
            f"{self.records} records, {self.bytes} bytes → {how}, {len(self.shards)} file(s) under "
            f"{self.state_uri.rsplit('/', 1)[0]}/\n"
            f"model {self.model_id} ({self.family or 'unknown family'}, {self.invocation_type}); "
            f"~{self.estimated_input_tokens} input tokens{cost}; quotas from {self.quota_source}: "
            f"min {self.quotas.min_records_per_job}, max {self.quotas.max_records_per_job} records/job, "
            f"{self.quotas.max_concurrent_jobs} concurrent jobs"
        )


@attrs.frozen
class BatchStatus:
    """The state of a whole BatchJob: every Bedrock job it created, plus those still to create.

    Reads like one job: ``status`` is the least advanced status while anything runs, else the
    most severe terminal one; the record counters are sums (None while any job lacks them).
    """

    jobs: tuple[JobDescription, ...]
    pending: int = 0
    on_demand_records: int = 0

    @property
    def status(self) -> str:
        """One status for the whole batch."""
        active = [j.status for j in self.jobs if j.status not in TERMINAL]
        if self.pending:
            active.append("Submitted")
        if active:
            return min(active, key=lambda s: _ACTIVE_ORDER.index(s) if s in _ACTIVE_ORDER else 0)
        if not self.jobs:
            return "Completed"
        return max(
            (j.status for j in self.jobs),
            key=lambda s: _TERMINAL_SEVERITY.index(s) if s in _TERMINAL_SEVERITY else 0,
        )

    @property
    def is_terminal(self) -> bool:
        """True once every job has ended and none is waiting to be created."""
        return self.pending == 0 and all(j.is_terminal for j in self.jobs)

    @property
    def job_arn(self) -> str | None:
        """The first job's ARN (None for a batch answered on demand)."""
        return self.jobs[0].job_arn if self.jobs else None

    @property
    def job_arns(self) -> list[str]:
        """Every job's ARN."""
        return [j.job_arn for j in self.jobs]

    @property
    def job_id(self) -> str:
        """The first job's id (``on-demand`` when there is none)."""
        return self.jobs[0].job_id if self.jobs else "on-demand"

    @property
    def message(self) -> str | None:
        """The message of the first job that did not complete, if any."""
        for j in self.jobs:
            if j.status in ("Failed", "Expired", "Stopped") and j.message:
                return j.message
        return None

    def _sum(self, name: str) -> int | None:
        values: list[int | None] = [getattr(j, name) for j in self.jobs]
        total = 0
        for v in values:
            if v is None:
                return None
            total += v
        return total + (self.on_demand_records if name != "errored_records" else 0)

    @property
    def total_records(self) -> int | None:
        """Records across jobs (None while a job does not report it)."""
        return self._sum("total_records")

    @property
    def processed_records(self) -> int | None:
        """Processed records across jobs."""
        return self._sum("processed_records")

    @property
    def succeeded_records(self) -> int | None:
        """Succeeded records across jobs."""
        return self._sum("succeeded_records")

    @property
    def errored_records(self) -> int | None:
        """Errored records across jobs."""
        return self._sum("errored_records")


def _bedrock_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("bedrock")


class BatchJob:
    """One logical batch of records, from building them to joined results.

    ``__init__`` only stores what it is given: no network, no files. Records are checked as
    they are added; :meth:`plan` and :meth:`submit` check the job parameters and the model's
    quotas before anything is uploaded or created. When the records exceed a model's per-job
    quota they are split into several Bedrock jobs, submitted within the concurrent-job quota;
    results, progress and the summary cover them as one.

    Args:
        model_id: a foundation-model id, inference-profile id (``us.``, ``eu.``, ...) or ARN.
        role_arn: the service role Bedrock assumes to read inputs and write outputs.
        input_uri: an S3 prefix; each batch's inputs and state go under ``{input_uri}{content id}/``.
        output_uri: the S3 prefix Bedrock writes ``{jobId}/...`` under.
        session / bedrock_client / s3_client / runtime_client / quotas_client: where clients
            come from; given clients are used as they are.
        invocation_type: ``"InvokeModel"`` (the family's native body) or ``"Converse"``.
        mode: below the model's minimum records per batch job, ``"auto"`` answers the records on
            demand through bedrock-runtime (and logs that it did), ``"batch"`` refuses with a
            :class:`QuotaError`; ``"on_demand"`` always uses bedrock-runtime. Never pads.
        quotas: override the model's quotas; otherwise Service Quotas (when readable,
            ``use_service_quotas``), else the documented defaults.
        max_records_per_file / max_bytes_per_file: cut input files smaller than the quotas.
        kms_key_id: SSE-KMS key for the outputs (``s3EncryptionKeyId``).
        bucket_owner: expected owner account of both buckets (``s3BucketOwner`` and
            ``ExpectedBucketOwner`` on our own S3 calls).
        upload_extra_args: extra S3 upload arguments (checked against boto3's allow-list).
        prices: per-model :class:`Price` overrides for cost estimates.
        on_demand_concurrency: parallel bedrock-runtime calls for on-demand records.
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
        bedrock_client: BedrockClient | None = None,
        s3_client: S3Client | None = None,
        runtime_client: BedrockRuntimeClient | None = None,
        quotas_client: ServiceQuotasClient | None = None,
        job_name: str | None = None,
        invocation_type: str = "InvokeModel",
        mode: Mode = "auto",
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
        prices: Mapping[str, Price] | None = None,
        on_demand_concurrency: int = 4,
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
        self.mode = mode
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
        self.prices = dict(prices or {})
        self.on_demand_concurrency = on_demand_concurrency
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
        self._max_out = 0
        self._state: dict[str, Any] | None = None
        self._index_cache: dict[str, Any] | None = None
        self._resolved_quotas: tuple[Quotas, str] | None = None
        self._last: dict[str, JobDescription] = {}
        self._upload_display: Any = None
        #: Control-plane calls this object made, by operation (for cost and benchmarks).
        self.calls: Counter[str] = Counter()

    # -- adding records --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._store)

    @property
    def job_arn(self) -> str | None:
        """The (first) Bedrock job's ARN once created or attached."""
        arns = self.job_arns
        return arns[0] if arns else None

    @property
    def job_arns(self) -> list[str]:
        """Every Bedrock job created for this batch, retries included."""
        return [r["job_arn"] for r in self._runs() if r.get("job_arn")]

    def _runs(self) -> list[dict[str, Any]]:
        return list(self._state["runs"]) if self._state else []

    def _ensure_open(self) -> None:
        if self._state is not None:
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

    def _append(self, record_id: str, body: dict[str, Any], key: Any) -> None:
        self._store.append(record_id, body, key)
        self._tokens += estimate_tokens(input_text(body))
        ceiling = self.model.max_output_tokens if self.model else 4096
        self._max_out += requested_output_tokens(
            body, self.family, invocation_type=self.invocation_type, default=ceiling
        )

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
        self._append(record_id, body, key)
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
            self._append(rid, obj["modelInput"], key)
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

    def add_dataframe(
        self,
        df: Any,
        *,
        prompt: str | Callable[[Mapping[str, Any]], str] | None = None,
        text: str | Callable[[Mapping[str, Any]], str] | None = None,
        model_input: str | Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
        key: str | Callable[[Mapping[str, Any]], Any] | None = None,
        record_id: str | Callable[[Mapping[str, Any]], str] | None = None,
        **options: Any,
    ) -> int:
        """Add one record per row of a pandas (or polars) DataFrame; returns how many.

        Say where the request comes from with exactly one of ``prompt`` (a text-generation
        prompt, built for the model family), ``text`` (an embedding input) or ``model_input`` (a
        complete body) — each a column name or a function of the row. ``key`` and ``record_id``
        likewise; the key comes back on each result (``to_pandas()`` keeps it as a column).
        Other keyword arguments go to :meth:`add_prompt` / :meth:`add_embedding`.
        """
        from ._frames import iter_frame_rows, pick, scalar_key

        if sum(x is not None for x in (prompt, text, model_input)) != 1:
            raise ValidationError(
                "add_dataframe needs exactly one of prompt=, text= or model_input="
            )
        n = 0
        for row in iter_frame_rows(df):
            rid = pick(row, record_id)
            k = scalar_key(pick(row, key))
            if prompt is not None:
                self.add_prompt(str(pick(row, prompt)), record_id=rid, key=k, **options)
            elif text is not None:
                self.add_embedding(str(pick(row, text)), record_id=rid, key=k, **options)
            else:
                self.add(pick(row, model_input), record_id=rid, key=k)
            n += 1
        return n

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
                except Exception as err:  # no credentials / no endpoint: the defaults stand
                    log.debug("Service Quotas unavailable, using defaults: %s", err)
            self._resolved_quotas = result
        return self._resolved_quotas

    def _base_name(self, content_id: str) -> str:
        return self.job_name if self.job_name is not None else f"bedrock-batch-{content_id[:16]}"

    def _part_plans(
        self, content_id: str, parts: Sequence[Part], attempt: int, root: S3Uri
    ) -> list[PartPlan]:
        base = self._base_name(content_id)
        out = []
        for p in parts:
            tag = f"p{p.index:03d}" if attempt == 0 else f"a{attempt:02d}p{p.index:03d}"
            single = attempt == 0 and len(parts) == 1
            name = base if single else f"{base[: 63 - len(tag) - 1]}-{tag}"
            token = f"bb{content_id}" if single else f"bb{content_id}{tag}"
            out.append(
                PartPlan(
                    tag,
                    "batch",
                    name,
                    token,
                    str(root.join(content_id, "runs", tag)) + "/",
                    p.records,
                    p.size,
                    p.shards,
                )
            )
        return out

    def plan(self) -> Plan:
        """Check everything that can be checked locally and say what ``submit()`` would do.

        No S3 writes and no job creation (Service Quotas may be read). Raises
        :class:`ValidationError` (or :class:`QuotaError`) listing every problem.
        """
        problems: list[Problem] = []
        if self.invocation_type not in ("InvokeModel", "Converse"):
            problems.append(Problem("must be 'InvokeModel' or 'Converse'", field="invocation_type"))
        if self.mode not in ("auto", "batch", "on_demand"):
            problems.append(Problem("must be 'auto', 'batch' or 'on_demand'", field="mode"))
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
            ("on_demand_concurrency", self.on_demand_concurrency),
        ):
            if limit is not None and limit < 1:
                problems.append(Problem("must be positive", field=name))
        content_id = self._content_id()
        probe_name = self._base_name(content_id)
        probe_uri = (
            str(root.join(content_id, "runs", "p000")) + "/"
            if root
            else "s3://placeholder-bucket/x/"
        )
        request = self._request(probe_name, probe_uri, f"bb{content_id}")
        if root is None:
            request["inputDataConfig"]["s3InputDataConfig"].pop("s3Uri")
        message = constraint_violations(
            _bedrock_model().operation_model("CreateModelInvocationJob"), request
        )
        if message:
            for part in message.split(": ", 1)[1].split("; "):
                field = part.split("at '", 1)[1].split("'", 1)[0] if "at '" in part else None
                problems.append(Problem(part, field=field))
        if problems:
            raise ValidationError("invalid job parameters", problems)
        if len(self._store) == 0:
            raise ValidationError("the job has no records: add some first")
        assert root is not None
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
        mode = "on_demand" if self.mode == "on_demand" else "batch"
        if mode == "batch" and n < quotas.min_records_per_job:
            if self.mode == "batch":
                raise QuotaError(
                    f"{n} records is below the minimum of {quotas.min_records_per_job} records per batch job for {label} "
                    f"(quotas from {source}); use mode='auto' or 'on_demand' to run them through bedrock-runtime",
                    quota="min_records_per_job",
                    limit=quotas.min_records_per_job,
                )
            mode = "on_demand"
        if mode == "batch":
            parts = plan_parts(
                self._store.sizes,
                max_records_per_job=quotas.max_records_per_job,
                max_job_bytes=quotas.max_job_bytes,
                max_records_per_file=max_records,
                max_file_bytes=max_bytes,
            )
            small = [p for p in parts if p.records < quotas.min_records_per_job]
            if small:
                raise QuotaError(
                    f"cannot split {n} records into jobs that each meet the minimum of {quotas.min_records_per_job} "
                    f"records and the {quotas.max_job_bytes}-byte job size for {label}",
                    quota="min_records_per_job",
                    limit=quotas.min_records_per_job,
                )
            part_plans = self._part_plans(content_id, parts, 0, root)
        else:
            shards = tuple(
                Shard(i, s.start, s.end, s.size)
                for i, s in enumerate(self._plan_files(0, n, max_records, max_bytes))
            )
            part_plans = [
                PartPlan(
                    "od000",
                    "on_demand",
                    "",
                    "",
                    str(root.join(content_id, "runs", "od000")) + "/",
                    n,
                    self._store.total_bytes,
                    shards,
                )
            ]
        price = price_for(self.model_id, self.prices)
        upper = Usage(self._tokens, self._max_out)
        cost = Cost(
            price.cost(upper, batch=True) if price else None,
            price.cost(upper, batch=False) if price else None,
        )
        return Plan(
            model_id=self.model_id,
            family=self.family,
            invocation_type=self.invocation_type,
            mode=mode,
            records=n,
            bytes=self._store.total_bytes,
            parts=tuple(part_plans),
            quotas=quotas,
            quota_source=source,
            estimated_input_tokens=self._tokens,
            max_output_tokens=self._max_out,
            cost=cost,
            content_id=content_id,
            state_uri=str(root.join(content_id, STATE_NAME)),
        )

    def _plan_files(self, start: int, end: int, max_records: int, max_bytes: int) -> list[Shard]:
        from ._store import plan_shards

        return [
            Shard(s.index, s.start + start, s.end + start, s.size)
            for s in plan_shards(self._store.sizes[start:end], max_records, max_bytes)
        ]

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
            "mode": self.mode,
        }
        h = hashlib.sha256(self._store.content_digest().encode())
        h.update(json.dumps(params, sort_keys=True).encode())
        return h.hexdigest()[:24]

    # -- S3 helpers ------------------------------------------------------------------------

    @property
    def _s3_extra(self) -> dict[str, Any]:
        return {"ExpectedBucketOwner": self.bucket_owner} if self.bucket_owner else {}

    def _read_json(self, uri: S3Uri) -> dict[str, Any] | None:
        try:
            with translate_client_error("GetObject"):
                body = self._clients.s3.get_object(
                    Bucket=uri.bucket, Key=uri.key, **self._s3_extra
                )["Body"].read()
        except ServiceError as err:
            if err.code in NOT_FOUND_CODES:
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

    def _save_state(self) -> None:
        assert self._state is not None
        root = S3Uri.parse(self._state["input_uri"])
        self._write_json(root.join(self._state["content_id"], STATE_NAME), self._state)

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

    def _put_lines(self, lines: Iterable[bytes], uri: S3Uri) -> int:
        """Stream lines into one S3 object unless an identical one is there; returns the size."""
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as fh:
            h = hashlib.sha256()
            for line in lines:
                h.update(line)
                fh.write(line)
            size = fh.tell()
            sha = h.hexdigest()
            if self._already_there(uri, sha, size):
                log.debug("%s already uploaded", uri)
            else:
                fh.seek(0)
                self._upload(fh, uri, sha)
                log.debug("uploaded %s (%d bytes)", uri, size)
        if self._upload_display is not None:
            self._upload_display.update(size)
        return size

    def _upload_index(self, content_id: str) -> None:
        uri = S3Uri.parse(self.input_uri).join(content_id, INDEX_NAME)

        def lines() -> Iterator[bytes]:
            for rid, key in self._store.iter_index():
                entry = {"recordId": rid, "key": key} if key is not None else {"recordId": rid}
                yield json.dumps(entry, ensure_ascii=False).encode() + b"\n"

        self._put_lines(lines(), uri)

    def _upload_run_inputs(self, run: dict[str, Any], lines: Iterator[bytes] | None = None) -> None:
        """Upload a run's input files (records of the store, or the given lines)."""
        folder = S3Uri.parse(run["input"])
        if lines is None:
            store_lines = self._store.iter_lines()
            for _ in range(run["shards"][0]["start"]):
                next(store_lines)
            lines = store_lines
        for shard in run["shards"]:
            count = shard["end"] - shard["start"]
            self._put_lines(
                (next(lines) for _ in range(count)), folder.join(f"part-{shard['index']:05d}.jsonl")
            )

    # -- submitting ------------------------------------------------------------------------

    def _new_state(self, plan: Plan) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "content_id": plan.content_id,
            "model_id": self.model_id,
            "invocation_type": self.invocation_type,
            "role_arn": self.role_arn,
            "input_uri": self.input_uri,
            "output_uri": self.output_uri,
            "bucket_owner": self.bucket_owner,
            "mode": self.mode,
            "job_name": self._base_name(plan.content_id),
            "records": plan.records,
            "bytes": plan.bytes,
            "max_concurrent_jobs": plan.quotas.max_concurrent_jobs,
            "min_records_per_job": plan.quotas.min_records_per_job,
            "index": INDEX_NAME,
            "runs": [
                {
                    "run": p.run,
                    "attempt": 0,
                    "kind": p.kind,
                    "name": p.job_name,
                    "token": p.client_request_token,
                    "input": p.input_uri,
                    "records": p.records,
                    "shards": [
                        {"index": s.index, "start": s.start, "end": s.end, "size": s.size}
                        for s in p.shards
                    ],
                    "job_arn": None,
                    "uploaded": False,
                    "done": False,
                }
                for p in plan.parts
            ],
        }

    def submit(self, *, progress: bool = False) -> BatchStatus:
        """Validate, upload and create the job(s). Safe to call again: same content, same jobs.

        The plan is recorded in S3 before anything acts on it, and each job's client request
        token is derived from the content, so a repeated, retried or resumed submit never creates
        a second paid job and re-uploads nothing already there. Jobs beyond the model's
        concurrent-job quota wait their turn (:meth:`wait` creates them as slots free up).
        Records below the minimum go through bedrock-runtime here (``mode="auto"``).
        ``progress=True`` shows the bytes uploaded.
        """
        if progress:
            from ._progress import CountDisplay

            self._upload_display = CountDisplay(
                "upload", total=self._store.total_bytes or None, unit="B"
            )
        try:
            return self._submit()
        finally:
            if self._upload_display is not None:
                self._upload_display.close()
                self._upload_display = None

    def _submit(self) -> BatchStatus:
        if self._state is None:
            plan = self.plan()
            state_uri = S3Uri.parse(plan.state_uri)
            existing = self._read_json(state_uri)
            if (
                existing is not None
                and existing.get("content_id") == plan.content_id
                and existing.get("format") == STATE_FORMAT
            ):
                log.info("resuming batch %s", plan.content_id)
                self._state = existing
            else:
                self._state = self._new_state(plan)
                self._save_state()  # the plan, before anything acts on it
            if plan.mode == "on_demand":
                log.info(
                    "%d records are below the batch minimum of %d: answering them on demand",
                    plan.records,
                    plan.quotas.min_records_per_job,
                )
        if len(self._store):
            self._upload_index(self._state["content_id"])
            for run in self._runs():  # every input before the first create
                if run["attempt"] == 0 and not run["uploaded"]:
                    self._upload_run_inputs(run)
                    run["uploaded"] = True
                    self._save_state()
        for run in self._runs():
            if run["kind"] == "on_demand" and not run["done"]:
                self._run_on_demand(run)
        if self._create_pending(self._poll()):
            self._poll()
        return self._status()

    def _run_on_demand(self, run: dict[str, Any], lines: Iterator[bytes] | None = None) -> None:
        if not run["uploaded"]:
            self._upload_run_inputs(run, lines)
            run["uploaded"] = True
            self._save_state()
        folder = S3Uri.parse(run["input"])

        def records() -> Iterator[tuple[str, dict[str, Any]]]:
            for shard in run["shards"]:
                key = folder.join(f"part-{shard['index']:05d}.jsonl")
                body = self._clients.s3.get_object(
                    Bucket=key.bucket, Key=key.key, **self._s3_extra
                )["Body"]
                for _, raw in iter_lines(body.iter_chunks(1 << 20)):
                    obj = loads_line(raw)
                    yield obj["recordId"], obj["modelInput"]

        out = folder.join(ONDEMAND_OUT)
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as fh:
            written = run_on_demand(
                self._clients.runtime,
                self.model_id,
                records(),
                fh,
                converse=self.invocation_type == "Converse",
                concurrency=self.on_demand_concurrency,
                sleep=self.sleep,
            )
            fh.seek(0)
            sha = hashlib.sha256(fh.read()).hexdigest()
            fh.seek(0)
            self._upload(fh, out, sha)
        run["done"] = True
        run["written"] = written
        self._save_state()

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
                self.calls["CreateModelInvocationJob"] += 1
                arn: str = self._clients.bedrock.create_model_invocation_job(**request)["jobArn"]
                return arn
        raise AssertionError("unreachable")  # pragma: no cover

    def _create_pending(self, known: dict[str, JobDescription]) -> int:
        """Create waiting jobs while the concurrent-job quota allows; returns how many."""
        assert self._state is not None
        limit = int(self._state.get("max_concurrent_jobs") or 20)
        active = sum(1 for d in known.values() if not d.is_terminal)
        created = 0
        for run in self._runs():
            if run["kind"] != "batch" or run.get("job_arn"):
                continue
            if active >= limit:
                break
            if not run["uploaded"]:
                self._upload_run_inputs(run, self._retry_lines(run) if run["attempt"] else None)
                run["uploaded"] = True
                self._save_state()
            request = self._request(run["name"], run["input"], run["token"])
            try:
                arn = self._create(request)
            except ServiceError as err:
                if err.code == "ServiceQuotaExceededException":
                    log.info("concurrent-job quota reached; %s waits its turn", run["name"])
                    break
                raise
            run["job_arn"] = arn
            self._save_state()
            active += 1
            created += 1
            log.info("created %s (%s, %d records)", arn, run["name"], run["records"])
        return created

    # -- watching --------------------------------------------------------------------------

    def _poll(self) -> dict[str, JobDescription]:
        """Describe every created job: one List call for many, one Get for a single job."""
        arns = self.job_arns
        if not arns:
            self._last = {}
            return {}
        found: dict[str, JobDescription] = {}
        if len(arns) > 1:
            assert self._state is not None
            wanted = set(arns)
            with translate_client_error("ListModelInvocationJobs"):
                pages = self._clients.bedrock.get_paginator("list_model_invocation_jobs").paginate(
                    nameContains=self._state["job_name"][:63],
                    sortOrder="Descending",
                    PaginationConfig={"PageSize": 1000},
                )
                for page in pages:
                    self.calls["ListModelInvocationJobs"] += 1
                    for item in page.get("invocationJobSummaries", []):
                        if item["jobArn"] in wanted:
                            found[item["jobArn"]] = JobDescription.from_response(item)
                    if len(found) == len(wanted):
                        break
        for arn in arns:
            if arn not in found:
                self.calls["GetModelInvocationJob"] += 1
                found[arn] = _lifecycle.describe(self._clients.bedrock, arn)
        self._last = found
        return found

    def _status(self) -> BatchStatus:
        pending = sum(1 for r in self._runs() if r["kind"] == "batch" and not r.get("job_arn"))
        on_demand = sum(
            r.get("written", 0) for r in self._runs() if r["kind"] == "on_demand" and r["done"]
        )
        jobs = tuple(self._last[a] for a in self.job_arns if a in self._last)
        return BatchStatus(jobs, pending, on_demand)

    def _require_state(self) -> dict[str, Any]:
        if self._state is None:
            raise StateError("the job has not been submitted yet")
        return self._state

    def describe(self) -> BatchStatus:
        """The batch's current status (one control-plane call for all its jobs)."""
        self._require_state()
        self._poll()
        return self._status()

    def stop(self) -> None:
        """Ask Bedrock to stop every running job; records already processed keep their outputs.

        Jobs not created yet are never created.
        """
        state = self._require_state()
        for run in state["runs"]:
            if run["kind"] == "batch" and not run.get("job_arn"):
                run["kind"] = "cancelled"
        self._save_state()
        for arn, desc in self._poll().items():
            if not desc.is_terminal and desc.status != "Stopping":
                self.calls["StopModelInvocationJob"] += 1
                _lifecycle.stop(self._clients.bedrock, arn)

    def wait(
        self,
        *,
        progress: bool = False,
        timeout: float | None = None,
        callback: Callable[[BatchStatus], None] | None = None,
        raise_on_failure: bool = True,
    ) -> BatchStatus:
        """Poll until every job has ended, creating waiting jobs as slots free; returns the status.

        Raises :class:`JobFailedError` / :class:`JobExpiredError` / :class:`JobStoppedError`
        (unless ``raise_on_failure=False``) once all jobs have ended, and
        :class:`PollTimeoutError`. PartiallyCompleted returns: its unprocessed records come back
        as missing, and :meth:`retry` can run them again. ``progress=True`` shows a bar (tqdm
        when installed) on stderr; ``callback`` gets every status. Ctrl-C stops waiting, not
        the jobs.
        """
        self._require_state()
        config = self.poll if timeout is None else attrs.evolve(self.poll, timeout=timeout)
        display = ProgressDisplay() if progress else None

        def poll() -> BatchStatus:
            known = self._poll()
            if self._create_pending(known):
                known = self._poll()
            status = self._status()
            if display is not None:
                display.update(status)
            if callback is not None:
                callback(status)
            return status

        try:
            final = wait_until_terminal(poll, config, sleep=self.sleep)
        except KeyboardInterrupt:
            hint = f"stopped waiting; the job(s) keep running. Resume with BatchJob.attach({self.job_arn!r})"
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
            for job in final.jobs:
                error = {
                    "Failed": JobFailedError,
                    "Expired": JobExpiredError,
                    "Stopped": JobStoppedError,
                }.get(job.status)
                if error is not None:
                    raise error(job.job_arn, job.status, job.message)
        return final

    # -- results ---------------------------------------------------------------------------

    def _load_index(self) -> dict[str, Any]:
        if self._index_cache is None and len(self._store):
            self._index_cache = dict(self._store.iter_index())  # records are frozen once submitted
        if self._index_cache is None:
            state = self._require_state()
            index: dict[str, Any] = {}
            if state.get("index"):
                uri = S3Uri.parse(state["input_uri"]).join(state["content_id"], state["index"])
                body = self._clients.s3.get_object(
                    Bucket=uri.bucket, Key=uri.key, **self._s3_extra
                )["Body"]
                for _, raw in iter_lines(body.iter_chunks(1 << 20)):
                    entry = loads_line(raw)
                    index[entry["recordId"]] = entry.get("key")
            else:  # a job we did not create: its inputs are the index
                for rid, _ in self._iter_inputs(None):
                    index[rid] = None
            self._index_cache = index
        return self._index_cache

    def _input_files(self, attempt: int = 0) -> list[S3Uri]:
        files = []
        for run in self._runs():
            if run["attempt"] != attempt or run["kind"] == "cancelled":
                continue
            folder = S3Uri.parse(run["input"])
            if run.get("shards") is None:  # attached foreign job: list its input location
                if folder.key.endswith(".jsonl"):
                    files.append(folder)
                    continue
                for page in self._clients.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=folder.bucket, Prefix=folder.prefix, **self._s3_extra
                ):
                    files += [
                        S3Uri(folder.bucket, o["Key"])
                        for o in page.get("Contents", [])
                        if o["Key"].endswith(".jsonl")
                    ]
            else:
                files += [folder.join(f"part-{s['index']:05d}.jsonl") for s in run["shards"]]
        return files

    def _iter_inputs(self, wanted: set[str] | None) -> Iterator[tuple[str, Any]]:
        """(record id, modelInput) of the first submission's inputs, streamed from S3."""
        for uri in self._input_files(0):
            try:
                body = self._clients.s3.get_object(
                    Bucket=uri.bucket, Key=uri.key, **self._s3_extra
                )["Body"]
            except ClientError:
                continue  # not uploaded (a run that never started); the records stay missing
            for _, raw in iter_lines(body.iter_chunks(1 << 20)):
                obj = loads_line(raw)
                rid = obj.get("recordId")
                if isinstance(rid, str) and (wanted is None or rid in wanted):
                    yield rid, obj.get("modelInput")

    def _sources(self) -> list[OutputSource]:
        state = self._require_state()
        if not self._last and self.job_arns:
            self._poll()
        sources = []
        for run in state["runs"]:
            if run["kind"] == "batch" and run.get("job_arn"):
                desc = self._last.get(run["job_arn"])
                expected = (
                    tuple(f"part-{s['index']:05d}.jsonl.out" for s in run["shards"])
                    if run.get("shards")
                    else ()
                )
                sources.append(
                    OutputSource(
                        state["output_uri"],
                        run["job_arn"],
                        run["attempt"],
                        expected,
                        desc.status if desc else None,
                        run.get("records"),
                    )
                )
            elif run["kind"] == "on_demand" and run["done"]:
                sources.append(
                    OutputSource(
                        str(S3Uri.parse(run["input"]).join(ONDEMAND_OUT)),
                        None,
                        run["attempt"],
                        records=run.get("records"),
                    )
                )
        return sources

    def results(self) -> Results:
        """Every input record exactly once, joined by recordId (an iterable; streams from S3).

        Where records were retried, each record's latest attempt with an output wins;
        ``results().history(record_id)`` shows every attempt.
        """
        return Results(
            s3=self._clients.s3,
            sources=self._sources(),
            index=self._load_index(),
            read_inputs=self._iter_inputs,
            bucket_owner=self.bucket_owner,
        )

    def summary(self) -> Summary:
        """Counts by status, tokens and cost, reconciled with each manifest and job's counters."""
        status = self.describe()
        results = self.results()
        for _ in results:
            pass
        counters = {
            arn: {
                "totalRecordCount": d.total_records,
                "processedRecordCount": d.processed_records,
                "successRecordCount": d.succeeded_records,
                "errorRecordCount": d.errored_records,
            }
            for arn, d in self._last.items()
        }
        price = price_for(self.model_id, self.prices)
        cost = None
        if price is not None:
            cost = sum(
                price.cost(own.usage, batch=not src.is_file)
                for src, own in zip(results.sources, results.per_source, strict=True)
            )
        return reconcile(results, status.status, counters, len(self._load_index()), cost_usd=cost)

    def run(self, *, progress: bool = False, timeout: float | None = None) -> Results:
        """submit(), wait() and return results() — the whole batch in one call."""
        self.submit()
        self.wait(progress=progress, timeout=timeout)
        return self.results()

    # -- retries ---------------------------------------------------------------------------

    def retry(
        self,
        *,
        statuses: Sequence[str] = ("errored", "missing"),
        retryable_only: bool = False,
        record_ids: Iterable[str] | None = None,
        mode: Mode | None = None,
    ) -> int:
        """Run failed records again; returns how many. Call :meth:`wait` afterwards.

        By default every errored and missing record is retried; ``retryable_only`` keeps the
        errors Bedrock marked retryable (and the missing ones); ``record_ids`` narrows further.
        Enough records for the model's minimum become a follow-up batch job; fewer run on
        demand through bedrock-runtime right away (``mode`` overrides, as for the constructor).
        Results merge: each record's latest attempt wins.
        """
        state = self._require_state()
        current = self.describe()
        if not current.is_terminal:
            raise StateError("wait() for the running jobs before retrying")
        wanted = set(record_ids) if record_ids is not None else None
        targets: set[str] = set()
        for r in self.results():
            if r.status not in statuses or (wanted is not None and r.record_id not in wanted):
                continue
            if retryable_only and r.status == "errored" and not (r.error and r.error.retryable):
                continue
            targets.add(r.record_id)
        if not targets:
            return 0
        attempt = 1 + max(run["attempt"] for run in state["runs"])
        digest = hashlib.sha256("\n".join(sorted(targets)).encode()).hexdigest()[:16]
        sizes: list[int] = []
        for rid, body in self._iter_inputs(targets):
            sizes.append(len(dumps_line({"recordId": rid, "modelInput": body})))
        self._put_lines(
            iter(["\n".join(sorted(targets)).encode()]), self._targets_uri(digest)
        )  # intent first
        use_mode = mode or self.mode
        minimum = int(state.get("min_records_per_job") or 100)
        root = S3Uri.parse(state["input_uri"])
        cid = state["content_id"]
        if use_mode != "on_demand" and len(targets) >= minimum:
            quotas, _ = self._resolve_quotas()
            parts = plan_parts(
                sizes,
                max_records_per_job=quotas.max_records_per_job,
                max_job_bytes=quotas.max_job_bytes,
                max_records_per_file=quotas.max_records_per_file,
                max_file_bytes=quotas.max_file_bytes,
            )
            for p in self._part_plans(cid, parts, attempt, root):
                state["runs"].append(
                    {
                        "run": p.run,
                        "attempt": attempt,
                        "kind": "batch",
                        "name": p.job_name,
                        "token": f"{p.client_request_token}{digest}",
                        "input": p.input_uri,
                        "records": p.records,
                        "shards": [
                            {"index": s.index, "start": s.start, "end": s.end, "size": s.size}
                            for s in p.shards
                        ],
                        "job_arn": None,
                        "uploaded": False,
                        "done": False,
                        "targets": digest,
                    }
                )
            self._save_state()
            self._create_pending(self._poll())
        else:
            if use_mode == "batch":
                raise QuotaError(
                    f"{len(targets)} records to retry is below the minimum of {minimum} per batch job; use mode='auto'",
                    quota="min_records_per_job",
                    limit=minimum,
                )
            run = {
                "run": f"a{attempt:02d}od",
                "attempt": attempt,
                "kind": "on_demand",
                "name": "",
                "token": "",
                "input": str(root.join(cid, "runs", f"a{attempt:02d}od")) + "/",
                "records": len(targets),
                "shards": [{"index": 0, "start": 0, "end": len(targets), "size": sum(sizes)}],
                "job_arn": None,
                "uploaded": False,
                "done": False,
                "targets": digest,
            }
            state["runs"].append(run)
            self._save_state()
            self._run_on_demand(run, self._target_lines(targets))
        log.info("retrying %d records (attempt %d)", len(targets), attempt)
        return len(targets)

    def _target_lines(self, targets: set[str]) -> Iterator[bytes]:
        for rid, body in self._iter_inputs(targets):
            yield dumps_line({"recordId": rid, "modelInput": body})

    def _retry_lines(self, run: dict[str, Any]) -> Iterator[bytes]:
        """The input lines of one retry run, rebuilt from the first submission's inputs."""
        lines = self._target_lines(self._targets_for(run))
        for _ in range(run["shards"][0]["start"]):
            next(lines)
        return lines

    def _targets_uri(self, digest: str) -> S3Uri:
        state = self._require_state()
        return S3Uri.parse(state["input_uri"]).join(
            state["content_id"], "runs", f"targets-{digest}.txt"
        )

    def _targets_for(self, run: dict[str, Any]) -> set[str]:
        uri = self._targets_uri(run["targets"])
        body = self._clients.s3.get_object(Bucket=uri.bucket, Key=uri.key, **self._s3_extra)[
            "Body"
        ].read()
        return set(body.decode().split())

    # -- attach ----------------------------------------------------------------------------

    @classmethod
    def attach(
        cls,
        job_arn: str,
        *,
        session: boto3.Session | None = None,
        bedrock_client: BedrockClient | None = None,
        s3_client: S3Client | None = None,
        runtime_client: BedrockRuntimeClient | None = None,
        quotas_client: ServiceQuotasClient | None = None,
        poll: PollConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> BatchJob:
        """Pick up a submitted batch from any of its job ARNs, in any process or machine.

        The batch's parameters, jobs and input index are read back from the state ``submit()``
        wrote beside the inputs; a job not created by ``bedrock_batch`` is indexed from its
        inputs.
        """
        clients = Clients(
            session=session,
            bedrock=bedrock_client,
            s3=s3_client,
            runtime=runtime_client,
            quotas=quotas_client,
        )
        desc = _lifecycle.describe(clients.bedrock, job_arn)
        job = cls(
            desc.model_id,
            desc.role_arn,
            desc.input_uri,
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
        folder = desc.input_uri.rstrip("/")
        state = None
        if folder.count("/") > 4 and folder.rsplit("/", 2)[-2] == "runs":
            base = folder.rsplit("/", 2)[0]
            try:
                state = job._read_json(S3Uri.parse(base + "/" + STATE_NAME))
            except ValueError:
                state = None
        if state is not None and any(
            r.get("job_arn") == desc.job_arn for r in state.get("runs", [])
        ):
            job.input_uri = state["input_uri"]
            job.bucket_owner = state.get("bucket_owner")
            job.mode = state.get("mode", "auto")
            job._state = state
        else:
            job._state = {
                "format": STATE_FORMAT,
                "content_id": "",
                "input_uri": desc.input_uri,
                "output_uri": desc.output_uri,
                "job_name": desc.job_name,
                "index": None,
                "max_concurrent_jobs": 20,
                "min_records_per_job": 100,
                "runs": [
                    {
                        "run": "p000",
                        "attempt": 0,
                        "kind": "batch",
                        "name": desc.job_name,
                        "token": desc.client_request_token,
                        "input": desc.input_uri,
                        "records": desc.total_records,
                        "shards": None,
                        "job_arn": desc.job_arn,
                        "uploaded": True,
                        "done": False,
                    }
                ],
            }
        job._last = {desc.job_arn: desc}
        return job

    def __repr__(self) -> str:
        arn = f" {self.job_arn}" if self.job_arn else ""
        return f"<BatchJob{arn} model={self.model_id} records={len(self._store)}>"

    def _repr_html_(self) -> str:
        import html

        rows = [
            ("model", self.model_id),
            ("records", str(len(self._store))),
            ("jobs", ", ".join(self.job_arns) or "not submitted"),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table>{cells}</table>"

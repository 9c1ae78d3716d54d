"""Reading and writing a batch's ledger: the stored format, the conversion of older formats,
and :class:`LedgerStore`, the only code that writes a ledger.

Format ``bedrock-batch/5`` is the attrs classes of :mod:`._ledger` as JSON; it adds the batch's
fan-out (records answered without being sent: ``dedupe=``, ``reuse=``), and a ledger without one
is still written as ``bedrock-batch/4``, which older versions read. Reading is strict:
a malformed field, an unknown phase or an unknown format is a :class:`LedgerError` naming the
object, never a silent default. Older formats are converted on read: ``bedrock-batch/3`` (before
fenced on-demand claims: its runs get the default ``claim_ttl``) and ``bedrock-batch/2``
(version 0.1). A newer format is refused (:func:`format_version`): a version that does not know
what a newer one stores would ignore it — a format-3 reader would judge format-4 claims, which
carry no local time, expired at once, and a format-4 reader would read the records a format-5
batch answered without sending as unknown.

Writes are conditional: ``IfNoneMatch="*"`` creates a ledger, ``IfMatch`` the version read
replaces it. A concurrent writer makes the write fail; the pending transitions are then
re-applied to the newer ledger (and may find there is nothing left to do: a batch another
process stopped creates nothing more). A write that fails for any other reason leaves the
ledger *dirty*: it is written again before anything else.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import attrs

from .._batch._quotas import Quotas
from .._batch._sharding import Shard
from .._batch._spec import JobSpec, VpcConfig
from .._common import _bedrock
from .._common._bedrock import JobDescription
from .._common._clients import Clients
from .._common._codec import decode, encode
from .._common._s3 import PreconditionFailed, S3Access
from .._common._s3uri import S3Uri
from .._errors import LedgerError, StateError
from ._ledger import (
    JOB_TRANSITIONS,
    ON_DEMAND_CLAIM_TTL,
    RUN_TRANSITIONS,
    Attempt,
    Change,
    FanOut,
    JobEntry,
    JobPhase,
    Ledger,
    OnDemandEntry,
    ledger_uri_for,
)

__all__ = [
    "LEDGER_FORMAT",
    "LEDGER_VERSION",
    "PLAIN_FORMAT",
    "LedgerStore",
    "check_against_bedrock",
    "confine",
    "dump",
    "format_version",
    "parse",
]

log = logging.getLogger("bedrock_batch")

#: The format this version writes (and the newest it reads).
LEDGER_VERSION = 5
LEDGER_FORMAT = f"bedrock-batch/{LEDGER_VERSION}"
#: The format of a ledger with nothing format 5 added (no fan-out): older versions read it.
PLAIN_FORMAT = "bedrock-batch/4"
LEGACY_FORMAT = "bedrock-batch/2"
_OLDEST = 2
_PREFIX = "bedrock-batch/"


def dump(ledger: Ledger) -> bytes:
    """The stored form of a ledger (JSON)."""
    data = attrs.asdict(ledger)
    data.pop("migrated_from", None)
    for attempt in data["attempts"]:
        for job in attempt["jobs"]:
            if job.get("creating_at") is None:
                job.pop("creating_at", None)  # only entries being created carry it
    if data.get("fanout") is None:
        data.pop("fanout", None)  # nothing format 5 added: written as format 4
    data["format"] = LEDGER_FORMAT if ledger.fanout is not None else PLAIN_FORMAT
    return encode(data)


def format_version(fmt: Any, uri: str, *, newest: int = LEDGER_VERSION) -> int:
    """The version of a stored ledger's ``format``; :class:`LedgerError` when this version
    cannot read it: written by a newer bedrock_batch (above ``newest``), or not a ledger."""
    number = fmt[len(_PREFIX) :] if isinstance(fmt, str) and fmt.startswith(_PREFIX) else ""
    if not number.isdigit() or int(number) < _OLDEST:
        raise LedgerError(
            uri,
            f"unknown format {fmt!r} (this version reads {_PREFIX}{_OLDEST} to {_PREFIX}{newest})",
        )
    if int(number) > newest:
        raise LedgerError(
            uri,
            f"it was written by a newer bedrock_batch (format {fmt}; this version reads up to "
            f"{_PREFIX}{newest}): upgrade bedrock_batch to carry this batch on",
        )
    return int(number)


def parse(data: Any, uri: str) -> Ledger:
    """Read a stored ledger (any format this version reads); :class:`LedgerError` names the
    object."""
    if not isinstance(data, dict):
        raise LedgerError(uri, "it is not a JSON object")
    fmt = data.get("format")
    version = format_version(fmt, uri)
    try:
        if version == 2:
            return _from_v2(data)
        return _structure_ledger(data, version)
    except (KeyError, TypeError, ValueError) as err:
        raise LedgerError(uri, f"its {fmt} content is malformed ({err!r})") from err


# -- structuring (strict: a malformed field is a LedgerError, never a silent default) ---------


def _files(items: Any) -> tuple[Shard, ...]:
    return tuple(
        Shard(int(f["index"]), int(f["start"]), int(f["end"]), int(f["size"])) for f in items
    )


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"expected a string, not {value!r}")
    return value


def _phase(value: Any, table: dict[str, frozenset[str]]) -> Any:
    if value not in table:
        raise ValueError(f"unknown phase {value!r}")
    return value


def _structure_ledger(d: dict[str, Any], version: int) -> Ledger:
    s = d["spec"]
    vpc = s.get("vpc")
    spec = JobSpec(
        model_id=str(s["model_id"]),
        role_arn=str(s["role_arn"]),
        input_root=str(s["input_root"]),
        output_uri=str(s["output_uri"]),
        invocation_type=str(s["invocation_type"]),
        job_name=s.get("job_name"),
        timeout_hours=s.get("timeout_hours"),
        tags=tuple((str(k), str(v)) for k, v in s.get("tags") or ()),
        vpc=VpcConfig(tuple(vpc["subnet_ids"]), tuple(vpc["security_group_ids"])) if vpc else None,
        kms_key_id=s.get("kms_key_id"),
        bucket_owner=s.get("bucket_owner"),
        max_records_per_file=s.get("max_records_per_file"),
        max_bytes_per_file=s.get("max_bytes_per_file"),
    )
    attempts = []
    for a in d["attempts"]:
        jobs = tuple(
            JobEntry(
                part=str(j["part"]),
                name=str(j["name"]),
                token=str(j["token"]),
                input_uri=str(j["input_uri"]),
                records=int(j["records"]),
                size=int(j["size"]),
                files=_files(j["files"]),
                phase=_phase(j["phase"], JOB_TRANSITIONS),
                job_arn=j.get("job_arn"),
                superseded=bool(j.get("superseded", False)),
                creating_at=_opt_str(j.get("creating_at")),
            )
            for j in a["jobs"]
        )
        od = a.get("on_demand")
        run = (
            OnDemandEntry(
                part=str(od["part"]),
                input_uri=str(od["input_uri"]),
                records=int(od["records"]),
                size=int(od["size"]),
                files=_files(od["files"]),
                slice_size=int(od["slice_size"]),
                phase=_phase(od["phase"], RUN_TRANSITIONS),
                legacy_output=od.get("legacy_output"),
                # Format 3 stored no TTL: its runs get the one it used.
                claim_ttl=float(od["claim_ttl"]) if version >= 4 else ON_DEMAND_CLAIM_TTL,
            )
            if od
            else None
        )
        attempts.append(Attempt(int(a["number"]), int(a["records"]), a.get("targets"), jobs, run))
    phase = d.get("phase", "active")
    if phase not in ("active", "stopped"):
        raise ValueError(f"unknown batch phase {phase!r}")
    return Ledger(
        batch_id=str(d["batch_id"]),
        identity=str(d["identity"]),
        spec=spec,
        mode=str(d["mode"]),
        quotas=Quotas(**d["quotas"]),
        quota_source=str(d["quota_source"]),
        records=int(d["records"]),
        size=int(d["size"]),
        attempts=tuple(attempts),
        phase=phase,
        revision=int(d.get("revision", 0)),
        created_at=str(d.get("created_at", "")),
        rejected=int(d.get("rejected", 0)),
        fanout=_fanout(d.get("fanout")) if version >= 5 else None,
    )


def _fanout(f: Any) -> FanOut | None:
    if f is None:
        return None
    counts = (int(f["records"]), int(f["deduplicated"]), int(f["reused"]))
    if min(counts) < 0 or counts[0] != counts[1] + counts[2]:
        raise ValueError(f"inconsistent fan-out counts {counts}")
    return FanOut(*counts, cache=_opt_str(f.get("cache")))


def _from_v2(d: dict[str, Any]) -> Ledger:
    """Convert a ledger of version 0.1 (format ``bedrock-batch/2``)."""
    spec = JobSpec(
        model_id=str(d["model_id"]),
        role_arn=str(d["role_arn"]),
        input_root=str(d["input_uri"]),
        output_uri=str(d["output_uri"]),
        invocation_type=str(d.get("invocation_type") or "InvokeModel"),
        job_name=d.get("job_name"),
        bucket_owner=d.get("bucket_owner"),
    )
    by_attempt: dict[int, list[dict[str, Any]]] = {}
    for run in d["runs"]:
        by_attempt.setdefault(int(run["attempt"]), []).append(run)
    attempts = []
    for number in sorted(by_attempt):
        runs = by_attempt[number]
        jobs: list[JobEntry] = []
        od: OnDemandEntry | None = None
        targets = None
        for run in runs:
            files = _files(run.get("shards") or ())
            size = sum(f.size for f in files)
            if run.get("targets"):
                targets = f"runs/targets-{run['targets']}.txt"
            if run["kind"] == "on_demand":
                done = bool(run.get("done"))
                od = OnDemandEntry(
                    part=str(run["run"]),
                    input_uri=str(run["input"]),
                    records=int(run["records"]),
                    size=size,
                    files=files,
                    phase="done" if done else ("uploaded" if run.get("uploaded") else "planned"),
                    legacy_output="ondemand.jsonl.out",
                )
                continue
            phase: JobPhase = "planned"
            if run["kind"] == "cancelled":
                phase = "cancelled"
            elif run.get("job_arn"):
                phase = "created"
            elif run.get("uploaded"):
                phase = "uploaded"
            jobs.append(
                JobEntry(
                    part=str(run["run"]),
                    name=str(run["name"]),
                    token=str(run["token"]),
                    input_uri=str(run["input"]),
                    records=int(run["records"] or 0),
                    size=size,
                    files=files,
                    phase=phase,
                    job_arn=run.get("job_arn"),
                )
            )
        records = sum(j.records for j in jobs) + (od.records if od else 0)
        attempts.append(Attempt(number, records, targets, tuple(jobs), od))
    quotas = Quotas(
        min_records_per_job=int(d.get("min_records_per_job") or 100),
        max_concurrent_jobs=int(d.get("max_concurrent_jobs") or 20),
    )
    mode = "on_demand" if attempts and attempts[0].on_demand is not None else "batch"
    return Ledger(
        batch_id=str(d["content_id"]),
        identity=str(d["content_id"]),
        spec=spec,
        mode=mode,
        quotas=quotas,
        quota_source=LEGACY_FORMAT,
        records=int(d["records"]),
        size=int(d.get("bytes") or 0),
        attempts=tuple(attempts),
        migrated_from=LEGACY_FORMAT,
    )


_MAX_RACES = 20


def _described(
    clients: Clients, ledger: Ledger, known: JobDescription | None
) -> list[JobDescription]:
    """What Bedrock says of every job the ledger created (``known`` is not asked again)."""
    out = [known] if known is not None else []
    for arn in dict.fromkeys(ledger.job_arns):
        if known is None or arn != known.job_arn:
            out.append(_bedrock.describe(clients.bedrock, arn))
    return out


def _folder(uri: str) -> str:
    """An S3 URI as a folder: ending in exactly one ``/``."""
    return uri.rstrip("/") + "/"


def _trusted(spec: JobSpec) -> tuple[Any, ...]:
    """The parameters of a batch that say where it reads, writes and under which role: fixed
    when the batch is created (its content id is made from them), never changed after."""
    return (
        spec.model_id, spec.role_arn, _folder(spec.input_root), _folder(spec.output_uri),
        spec.invocation_type, spec.bucket_owner, spec.kms_key_id,
    )  # fmt: skip


def confine(ledger: Ledger, uri: S3Uri) -> None:
    """:class:`LedgerError` unless the ledger is confined to its batch's prefix: it lies at
    ``{input}{batch id}/`` of its own spec, and every job's and run's input is under it.

    Anyone who can write the input bucket can edit a ledger; a ledger that names inputs outside
    its own folder would make this library read or send data of another batch (or bucket)."""
    folder = S3Uri(uri.bucket, uri.key.rsplit("/", 1)[0] if "/" in uri.key else "").prefix
    here = f"s3://{uri.bucket}/{folder}"
    try:
        own = _folder(str(ledger.spec.root.join(ledger.batch_id)))
    except ValueError as err:
        raise LedgerError(str(uri), f"its input root is not an S3 URI ({err})") from None
    if own != here:
        raise LedgerError(
            str(uri),
            f"it describes the batch at {own} but lies at {here}: was it copied or edited?",
        )
    for _, job in ledger.jobs():
        if not _folder(job.input_uri).startswith(here):
            raise LedgerError(str(uri), f"job {job.part}'s input {job.input_uri} is outside {here}")
    for _, run in ledger.runs():
        if not _folder(run.input_uri).startswith(here):
            raise LedgerError(str(uri), f"run {run.part}'s input {run.input_uri} is outside {here}")


def check_against_bedrock(ledger: Ledger, uri: S3Uri, described: list[JobDescription]) -> None:
    """:class:`LedgerError` when what Bedrock says of the ledger's jobs (``described``) is not
    what the ledger says: each job's input, and the batch's output and role."""
    inputs = {job.job_arn: job.input_uri for _, job in ledger.jobs() if job.job_arn}
    spec = ledger.spec
    for desc in described:
        if desc.job_arn not in inputs:
            continue
        wrong = []
        if _folder(desc.input_uri) != _folder(inputs[desc.job_arn]):
            wrong.append(f"input {desc.input_uri} (the ledger says {inputs[desc.job_arn]})")
        if _folder(desc.output_uri) != _folder(spec.output_uri):
            wrong.append(f"output {desc.output_uri} (the ledger says {spec.output_uri})")
        if desc.role_arn and desc.role_arn != spec.role_arn:
            wrong.append(f"role {desc.role_arn} (the ledger says {spec.role_arn})")
        if wrong:
            raise LedgerError(
                str(uri),
                f"Bedrock's job {desc.job_arn} has " + ", ".join(wrong) + ": the ledger was edited",
            )


class LedgerStore:
    """Reads and writes one batch's ledger; the only code that writes it.

    ``ledger`` is the in-memory copy. After any method that returned normally it equals what
    is stored in S3; after one that raised it may be *dirty* (newer than S3), and the next
    :meth:`sync` or :meth:`transition` stores it first.
    """

    def __init__(self, s3: S3Access, uri: S3Uri, *, persistent: bool = True) -> None:
        self.s3 = s3
        self.uri = uri
        #: False for a job this library did not create: its ledger lives in memory only.
        self.persistent = persistent
        self.ledger: Ledger | None = None
        self._etag: str | None = None
        self._pending: list[Change] = []
        #: The trusted job parameters (:func:`_trusted`) of the first ledger read or written.
        self._spec: tuple[Any, ...] | None = None
        #: Ledger writes made (benchmarks and tests read it).
        self.writes = 0

    @property
    def dirty(self) -> bool:
        """True when the in-memory ledger has changes S3 does not have yet."""
        return bool(self._pending)

    def load(self) -> Ledger | None:
        """Read the stored ledger (None when there is none); forgets unsaved changes."""
        found = self.s3.get(self.uri)
        if found is None:
            return None
        raw, etag = found
        try:
            data = decode(raw)
        except ValueError as err:
            raise LedgerError(str(self.uri), f"it is not valid JSON ({err})") from err
        ledger = parse(data, str(self.uri))
        confine(ledger, self.uri)
        if self._spec is not None and _trusted(ledger.spec) != self._spec:
            raise LedgerError(
                str(self.uri),
                "its job parameters (model, role, input, output, ...) changed since it was "
                "first read: the ledger was edited",
            )
        self._spec = _trusted(ledger.spec)
        self.ledger = ledger
        self._etag = etag
        self._pending = []
        return self.ledger

    def create(self, ledger: Ledger) -> Ledger:
        """Store a new batch's ledger (create-only). If another process stored one first,
        that one wins and is returned."""
        stamped = attrs.evolve(
            ledger, revision=1, created_at=dt.datetime.now(dt.timezone.utc).isoformat()
        )
        try:
            self._etag = self.s3.put(
                self.uri, dump(stamped), content_type="application/json", if_none_match=True
            )
        except PreconditionFailed:
            existing = self.load()
            if existing is None:  # pragma: no cover - deleted between the two calls
                raise StateError(f"{self.uri} vanished while being created") from None
            return existing
        self.writes += 1
        self.ledger = stamped
        self._spec = _trusted(stamped.spec)
        self._pending = []
        return stamped

    @classmethod
    def open(
        cls, s3: S3Access, uri: S3Uri, new: Callable[[], Ledger], *, legacy: S3Uri
    ) -> LedgerStore:
        """The store of a planned batch: its ledger if there is one (ours at ``uri``, or the one
        version 0.1 wrote for the same records at ``legacy``), else the ``new`` ledger, stored
        before anything acts on it."""
        store = cls(s3, uri)
        if store.load() is None:
            old = cls(s3, legacy)
            if old.load() is not None:
                store = old
        planned = new()
        if store.ledger is not None:
            if _trusted(store.ledger.spec) != _trusted(planned.spec):
                raise LedgerError(
                    str(store.uri),
                    "its job parameters (model, role, input, output, ...) are not this batch's, "
                    "although its records are: the ledger was edited",
                )
            log.info("resuming batch %s (quotas from %s)", store.uri, store.ledger.quota_source)
            return store
        store.create(planned)
        return store

    @classmethod
    def for_handle(
        cls, handle: str, clients: Clients, *, bucket_owner: str | None
    ) -> tuple[LedgerStore, JobDescription | None]:
        """The store of a submitted batch, from one of its job ARNs or its ledger's URI; a job
        this library did not create gets an in-memory ledger (never stored)."""
        desc = None if handle.startswith("s3://") else _bedrock.describe(clients.bedrock, handle)
        owner = bucket_owner or (desc.bucket_owner if desc else None)
        s3 = S3Access(clients.s3, bucket_owner=owner)
        uri = S3Uri.parse(handle) if desc is None else ledger_uri_for(desc.input_uri)
        store = cls(s3, uri)
        ledger = store.load()
        if desc is None and ledger is None:
            raise StateError(f"there is no batch ledger at {handle}")
        if desc is not None and (ledger is None or desc.job_arn not in ledger.job_arns):
            store = cls(s3, uri, persistent=False)
            store.adopt(Ledger.for_foreign_job(desc))
        else:
            assert ledger is not None
            check_against_bedrock(ledger, uri, _described(clients, ledger, desc))
            if desc is not None and ledger.migrated_from:
                store.adopt(ledger.with_job_parameters(desc))
        return store, desc

    def adopt(self, ledger: Ledger) -> None:
        """Use a ledger read elsewhere (a converted legacy one): written on the next change."""
        self.ledger = ledger

    def sync(self) -> Ledger:
        """Store unsaved changes (re-applied on top of any newer ledger); returns the ledger."""
        if self.ledger is None:
            raise StateError("the batch has not been submitted yet")
        if self._pending:
            self._store()
        return self.ledger

    def refresh(self) -> Ledger:
        """Store unsaved changes, then read the latest ledger (another process may have
        stopped or retried the batch)."""
        self.sync()
        if not self.persistent:
            return self.ledger  # type: ignore[return-value]
        latest = self.load()
        if latest is None:
            raise StateError(f"the batch ledger {self.uri} was deleted")
        return latest

    def transition(self, change: Change) -> Ledger:
        """Apply ``change`` and store the result before returning it (write-ahead).

        ``change`` gets the latest ledger and returns the new one, or None when there is
        nothing (left) to do. It may run more than once: when another process wrote first, it
        is re-applied to that process's ledger.
        """
        if self.ledger is None:
            raise StateError("the batch has not been submitted yet")
        new = change(self.ledger)
        if new is None:
            self.sync()
            return self.ledger
        self.ledger = new
        if not self.persistent:
            return new
        self._pending.append(change)
        self._store()
        return self.ledger

    def _store(self) -> None:
        assert self.ledger is not None
        for _ in range(_MAX_RACES):
            ledger = attrs.evolve(self.ledger, revision=self.ledger.revision + 1)
            try:
                if self._etag is None:
                    etag = self.s3.put(
                        self.uri, dump(ledger), content_type="application/json",
                        if_none_match=ledger.migrated_from is None,
                    )  # fmt: skip
                else:
                    etag = self.s3.put(
                        self.uri, dump(ledger), content_type="application/json",
                        if_match=self._etag,
                    )  # fmt: skip
            except PreconditionFailed:
                self._rebase()
                if not self._pending:
                    return
                continue
            self.writes += 1
            self._etag = etag
            self.ledger = attrs.evolve(ledger, migrated_from=None)
            self._pending = []
            return
        raise StateError(f"{self.uri} kept changing under us ({_MAX_RACES} concurrent writes)")

    def _rebase(self) -> None:
        """Another process wrote first: re-apply our pending changes to its ledger."""
        pending = self._pending
        latest = self.load()
        if latest is None:
            raise StateError(f"the batch ledger {self.uri} was deleted")
        ledger: Ledger = latest
        kept = []
        for change in pending:
            new = change(ledger)
            if new is not None:
                ledger = new
                kept.append(change)
        self.ledger = ledger
        self._pending = kept
        if not kept:
            log.debug("ledger %s: our change was no longer needed", self.uri)

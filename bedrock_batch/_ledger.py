"""The batch's ledger: its typed state, persisted to S3 *before* each action it announces.

The ledger lives at ``{input}{content id}/bedrock-batch.json`` beside the batch's inputs. It is
the only state of a batch: any process, on any machine, can read it and carry the batch on.

Shape (format ``bedrock-batch/3``)::

    Ledger            one batch: spec, quotas, the mode that applies, phase active|stopped
    └── Attempt       the first submission (0) or a retry (n): which records, and
        ├── JobEntry      one Bedrock job: planned → uploaded → creating → created
        └── OnDemandEntry the records answered through bedrock-runtime: planned → uploaded →
                          running → done

Every change is a transition (:data:`JOB_TRANSITIONS`, :data:`RUN_TRANSITIONS`) applied by
one method, :meth:`LedgerStore.transition`, which writes the new ledger with a conditional
write (``IfMatch`` the version it read) before the caller acts on it. A concurrent writer makes
the write fail; the transition is then re-applied to the newer ledger (and may find there is
nothing left to do: a batch another process stopped creates nothing more). A write that fails
for any other reason leaves the ledger *dirty*: it is written again before anything else.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

import attrs

from ._bedrock import JobDescription
from ._codec import decode, encode
from ._errors import LedgerError, StateError
from ._quotas import Quotas
from ._s3 import PreconditionFailed, S3Access
from ._s3uri import S3Uri
from ._sharding import Shard
from ._spec import JobSpec, VpcConfig

__all__ = [
    "JOB_TRANSITIONS",
    "LEDGER_FORMAT",
    "RUN_TRANSITIONS",
    "Attempt",
    "JobEntry",
    "Ledger",
    "LedgerStore",
    "OnDemandEntry",
    "ledger_uri_for",
    "move_job",
    "move_run",
]

log = logging.getLogger("bedrock_batch")

LEDGER_FORMAT = "bedrock-batch/3"
LEGACY_FORMAT = "bedrock-batch/2"
LEDGER_NAME = "bedrock-batch.json"
INDEX_NAME = "index.jsonl"

JobPhase = Literal["planned", "uploaded", "creating", "created", "cancelled"]
RunPhase = Literal["planned", "uploaded", "running", "done", "cancelled"]
BatchPhase = Literal["active", "stopped"]

#: Which phase a Bedrock job's entry may move to from each phase. ``creating`` is written
#: before CreateModelInvocationJob is called; ``created`` records the ARN it returned.
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"uploaded", "cancelled"}),
    "uploaded": frozenset({"creating", "cancelled"}),
    "creating": frozenset({"created", "uploaded", "cancelled"}),
    "created": frozenset(),
    "cancelled": frozenset(),
}
#: The same for an on-demand run (its records answered through bedrock-runtime).
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"uploaded", "cancelled"}),
    "uploaded": frozenset({"running", "cancelled"}),
    "running": frozenset({"done", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}


@attrs.frozen
class JobEntry:
    """One Bedrock job of an attempt."""

    part: str
    name: str
    token: str
    input_uri: str
    records: int
    size: int
    files: tuple[Shard, ...]
    phase: JobPhase = "planned"
    job_arn: str | None = None
    #: Every record this job left unanswered was given to a later attempt.
    superseded: bool = False

    @property
    def start(self) -> int:
        """First record (in its attempt's order)."""
        return self.files[0].start if self.files else 0

    @property
    def end(self) -> int:
        """One past the last record."""
        return self.files[-1].end if self.files else 0


@attrs.frozen
class OnDemandEntry:
    """The records of an attempt answered through bedrock-runtime, slice by slice."""

    part: str
    input_uri: str
    records: int
    size: int
    files: tuple[Shard, ...]
    slice_size: int = 50
    phase: RunPhase = "planned"
    #: Version 0.1 wrote all answers to one file; its name, for batches it submitted.
    legacy_output: str | None = None

    @property
    def slices(self) -> int:
        """How many claimable slices the records make."""
        return -(-self.records // self.slice_size) if self.records else 0


@attrs.frozen
class Attempt:
    """The first submission (``number`` 0) or a retry: which records, run how."""

    number: int
    records: int
    #: The retried record ids, in this attempt's order (a key under the batch folder);
    #: None for the first submission, whose order is the index's.
    targets: str | None = None
    jobs: tuple[JobEntry, ...] = ()
    on_demand: OnDemandEntry | None = None


@attrs.frozen
class Ledger:
    """Everything a batch is and has done (see the module docstring)."""

    batch_id: str
    identity: str
    spec: JobSpec
    mode: str
    quotas: Quotas
    quota_source: str
    records: int
    size: int
    attempts: tuple[Attempt, ...]
    phase: BatchPhase = "active"
    revision: int = 0
    created_at: str = ""
    format: str = LEDGER_FORMAT
    #: The format this ledger was read from, when it was converted (``bedrock-batch/2``).
    migrated_from: str | None = None

    # -- queries -----------------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """True once someone stopped the batch (nothing more is created until a retry)."""
        return self.phase == "stopped"

    def jobs(self) -> Iterator[tuple[Attempt, JobEntry]]:
        """Every Bedrock job entry, oldest attempt first."""
        for attempt in self.attempts:
            for job in attempt.jobs:
                yield attempt, job

    def runs(self) -> Iterator[tuple[Attempt, OnDemandEntry]]:
        """Every on-demand entry, oldest attempt first."""
        for attempt in self.attempts:
            if attempt.on_demand is not None:
                yield attempt, attempt.on_demand

    @property
    def job_arns(self) -> list[str]:
        """ARNs of every job created so far."""
        return [j.job_arn for _, j in self.jobs() if j.job_arn]

    def find_job(self, part: str) -> JobEntry:
        """The job entry of a part name."""
        for _, job in self.jobs():
            if job.part == part:
                return job
        raise KeyError(part)

    def find_run(self, part: str) -> OnDemandEntry:
        """The on-demand entry of a part name."""
        for _, run in self.runs():
            if run.part == part:
                return run
        raise KeyError(part)

    # -- transitions (pure: each returns a new ledger) ------------------------------------

    def with_job(self, part: str, **changes: Any) -> Ledger:
        """The ledger with one job entry changed (phase changes follow JOB_TRANSITIONS)."""
        return self._replace_entry(part, changes, on_demand=False)

    def with_run(self, part: str, **changes: Any) -> Ledger:
        """The ledger with one on-demand entry changed (phases follow RUN_TRANSITIONS)."""
        return self._replace_entry(part, changes, on_demand=True)

    def _replace_entry(self, part: str, changes: dict[str, Any], *, on_demand: bool) -> Ledger:
        def job(entry: JobEntry) -> JobEntry:
            if on_demand or entry.part != part:
                return entry
            _check_phase(JOB_TRANSITIONS, entry.phase, changes, part)
            return attrs.evolve(entry, **changes)

        def run(entry: OnDemandEntry | None) -> OnDemandEntry | None:
            if not on_demand or entry is None or entry.part != part:
                return entry
            _check_phase(RUN_TRANSITIONS, entry.phase, changes, part)
            return attrs.evolve(entry, **changes)

        attempts = tuple(
            attrs.evolve(a, jobs=tuple(job(j) for j in a.jobs), on_demand=run(a.on_demand))
            for a in self.attempts
        )
        if attempts == self.attempts and not self._has(part, on_demand=on_demand):
            raise KeyError(part)
        return attrs.evolve(self, attempts=attempts)

    def _has(self, part: str, *, on_demand: bool) -> bool:
        if on_demand:
            return any(r.part == part for _, r in self.runs())
        return any(j.part == part for _, j in self.jobs())

    def with_attempt(self, attempt: Attempt, superseded: frozenset[str] = frozenset()) -> Ledger:
        """A new attempt (a retry); it re-opens a stopped batch. ``superseded`` names the job
        parts whose unanswered records it takes over."""
        older = tuple(
            attrs.evolve(
                a,
                jobs=tuple(
                    attrs.evolve(j, superseded=True) if j.part in superseded else j for j in a.jobs
                ),
            )
            for a in self.attempts
        )
        return attrs.evolve(self, attempts=(*older, attempt), phase="active")

    def stop(self) -> Ledger:
        """The batch stopped: every job not created and every on-demand run not done is
        cancelled, so no process creates or answers anything more."""
        attempts = []
        for attempt in self.attempts:
            jobs = tuple(
                attrs.evolve(j, phase="cancelled")
                if j.phase in ("planned", "uploaded", "creating")
                else j
                for j in attempt.jobs
            )
            run = attempt.on_demand
            if run is not None and run.phase not in ("done", "cancelled"):
                run = attrs.evolve(run, phase="cancelled")
            attempts.append(attrs.evolve(attempt, jobs=jobs, on_demand=run))
        return attrs.evolve(self, attempts=tuple(attempts), phase="stopped")

    @classmethod
    def for_foreign_job(cls, desc: JobDescription) -> Ledger:
        """An in-memory ledger for a job ``bedrock_batch`` did not create (never stored)."""
        spec = JobSpec(
            desc.model_id,
            desc.role_arn,
            desc.input_uri,
            desc.output_uri,
            desc.invocation_type,
            bucket_owner=desc.bucket_owner,
        )
        records = desc.total_records or 0
        job = JobEntry(
            "p000", desc.job_name, desc.client_request_token or "", desc.input_uri, records, 0,
            (), "created", desc.job_arn,
        )  # fmt: skip
        attempt = Attempt(0, records, None, (job,))
        return cls("", "", spec, "batch", Quotas(), "unknown", records, 0, (attempt,))

    def with_job_parameters(self, desc: JobDescription) -> Ledger:
        """Version 0.1 did not record every job parameter: take them from one of its jobs."""
        vpc = (
            VpcConfig(desc.vpc_subnet_ids, desc.vpc_security_group_ids)
            if desc.vpc_subnet_ids
            else None
        )
        spec = attrs.evolve(
            self.spec, timeout_hours=desc.timeout_hours, kms_key_id=desc.kms_key_id, vpc=vpc
        )
        return attrs.evolve(self, spec=spec)

    # -- wire form ---------------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The stored form (JSON)."""
        data = attrs.asdict(self)
        data.pop("migrated_from", None)
        data["format"] = LEDGER_FORMAT
        return encode(data)

    @classmethod
    def from_json(cls, data: Any, uri: str) -> Ledger:
        """Read a stored ledger (either format); :class:`LedgerError` names the object."""
        if not isinstance(data, dict):
            raise LedgerError(uri, "it is not a JSON object")
        fmt = data.get("format")
        try:
            if fmt == LEDGER_FORMAT:
                return _structure_ledger(data)
            if fmt == LEGACY_FORMAT:
                return _from_v2(data)
        except (KeyError, TypeError, ValueError) as err:
            raise LedgerError(uri, f"its {fmt} content is malformed ({err!r})") from err
        raise LedgerError(
            uri,
            f"unknown format {fmt!r} (this version reads {LEDGER_FORMAT} and {LEGACY_FORMAT}); "
            "a newer bedrock_batch may have written it",
        )


def _check_phase(
    table: dict[str, frozenset[str]], current: str, changes: dict[str, Any], part: str
) -> None:
    new = changes.get("phase")
    if new is not None and new != current and new not in table[current]:
        raise StateError(f"{part}: cannot go from {current} to {new}")


# -- structuring (strict: a malformed field is a LedgerError, never a silent default) ---------

T = TypeVar("T")


def _files(items: Any) -> tuple[Shard, ...]:
    return tuple(
        Shard(int(f["index"]), int(f["start"]), int(f["end"]), int(f["size"])) for f in items
    )


def _phase(value: Any, table: dict[str, frozenset[str]]) -> Any:
    if value not in table:
        raise ValueError(f"unknown phase {value!r}")
    return value


def _structure_ledger(d: dict[str, Any]) -> Ledger:
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
    )


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


Change = Callable[[Ledger], "Ledger | None"]


def move_job(part: str, source: str, target: str) -> Change:
    """A transition moving one job entry from ``source`` to ``target`` (nothing to do when it
    is not in ``source`` any more: another process moved it)."""

    def change(ledger: Ledger) -> Ledger | None:
        if ledger.find_job(part).phase != source:
            return None
        return ledger.with_job(part, phase=target)

    return change


def move_run(part: str, source: str, target: str) -> Change:
    """The same for an on-demand entry."""

    def change(ledger: Ledger) -> Ledger | None:
        if ledger.find_run(part).phase != source:
            return None
        return ledger.with_run(part, phase=target)

    return change


def ledger_uri_for(input_uri: str) -> S3Uri:
    """Where a job's ledger is, from its input folder ``{input}{content id}/runs/{part}/``."""
    folder = input_uri.rstrip("/")
    if folder.count("/") > 4 and folder.rsplit("/", 2)[-2] == "runs":
        return S3Uri.parse(folder.rsplit("/", 2)[0] + "/" + LEDGER_NAME)
    return S3Uri.parse(folder + "/" + LEDGER_NAME)


# -- persistence -------------------------------------------------------------------------------

_MAX_RACES = 20


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
        self.ledger = Ledger.from_json(data, str(self.uri))
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
                self.uri, stamped.to_json(), content_type="application/json", if_none_match=True
            )
        except PreconditionFailed:
            existing = self.load()
            if existing is None:  # pragma: no cover - deleted between the two calls
                raise StateError(f"{self.uri} vanished while being created") from None
            return existing
        self.writes += 1
        self.ledger = stamped
        self._pending = []
        return stamped

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
                        self.uri, ledger.to_json(), content_type="application/json",
                        if_none_match=ledger.migrated_from is None,
                    )  # fmt: skip
                else:
                    etag = self.s3.put(
                        self.uri, ledger.to_json(), content_type="application/json",
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

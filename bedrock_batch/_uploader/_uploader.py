"""The *uploader* part: planning input files and jobs under a model's quotas, and the chunked,
content-addressed upload of those files.

A batch's records are split into as few Bedrock jobs as the per-job quotas allow, each cut into
``.jsonl`` files by records and bytes per file (:mod:`._sharding`). Each file is copied from the
record store and sent by one PutObject up to the single-PUT threshold (64 MiB by default), or
copied to a local file and uploaded by boto3's parallel multipart transfer above it, with its
SHA-256 in the object's metadata: a file already in S3 with the same hash and size is not
uploaded again.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO

import attrs

from .._batch._quotas import Quotas, QuotaSource
from .._batch._sharding import Shard, plan_parts, plan_shards
from .._batch._spec import JobSpec, content_id, identity
from .._catalog import Family, ModelInfo, assumed_model_warnings
from .._common._codec import encode_line
from .._common._display import html_table
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import Problem, QuotaError, StateError, ValidationError
from .._families._outputs import Usage
from .._ledger._ledger import (
    INDEX_NAME,
    LEDGER_NAME,
    ON_DEMAND_SLICE,
    REJECTS_NAME,
    Attempt,
    FanOut,
    JobEntry,
    Ledger,
    OnDemandEntry,
    move_job,
    move_run,
)
from .._ledger._ledgerstore import LedgerStore
from .._pricing import Cost, Price, price_for
from .._records._records import Records
from .._records._store import RecordStore
from ._inputs import InputSource
from ._media import mentions_links, with_linked_content

__all__ = ["PartPlan", "Plan", "Uploader", "ledger_from_plan", "make_plan", "open_ledger"]

log = logging.getLogger("bedrock_batch")


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

    def entry(self) -> JobEntry | OnDemandEntry:
        """The ledger entry this part becomes."""
        if self.kind == "on_demand":
            return OnDemandEntry(
                self.run, self.input_uri, self.records, self.bytes, self.shards, ON_DEMAND_SLICE
            )
        return JobEntry(
            self.run,
            self.job_name,
            self.client_request_token,
            self.input_uri,
            self.records,
            self.bytes,
            self.shards,
        )


def ledger_from_plan(
    plan: Plan, spec: JobSpec, *, rejected: int = 0, fanout: FanOut | None = None
) -> Ledger:
    """The ledger of a new batch: its plan, before anything acts on it."""
    first = attempt_from_parts(0, plan.parts, None)
    return Ledger(
        plan.content_id, plan.identity, spec, plan.mode, plan.quotas, plan.quota_source,
        plan.records, plan.bytes, (first,), rejected=rejected, fanout=fanout,
    )  # fmt: skip


def open_ledger(
    s3: S3Access, plan: Plan, spec: JobSpec, rejected: Sequence[Problem], *, legacy_id: str,
    fanout: FanOut | None = None,
) -> LedgerStore:  # fmt: skip
    """The store of a new batch's ledger, written before anything acts on it (or the ledger
    already there: the same content submitted again). Records skipped when they were added
    (``rejected``) are kept beside the batch first, before the ledger that counts them (as the
    caller keeps the records answered without being sent: ``fanout``)."""
    if rejected:
        Uploader(s3).upload_rejects(spec.root.join(plan.content_id, REJECTS_NAME), rejected)
    return LedgerStore.open(
        s3,
        S3Uri.parse(plan.state_uri),
        lambda: ledger_from_plan(plan, spec, rejected=len(rejected), fanout=fanout),
        legacy=spec.root.join(legacy_id, LEDGER_NAME),
    )


def attempt_from_parts(number: int, parts: Sequence[PartPlan], targets: str | None) -> Attempt:
    """The ledger's attempt for planned parts."""
    entries = [p.entry() for p in parts]
    jobs = tuple(e for e in entries if isinstance(e, JobEntry))
    runs = [e for e in entries if isinstance(e, OnDemandEntry)]
    return Attempt(number, sum(p.records for p in parts), targets, jobs, runs[0] if runs else None)


@attrs.frozen
class Plan:
    """What ``submit()`` would do, computed without side effects.

    ``cost`` is an upper bound: it counts every record's requested maximum output tokens.
    ``quota_warning`` says why the quotas are the defaults when Service Quotas could not be
    read. ``identity`` (the content id and the quota values) is what the client request tokens
    derive from.
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
    identity: str = ""
    quota_warning: str | None = None
    #: What the plan warns about besides the quotas (e.g. a model whose batch support the
    #: facts mark UNVERIFIED); each is also logged at WARNING.
    warnings: tuple[str, ...] = ()
    #: With ``max_cost_usd``: the cost bound against the cap, or why it cannot be bounded.
    budget: str | None = None
    #: Where the role and the S3 prefixes came from: ``(name, source)`` pairs, the source being
    #: ``"argument"``, the environment variable or the saved defaults file (see ``setup``).
    sources: tuple[tuple[str, str], ...] = ()
    #: Records not sent (``dedupe=``, ``reuse=``): answered by another record's call of this
    #: batch, or by an earlier batch's (``records`` counts only those sent).
    deduplicated: int = 0
    reused: int = 0

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

    def __repr__(self) -> str:
        """``<Plan 500 records -> 1 Bedrock job(s), model=…>``."""
        how = f"{len(self.parts)} Bedrock job(s)" if self.mode == "batch" else "on demand"
        plural = "" if self.records == 1 else "s"
        return f"<Plan {self.records} record{plural} -> {how}, model={self.model_id}>"

    def _rows(self) -> list[tuple[str, str]]:
        """What ``submit()`` would do, as (label, value) rows."""
        how = f"{len(self.parts)} Bedrock job(s)" if self.mode == "batch" else "on demand"
        q, cost = self.quotas, self.cost
        rows = [
            (
                "model",
                f"{self.model_id} ({self.family or 'unknown family'}, {self.invocation_type})",
            ),
            ("records", f"{self.records:,} ({self.bytes:,} bytes)"),
            ("runs as", f"{how}, {len(self.shards)} input file(s)"),
            ("inputs under", self.state_uri.rsplit("/", 1)[0] + "/"),
            ("input tokens", f"~{self.estimated_input_tokens:,}"),
            ("output tokens", f"at most {self.max_output_tokens:,}"),
        ]
        if cost.batch is not None and cost.on_demand is not None:
            rows.append(("cost (USD, estimate)", f"~{cost.batch:.4f} batch / {cost.on_demand:.4f} on demand (prices of {cost.prices_as_of})"))  # fmt: skip
        if self.deduplicated or self.reused:
            rows.append(("not sent", f"{self.deduplicated:,} deduplicated, {self.reused:,} reused"))  # fmt: skip
        rows.append(("quotas", f"min {q.min_records_per_job:,}, max {q.max_records_per_job:,} records/job, {q.max_concurrent_jobs} concurrent ({self.quota_source})"))  # fmt: skip
        if self.budget:
            rows.append(("cost cap", self.budget))
        if self.quota_warning:
            rows.append(("warning", self.quota_warning))
        rows += [("warning", w) for w in self.warnings if w != self.budget]
        rows += [(f"{name} from", where) for name, where in self._defaulted()]
        return rows

    def _defaulted(self) -> list[tuple[str, str]]:
        """The sources worth showing (once one is not an argument), names grouped by source."""
        if all(w == "argument" for _, w in self.sources):
            return []
        wheres = dict.fromkeys(w for _, w in self.sources)
        return [(", ".join(n for n, x in self.sources if x == w), w) for w in wheres]

    def _repr_html_(self) -> str:
        return html_table(self._rows(), caption="bedrock_batch plan")

    def __str__(self) -> str:
        how = (
            f"{len(self.parts)} Bedrock job(s)"
            if self.mode == "batch"
            else "on demand (bedrock-runtime)"
        )
        cost = ""
        if self.cost.batch is not None and self.cost.on_demand is not None:
            cost = f"; an estimated ${self.cost.batch:.4f} batch / ${self.cost.on_demand:.4f} on demand (prices of {self.cost.prices_as_of})"
        warning = f"\nWARNING: {self.quota_warning}" if self.quota_warning else ""
        warning += "".join(f"\nWARNING: {w}" for w in self.warnings if w != self.budget)
        if self.budget:
            warning += f"\ncost cap: {self.budget}"
        warning += "".join(f"\n{name} from {where}" for name, where in self._defaulted())
        if self.deduplicated or self.reused:
            warning += f"\nnot sent: {self.deduplicated} deduplicated, {self.reused} reused"
        return (
            f"{self.records} records, {self.bytes} bytes → {how}, {len(self.shards)} file(s) under "
            f"{self.state_uri.rsplit('/', 1)[0]}/\n"
            f"model {self.model_id} ({self.family or 'unknown family'}, {self.invocation_type}); "
            f"~{self.estimated_input_tokens} input tokens{cost}; quotas from {self.quota_source}: "
            f"min {self.quotas.min_records_per_job}, max {self.quotas.max_records_per_job} records/job, "
            f"{self.quotas.max_concurrent_jobs} concurrent jobs{warning}"
        )


def job_parts(
    sizes: Sequence[int],
    *,
    spec: JobSpec,
    quotas: Quotas,
    folder: S3Uri,
    base_name: str,
    identity: str,
    attempt: int = 0,
    salt: str = "",
    label: str = "",
) -> list[PartPlan]:
    """Split records (their encoded sizes, in order) into Bedrock jobs and their files."""
    max_records = min(quotas.max_records_per_file, spec.max_records_per_file or 10**12)
    max_bytes = min(quotas.max_file_bytes, spec.max_bytes_per_file or 10**15)
    parts = plan_parts(
        sizes,
        max_records_per_job=quotas.max_records_per_job,
        max_job_bytes=quotas.max_job_bytes,
        max_records_per_file=max_records,
        max_file_bytes=max_bytes,
    )
    small = [p for p in parts if p.records < quotas.min_records_per_job]
    if small:
        raise QuotaError(
            f"cannot split {len(sizes)} records into jobs that each meet the minimum of "
            f"{quotas.min_records_per_job} records and the {quotas.max_job_bytes}-byte job size"
            f"{f' for {label}' if label else ''}",
            quota="min_records_per_job",
            limit=quotas.min_records_per_job,
        )
    out = []
    for p in parts:
        tag = f"p{p.index:03d}" if attempt == 0 else f"a{attempt:02d}p{p.index:03d}"
        single = attempt == 0 and len(parts) == 1
        name = base_name if single else f"{base_name[: 63 - len(tag) - 1]}-{tag}"
        token = f"bb{identity}" if single else f"bb{identity}{tag}{salt}"
        out.append(
            PartPlan(
                tag,
                "batch",
                name,
                token,
                str(folder.join("runs", tag)) + "/",
                p.records,
                p.size,
                p.shards,
            )
        )
    return out


def on_demand_part(
    sizes: Sequence[int], *, spec: JobSpec, quotas: Quotas, folder: S3Uri, attempt: int = 0
) -> PartPlan:
    """All records of an attempt as one on-demand run, cut into files like a job's."""
    max_records = min(quotas.max_records_per_file, spec.max_records_per_file or 10**12)
    max_bytes = min(quotas.max_file_bytes, spec.max_bytes_per_file or 10**15)
    shards = tuple(plan_shards(sizes, max_records, max_bytes)) if sizes else ()
    tag = "od000" if attempt == 0 else f"a{attempt:02d}od"
    return PartPlan(
        tag,
        "on_demand",
        "",
        "",
        str(folder.join("runs", tag)) + "/",
        len(sizes),
        sum(sizes),
        shards,
    )


def make_plan(
    records: Records,
    spec: JobSpec,
    quotas: Quotas,
    source: QuotaSource,
    *,
    requested_mode: str,
    prices: Mapping[str, Price],
    sent: RecordStore | None = None,
    batch_id: str | None = None,
) -> Plan:
    """Plan the first attempt: the mode that applies, the jobs and their files, the cost.
    ``sent``: the records sent, when not all of them are (``dedupe=``, ``reuse=``; none at
    all runs as an empty on-demand run); ``batch_id``: the content id then (of all the records,
    not of the ones sent)."""
    store = records.store if sent is None else sent
    n = len(store)
    if n == 0 and (sent is None or not len(records.store)):
        raise ValidationError("the job has no records: add some first")
    max_bytes = min(quotas.max_file_bytes, spec.max_bytes_per_file or quotas.max_file_bytes)
    if n and max(store.sizes) > max_bytes:
        oversize = [
            Problem(
                f"record is {size} bytes, over the {max_bytes}-byte file limit",
                record_id=store.index.id_at(i),
                line=i + 1,
            )
            for i, size in enumerate(store.sizes)
            if size > max_bytes
        ]
        raise QuotaError(
            "record(s) too large for one input file",
            oversize,
            quota="max_file_bytes",
            limit=max_bytes,
        )
    label = records.model.display_name if records.model else spec.model_id
    mode = "on_demand" if requested_mode == "on_demand" or n == 0 else "batch"
    if mode == "batch" and n < quotas.min_records_per_job:
        if requested_mode == "batch":
            raise QuotaError(
                f"{n} records is below the minimum of {quotas.min_records_per_job} records per "
                f"batch job for {label} (quotas from {source}); use mode='auto' or 'on_demand' "
                "to run them through bedrock-runtime",
                quota="min_records_per_job",
                limit=quotas.min_records_per_job,
            )
        mode = "on_demand"
    cid = batch_id or content_id(store.content_digest(), spec, mode)
    ident = identity(cid, quotas)
    folder = spec.root.join(cid)
    if mode == "batch":
        parts = job_parts(
            store.sizes,
            spec=spec,
            quotas=quotas,
            folder=folder,
            base_name=spec.base_name(cid),
            identity=ident,
            label=label,
        )
    else:
        parts = [on_demand_part(store.sizes, spec=spec, quotas=quotas, folder=folder)]
    warnings = model_warnings(records.model, mode) + assumed_model_warnings(spec.model_id, spec.invocation_type)  # fmt: skip
    for warning in warnings:
        log.warning("%s", warning)
    price = price_for(spec.model_id, prices)
    upper = Usage(records.estimated_input_tokens, records.max_output_tokens)
    cost = Cost(
        price.cost(upper, batch=True) if price else None,
        price.cost(upper, batch=False) if price else None,
    )
    return Plan(
        model_id=spec.model_id,
        family=records.family,
        invocation_type=spec.invocation_type,
        mode=mode,
        records=n,
        bytes=store.total_bytes,
        parts=tuple(parts),
        quotas=quotas,
        quota_source=str(source),
        estimated_input_tokens=upper.input_tokens,
        max_output_tokens=upper.output_tokens,
        cost=cost,
        content_id=cid,
        state_uri=str(folder.join("bedrock-batch.json")),
        identity=ident,
        quota_warning=source.warning,
        warnings=warnings,
    )


def model_warnings(model: ModelInfo | None, mode: str) -> tuple[str, ...]:
    """What a plan says about its model: batch support the facts mark UNVERIFIED."""
    if model is None or mode != "batch" or model.batch_support != "UNVERIFIED":
        return ()
    return (
        f"{model.display_name} ({model.model_id}): batch support is UNVERIFIED (no batch table "
        "row, quota name or real job in bedrock-batch's facts); Bedrock may refuse the job with "
        "'Batch inference is not supported for the requested model.'",
    )


class Uploader:
    """Uploads a batch's files; everything content-addressed (see the module docstring)."""

    def __init__(self, s3: S3Access) -> None:
        self.s3 = s3

    # -- attempts ----------------------------------------------------------------------------

    def upload_planned(
        self,
        store: LedgerStore,
        inputs: InputSource,
        first: RecordStore,
        *,
        targets_of: Callable[[Ledger, Attempt], list[str]],
        progress: object | None = None,
    ) -> None:
        """Upload every attempt's planned entries: the first attempt's from this process's
        records (``first``), a retry's rebuilt from the first attempt's inputs."""
        ledger = store.refresh()
        for attempt in ledger.attempts if not ledger.stopped else ():
            planned = [e for e in (*attempt.jobs, attempt.on_demand) if e and e.phase == "planned"]
            if not planned:
                continue
            if attempt.number == 0:
                if len(first) != ledger.records:
                    raise StateError(
                        "this batch's inputs were never uploaded and this process does not hold "
                        "its records: call submit() on a BatchJob with the same records"
                    )
                self.upload_attempt(store, attempt, first, progress=progress)
                continue
            source = self.retry_source(inputs, ledger, targets_of(ledger, attempt))
            try:
                self.upload_attempt(store, attempt, source, progress=progress)
            finally:
                source.close()

    def upload_attempt(
        self,
        store: LedgerStore,
        attempt: Attempt,
        source: RecordStore,
        *,
        progress: object | None = None,
    ) -> None:
        """Upload every planned entry of an attempt from ``source`` (its records, in the
        attempt's order), marking each ``uploaded`` in the ledger once its files are stored."""
        ledger = store.ledger
        assert ledger is not None
        if attempt.number == 0:
            self.upload_index(ledger.spec.root.join(ledger.batch_id, INDEX_NAME), source)
        entries: list[JobEntry | OnDemandEntry] = [j for j in attempt.jobs if j.phase == "planned"]
        if attempt.on_demand is not None and attempt.on_demand.phase == "planned":
            entries.append(attempt.on_demand)
        for entry in entries:
            self.upload_files(entry.input_uri, entry.files, source, progress=progress)
            move = move_job if isinstance(entry, JobEntry) else move_run
            store.transition(move(entry.part, "planned", "uploaded"))

    @staticmethod
    def retry_source(inputs: InputSource, ledger: Ledger, targets: Sequence[str]) -> RecordStore:
        """The input lines of a retry's records, in its order, read from the first attempt's
        inputs; :class:`StateError` when some cannot be found (nothing is paid for then)."""
        source = RecordStore()
        wanted = set(targets)
        for rid, line in inputs.lines(ledger, wanted):
            if rid not in source:
                source.append_line(rid, line)
        if len(source) != len(wanted):
            source.close()
            raise StateError(
                f"the inputs of {len(wanted) - len(source)} record(s) to retry were not found"
            )
        return source

    def plan_retry(
        self, ledger: Ledger, targets: Sequence[str], source: RecordStore, *, mode: str
    ) -> Attempt:
        """Plan a retry attempt of ``targets`` and store their list (the attempt's order).

        The attempt takes the next number of ``ledger``; its part names (``aNNp000``...), input
        folders (``runs/aNNp000/``) and targets key (``runs/aNN-targets-{digest}.txt``) derive
        from that number, so it must be stored as exactly that number (see
        :meth:`Lifecycle.add_attempt`: an attempt that loses the write is planned again, as
        the next number, and never shares a part, folder, key or token with another).
        """
        number = len(ledger.attempts)
        digest = hashlib.sha256("\n".join(targets).encode()).hexdigest()[:16]
        key = f"runs/a{number:02d}-targets-{digest}.txt"
        folder = ledger.spec.root.join(ledger.batch_id)
        self.upload_lines(folder.join(key), (f"{t}\n".encode() for t in targets))
        minimum = ledger.quotas.min_records_per_job
        if mode != "on_demand" and len(targets) >= minimum:
            parts = job_parts(
                source.sizes,
                spec=ledger.spec,
                quotas=ledger.quotas,
                folder=folder,
                base_name=ledger.spec.base_name(ledger.batch_id),
                identity=ledger.identity,
                attempt=number,
                salt=digest,
            )
        elif mode == "batch":
            raise QuotaError(
                f"{len(targets)} records to retry is below the minimum of {minimum} per batch "
                "job; use mode='auto'",
                quota="min_records_per_job",
                limit=minimum,
            )
        else:
            parts = [
                on_demand_part(
                    source.sizes, spec=ledger.spec, quotas=ledger.quotas, folder=folder,
                    attempt=number,
                )
            ]  # fmt: skip
        return attempt_from_parts(number, parts, key)

    # -- files -------------------------------------------------------------------------------

    def upload_files(
        self,
        input_uri: str,
        files: Iterable[Shard],
        source: RecordStore,
        *,
        progress: object | None = None,
    ) -> int:
        """Upload each file's records from ``source``; returns the bytes handled.

        A file up to the single-PUT threshold (:attr:`S3Access.single_put_max`) is hashed
        (read once) and sent by one PutObject streaming from the store's own file (no copy,
        memory flat); a larger one is copied to a local file (hashed on the way) and sent by
        boto3's parallel multipart transfer."""
        folder = S3Uri.parse(input_uri)
        limit = self.s3.single_put_max
        total = 0
        for shard in files:
            uri = folder.join(shard.name)
            if source.range_size(shard.start, shard.end) <= limit:
                body, size, sha = source.open_range(shard.start, shard.end)
                with body:
                    if not mentions_links(body):  # else: copied and rewritten below
                        if not self._present(uri, sha, size):
                            self.s3.upload_bytes(uri, body, metadata={"sha256": sha})
                            log.debug("uploaded %s (%d bytes, one PUT)", uri, size)
                        total += size
                        if progress is not None:
                            progress.update(size)  # type: ignore[attr-defined]
                        continue
            with tempfile.NamedTemporaryFile(prefix="bedrock-batch-part-") as fh:
                size, sha = source.copy_range(shard.start, shard.end, fh)
                fh.flush()
                size, sha = with_linked_content(self.s3, fh, folder, size, sha)  # Nova videos
                self._put_file(fh.name, uri, size, sha)
            total += size
            if progress is not None:
                progress.update(size)  # type: ignore[attr-defined]
        return total

    def _present(self, uri: S3Uri, sha: str, size: int) -> bool:
        if self.s3.same_object(uri, sha, size):
            log.debug("%s already uploaded", uri)
            return True
        return False

    def _put_file(self, path: str, uri: S3Uri, size: int, sha: str) -> None:
        if self._present(uri, sha, size):
            return
        self.s3.upload_file(path, uri, metadata={"sha256": sha})
        log.debug("uploaded %s (%d bytes)", uri, size)

    def upload_lines(self, uri: S3Uri, lines: Iterable[bytes]) -> None:
        """Upload generated lines as one object (unless identical content is there): one
        PutObject up to the single-PUT threshold, else a multipart transfer from a file."""
        digest = hashlib.sha256()
        limit = self.s3.single_put_max
        buffer = bytearray()
        spill: IO[bytes] | None = None
        try:
            for line in lines:
                digest.update(line)
                if spill is not None:
                    spill.write(line)
                    continue
                buffer += line
                if len(buffer) > limit:
                    spill = tempfile.NamedTemporaryFile(prefix="bedrock-batch-")  # noqa: SIM115
                    spill.write(buffer)
                    buffer = bytearray()
            sha = digest.hexdigest()
            if spill is None:
                if not self._present(uri, sha, len(buffer)):
                    self.s3.upload_bytes(uri, bytes(buffer), metadata={"sha256": sha})
                return
            spill.flush()
            self._put_file(spill.name, uri, spill.tell(), sha)
        finally:
            if spill is not None:
                spill.close()

    def upload_rejects(self, uri: S3Uri, rejected: Sequence[Problem]) -> None:
        """``rejected.jsonl``: each record an ``add_*`` call skipped, where it was and why."""
        self.upload_lines(
            uri,
            (
                encode_line({k: v for k, v in attrs.asdict(p).items() if v is not None})
                for p in rejected
            ),
        )

    def upload_index(self, uri: S3Uri, store: RecordStore) -> None:
        """``index.jsonl``: what ``attach()`` needs to know of the records beyond their
        ordinals (ids that are not the default, and the caller's keys)."""
        self.upload_lines(uri, store.index.index_lines())

"""``BatchJob``: one logical batch, from records to joined results, over one or many Bedrock
jobs. It composes the four parts and orchestrates them; the parts do the work::

    records (_records) → files and jobs (_uploader) → Bedrock jobs and on-demand runs
    (_lifecycle, _ondemand) → outputs, join and accounting (_reader)

The batch's state is its ledger (:mod:`._ledger`), stored in S3 beside the inputs under
``{input_uri}{content id}/`` and written before each action it announces, so any process can
pick the batch up (:meth:`BatchJob.attach`) and a process killed anywhere resumes without a
second paid job or a lost record.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._batch._quotas import Quotas, QuotaSource, resolve_quotas
from ._batch._spec import (
    JobParams,
    JobSpec,
    Mode,
    create_operation_of,
    legacy_content_id,
    resolve,
)
from ._budget import Budget
from ._catalog import default_invocation_type
from ._common._clients import Clients
from ._common._display import html_table, progress_text
from ._common._progress import CountDisplay
from ._common._s3 import S3Access
from ._errors import StateError
from ._errors import translate_client_error as _translate
from ._families._structured import DEFAULT_TOOL
from ._ledger._ledger import Ledger
from ._ledger._ledgerstore import LedgerStore
from ._lifecycle._parts import BatchParts
from ._lifecycle._polling import PollConfig
from ._lifecycle._retry import plan_retry
from ._lifecycle._status import BatchStatus, status_rows
from ._lifecycle._waiting import WaitSteps, blocking_wait, raise_for_failures, raise_unless_finished
from ._pricing import Price, price_for
from ._reader._resultset import Results
from ._reader._summary import Summary
from ._records._intake import RecordIntake
from ._records._legacy import find_legacy_route
from ._records._records import DEFAULT_RECORD_ID_PATTERN, Records, default_id_factory
from ._records._store import RecordStore
from ._reuse._reusing import Reusing
from ._setup._defaults import job_defaults
from ._uploader._uploader import Plan, make_plan, open_ledger

if TYPE_CHECKING:  # the mypy-boto3 stubs are needed at type-check time only
    import boto3
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_service_quotas import ServiceQuotasClient

    from ._common._bedrock import JobDescription
    from .events import EventQueue

__all__ = ["BatchJob"]

log = logging.getLogger("bedrock_batch")


class BatchJob(RecordIntake):
    """One logical batch of records, from building them to joined results.

    ``__init__`` only stores what it is given: no network, no files. Records are checked as
    they are added; :meth:`plan` and :meth:`submit` check the job parameters and the model's
    quotas before anything is uploaded or created. Records beyond a model's per-job quota are
    split into several Bedrock jobs, created within the concurrent-job quota; results, status
    and the summary cover them as one. Use it as a context manager (or call :meth:`close`) to
    release the local copy of the records.

    Args:
        model_id: a foundation-model id, inference-profile id (``us.``, ``eu.``, ...) or ARN.
        role_arn: the service role Bedrock assumes to read inputs and write outputs.
        input_uri: an S3 prefix; each batch's inputs and ledger go under ``{input_uri}{content id}/``.
        output_uri: the S3 prefix Bedrock writes ``{jobId}/...`` under.
            Left out: ``BEDROCK_BATCH_ROLE_ARN`` / ``_INPUT_URI`` / ``_OUTPUT_URI``, else what
            ``bedrock-batch setup`` saved for this profile, account and region (looked up by
            :meth:`plan` and :meth:`submit`; the plan says where each came from; never guessed).
        session / bedrock_client / s3_client / runtime_client / quotas_client: where clients
            come from; given clients are used as they are.
        invocation_type: ``"InvokeModel"`` (the family's native body) or ``"Converse"``; by
            default the model's catalogue default: Converse where the facts do not establish the
            native body (Llama 4, Nova 2 Lite, Qwen3, DeepSeek V3.1), else InvokeModel.
        mode: below the model's minimum records per batch job, ``"auto"`` answers the records on
            demand through bedrock-runtime, ``"batch"`` refuses with a :class:`QuotaError`;
            ``"on_demand"`` always uses bedrock-runtime. Never pads.
        quotas: override the model's quotas; otherwise Service Quotas (when readable,
            ``use_service_quotas``), else the documented defaults — and the plan says so.
        max_records_per_file / max_bytes_per_file: cut input files smaller than the quotas.
        kms_key_id: SSE-KMS key for the outputs (``s3EncryptionKeyId``).
        bucket_owner: expected owner account of both buckets (``s3BucketOwner`` and
            ``ExpectedBucketOwner`` on every S3 call).
        upload_extra_args: extra S3 upload arguments (checked against boto3's allow-list).
        prices: per-model :class:`Price` overrides for cost estimates.
        max_cost_usd: a spending ceiling in USD: :meth:`submit` and :meth:`retry` raise
            :class:`BudgetError` before anything is uploaded or sent when the step's pessimistic
            bound (plus what the batch already spent) would pass it; :meth:`plan` shows the
            bound beside the cap. See the "Cost cap" docs page for how the bound is made.
        dedupe / reuse: send identical bodies once; answer from a cache (the "Reuse" docs page).
        on_demand_concurrency: parallel bedrock-runtime calls for on-demand records.
        allow_unknown_model: accept a model id this version does not know (a newer model).
        poll: how :meth:`wait` polls. ``sleep`` is injectable for tests.
    """

    def __init__(
        self, model_id: str, role_arn: str | None = None, input_uri: str | None = None,
        output_uri: str | None = None, *,
        session: boto3.Session | None = None, bedrock_client: BedrockClient | None = None,
        s3_client: S3Client | None = None, runtime_client: BedrockRuntimeClient | None = None,
        quotas_client: ServiceQuotasClient | None = None, job_name: str | None = None,
        invocation_type: str | None = None, mode: Mode = "auto",
        timeout_hours: int | None = None, tags: Mapping[str, str] | None = None,
        vpc_config: Mapping[str, Sequence[str]] | None = None, kms_key_id: str | None = None,
        bucket_owner: str | None = None, quotas: Quotas | None = None,
        use_service_quotas: bool = True, max_records_per_file: int | None = None,
        max_bytes_per_file: int | None = None, upload_extra_args: Mapping[str, Any] | None = None,
        transfer_config: TransferConfig | None = None, prices: Mapping[str, Price] | None = None,
        on_demand_concurrency: int = 4, allow_unknown_model: bool = False,
        id_factory: Callable[[int], str] = default_id_factory,
        record_id_pattern: str = DEFAULT_RECORD_ID_PATTERN, poll: PollConfig | None = None,
        sleep: Callable[[float], None] = time.sleep, max_cost_usd: float | None = None, dedupe: bool = False, reuse: str | None = None,
    ) -> None:  # fmt: skip
        #: The spending ceiling (``max_cost_usd``), or None.
        self.budget = Budget.of(max_cost_usd, prices)
        self.reusing = Reusing.of(dedupe, reuse)  # dedupe= and reuse= (None: neither asked for)
        if invocation_type is None:  # the catalogue's default for the model (facts §12.2)
            invocation_type = default_invocation_type(model_id)
        self.params = JobParams(
            model_id, role_arn, input_uri, output_uri, invocation_type, mode, job_name,
            timeout_hours, tags, vpc_config, kms_key_id, bucket_owner, max_records_per_file,
            max_bytes_per_file, upload_extra_args, on_demand_concurrency, allow_unknown_model,
        )  # fmt: skip
        self.quotas = quotas
        self.use_service_quotas = use_service_quotas
        self.transfer_config = transfer_config
        self.prices = dict(prices or {})
        self.poll = poll or PollConfig()
        self.sleep = sleep
        self._clients = Clients(
            session=session, bedrock=bedrock_client, s3=s3_client, runtime=runtime_client,
            quotas=quotas_client,
        )  # fmt: skip
        self._records = Records(
            model_id, invocation_type=invocation_type, input_uri=input_uri or "",
            id_factory=id_factory, record_id_pattern=record_id_pattern, mode=mode,
        )  # fmt: skip
        self.family = self._records.family
        self._quota_cache: tuple[Quotas, QuotaSource] | None = None
        self._batch: BatchParts | None = None  # once submitted or attached
        self._sources: tuple[tuple[str, str], ...] | None = None  # where role and URIs came from
        #: Control-plane calls this object made, by operation (for cost and benchmarks).
        self.calls: Counter[str] = Counter()

    model_id = property(lambda self: self.params.model_id, doc="The model, as given.")
    role_arn = property(lambda self: self.params.role_arn, doc="The service role (None: not resolved yet).")  # fmt: skip
    input_uri = property(lambda self: self.params.input_uri, doc="The input prefix, as given or resolved.")  # fmt: skip
    output_uri = property(lambda self: self.params.output_uri, doc="The output prefix.")
    invocation_type = property(lambda self: self.params.invocation_type, doc="The API type.")
    mode = property(lambda self: self.params.mode, doc="auto, batch or on_demand.")

    @property
    def job_arns(self) -> list[str]:
        """Every Bedrock job created for this batch, retries included."""
        return self.ledger.job_arns if self.ledger else []

    @property
    def job_arn(self) -> str | None:
        """The (first) Bedrock job's ARN once created or attached."""
        return next(iter(self.job_arns), None)

    @property
    def ledger(self) -> Ledger | None:
        """The batch's ledger (None before :meth:`submit`)."""
        return self._batch.store.ledger if self._batch else None

    @property
    def state_uri(self) -> str | None:
        """Where the ledger is stored: a handle for :meth:`attach` (None before submit)."""
        store = self._batch.store if self._batch else None
        return str(store.uri) if store and store.persistent else None

    # -- planning --------------------------------------------------------------------------

    def _spec(self) -> JobSpec:
        with _translate("CreateClient"):
            bedrock = self._clients.bedrock
            region = bedrock.meta.region_name
        if self._sources is None:  # left-out role and prefixes: environment, then saved defaults
            self.params, self._sources = job_defaults(self.params, self._clients, region)
        self._records.check_input_uri(self.params.input_uri)
        return resolve(self.params, region=region, operation=create_operation_of(bedrock))

    def plan(self) -> Plan:
        """Check everything that can be checked before paying and say what ``submit()`` would
        do. No S3 writes and no job creation (Service Quotas may be read). Raises
        :class:`ValidationError` (or :class:`QuotaError`) listing every problem."""
        spec = self._spec()
        if self._quota_cache is None:
            self._quota_cache = resolve_quotas(
                self._records.model, override=self.quotas, use_service_quotas=self.use_service_quotas,
                list_quotas=lambda: self._clients.quotas.list_service_quotas,
            )  # fmt: skip
        quotas, source = self._quota_cache
        sent, batch_id = (self.reusing.sent(self._records, spec, self._clients, self.params.mode), self.reusing.batch_cid) if self.reusing else (None, None)  # fmt: skip
        plan = make_plan(self._records, spec, quotas, source, requested_mode=self.params.mode, prices=self.prices, sent=sent, batch_id=batch_id)  # fmt: skip
        plan = attrs.evolve(self.reusing.annotate(plan, self._records, self.prices) if self.reusing else plan, sources=self._sources or ())  # fmt: skip
        return plan if self.budget is None else self.budget.annotate(plan, self._records, sent)

    # -- wiring the parts ------------------------------------------------------------------

    def _wire(self, store: LedgerStore, records: RecordStore | None = None) -> None:
        self._batch = BatchParts.wire(
            self._clients, store, self._records.store if records is None else records, calls=self.calls,
            concurrency=int(self.params.on_demand_concurrency or 4),
            token_window=self.poll.create_token_window,
        )  # fmt: skip

    def _parts(self) -> BatchParts:
        if self._batch is None:
            raise StateError("the job has not been submitted yet")
        return self._batch

    def _steps(self, events: EventQueue | None) -> WaitSteps:
        """The steps of a wait (for :meth:`wait` and the asyncio API)."""
        return WaitSteps(self._parts(), events)

    # -- submitting and progressing ----------------------------------------------------------

    def submit(self, *, progress: bool = False) -> BatchStatus:
        """Validate, upload and create the job(s). Safe to call again: same content, same jobs.

        The plan is stored in S3 (the ledger) before anything acts on it, and each job's client
        request token derives from the batch's identity, so a repeated, retried or resumed
        submit never creates a second paid job and re-uploads nothing already there. Jobs beyond
        the concurrent-job quota wait their turn (:meth:`wait` creates them as slots free up).
        Records below the minimum are answered on demand here (``mode="auto"``), each answer
        saved as it arrives. ``progress=True`` shows the bytes uploaded.
        """
        if self._batch is None:
            plan, spec = self.plan(), self._spec()
            if self.budget is not None:  # before any S3 write
                self.budget.check_submit(plan, self._records, self.reusing.chosen if self.reusing else None)  # fmt: skip
            self._wire(*_open_batch(self, plan, spec))
            self._records.freeze("this job was already submitted; records can no longer be added")
            if plan.mode == "on_demand":
                log.info("%d records are below the batch minimum of %d: answering them on demand", plan.records, plan.quotas.min_records_per_job)  # fmt: skip
        total = self._records.store.total_bytes or None
        display = CountDisplay("upload", total=total, unit="B") if progress else None
        try:
            self._parts().step(display)
        finally:
            if display is not None:
                display.close()
        return self._parts().lifecycle.status()

    def describe(self) -> BatchStatus:
        """The batch's current status (one control-plane call for all its jobs)."""
        return self._parts().describe()

    def stop(self) -> list[str]:
        """Stop the batch; returns the ARNs asked to stop (none when it had already ended).

        The stop is stored in the ledger first; then, for every process handling the batch:

        - **No job is created after the stop.** A job not created yet is never created. A
          create already under way cannot be called back: the window between storing
          ``creating`` and CreateModelInvocationJob is one S3 write long, and a job created
          inside it is stopped at once, by the creating process or by this stop.
        - **A create whose answer was lost is looked for, never cancelled on a miss.** Its job
          is looked up by its name (Create is not sent again); found, it is recorded and
          stopped at once. Not found, it is looked for again by every later :meth:`wait`,
          :meth:`describe` or :meth:`summary` (of any handle), and given up only once the
          client request token's idempotency window (``PollConfig.create_token_window``,
          24 hours by default, UNVERIFIED) has passed since the create was last sent.
        - **On-demand records not asked for yet are not asked for.** A run reads the batch's
          phase again before a call at least every second and every 8 calls
          (``STOP_CHECK_SECONDS``, ``STOP_CHECK_CALLS``), so a stop stored by any process is
          followed by at most ``8 + on_demand_concurrency`` more InvokeModel/Converse calls
          (at most ``on_demand_concurrency`` are in flight; those finish and their answers
          are kept). A process stalled (suspended, stopped) in between makes those calls when
          it wakes: the bound is in calls, not in time.
        - **Running jobs are asked to stop**; Bedrock keeps the outputs of the records they
          processed.

        A batch stopped with records never run ends ``Stopped`` (:meth:`wait` raises
        :class:`JobStoppedError` unless ``raise_on_failure=False``), its counts include those
        records, and :meth:`retry` runs them later.
        """
        parts = self._parts()
        if parts.describe(resolve=False).is_terminal:  # under a stop, Create is never re-sent
            log.info("the batch already ended; nothing to stop")
            return []
        return parts.lifecycle.stop()

    def wait(
        self,
        *,
        progress: bool = False,
        timeout: float | None = None,
        callback: Callable[[BatchStatus], None] | None = None,
        raise_on_failure: bool = True,
        events: EventQueue | None = None,
    ) -> BatchStatus:
        """Poll until every job has ended, creating waiting jobs as slots free; returns the status.

        The batch is judged by each record's latest attempt: a job whose unanswered records were
        all retried no longer fails it. Raises :class:`JobFailedError` / :class:`JobExpiredError`
        / :class:`JobStoppedError` (a job ended Stopped, or the batch was stopped with records
        never run) unless ``raise_on_failure=False``, once everything has ended,
        and :class:`PollTimeoutError` at the ``timeout`` deadline (seconds). PartiallyCompleted
        returns: its unprocessed records come back missing, and :meth:`retry` runs them again.
        ``progress=True`` shows a bar on stderr; ``callback`` gets every status. Ctrl-C stops
        waiting, not the jobs.

        ``events`` (:class:`bedrock_batch.events.EventQueue`) learns of the jobs' state changes
        from Bedrock's EventBridge events instead of polling Bedrock at every step; a full poll
        still runs every ``events.safety_interval`` seconds, so a missed event never hangs it.
        """
        config = self.poll if timeout is None else attrs.evolve(self.poll, timeout=timeout)
        final = blocking_wait(
            self._steps(events), config, sleep=self.sleep, handle=self.state_uri or self.job_arn,
            progress=progress, callback=callback,
        )  # fmt: skip
        if self.reusing is not None and final.is_terminal:  # its answers, to the cache
            self.reusing.publish(lambda: self.results(partial=True), self._parts().store.ledger, self.state_uri)  # fmt: skip
        if raise_on_failure:
            raise_for_failures(final, self.state_uri)
        return final

    # -- results ---------------------------------------------------------------------------

    def results(self, *, output_model: Any = None, partial: bool = False) -> Results:
        """Every input record exactly once, joined by recordId (an iterable; streams from S3).

        Raises :class:`NotFinishedError` while the batch is still running (its unanswered
        records would read as ``missing``); ``partial=True`` reads what there is so far.
        The batch's ledger is read again first, so a long-lived handle sees a retry another
        process made (as :meth:`summary` does). Where records were retried, each record's
        latest attempt with an output wins;
        ``results().history(record_id)`` shows every attempt. Structured outputs are validated
        with the pydantic models given to :meth:`add_prompt`; ``output_model`` supplies one in
        another process (by default for the tool name ``structured_output``; a mapping of tool
        names to models for several).
        """
        parts = self._parts()
        store, lifecycle = parts.store, parts.lifecycle
        ledger = store.refresh()  # as summary() does: another process may have retried
        last = lifecycle.last
        if set(ledger.job_arns) - set(last) or any(not d.is_terminal for d in last.values()):
            lifecycle.poll()
        if not partial:
            raise_unless_finished(lifecycle.status())
        models = dict(self._records.output_models)
        if isinstance(output_model, Mapping):
            models.update(output_model)
        elif output_model is not None:
            models[DEFAULT_TOOL] = output_model
        return parts.reader.results(
            ledger, lifecycle.last, persisted=store.persistent, models=models
        )

    def summary(self, *, partial: bool = False) -> Summary:
        """Counts by status, tokens and cost, reconciled with each manifest and job's counters.

        Raises :class:`NotFinishedError` while the batch is still running, unless ``partial``.
        """
        status = self.describe()
        if not partial:
            raise_unless_finished(status)
        parts = self._parts()
        ledger = parts.store.sync()
        price = price_for(ledger.spec.model_id, self.prices)
        return parts.reader.summary(
            ledger, self.results(partial=True), status=status.status,
            described=parts.lifecycle.last, price=price,
        )  # fmt: skip

    def run(self, *, progress: bool = False, timeout: float | None = None) -> Results:
        """submit(), wait() and return results() — the whole batch in one call."""
        self.submit()
        self.wait(progress=progress, timeout=timeout)
        return self.results()

    def retry(
        self,
        *,
        statuses: Sequence[str] = ("errored", "missing"),
        retryable_only: bool = False,
        record_ids: Iterable[str] | None = None,
        mode: Mode | None = None,
        include_non_retryable: bool = False,
    ) -> int:
        """Run failed records again; returns how many this call sent. Call :meth:`wait`
        afterwards.

        By default the missing records and the errors worth sending again are retried: an error
        that is not retryable (Bedrock's ``retryable`` false, or where the flag is absent a 4xx
        other than 408 and 429: a bad request fails the same way again, and is paid for again) is
        left out, and counted in an INFO log line; ``include_non_retryable=True`` sends those too
        (with a warning). ``retryable_only`` keeps only the errors Bedrock marked retryable (and
        the missing ones). ``record_ids`` narrows further, and sends the records it names whatever
        their error. Enough records for the model's minimum become a follow-up batch job; fewer run
        on demand through bedrock-runtime right away (``mode`` overrides, as for the constructor).
        Results merge: each record's latest attempt wins. A stopped batch is re-opened: the records
        its stop left unrun come back ``missing`` and are retried with the others. A record whose
        latest attempt answered it is never sent again; to keep that promise, while a create whose
        answer was lost before a stop is still being looked for (see :meth:`stop`: until its job is
        found, or for ``PollConfig.create_token_window``, 24 hours by default, after the create was
        last sent), retry raises :class:`StateError` — its job may still turn up with their
        answers. The retry's records are checked to be readable before anything is recorded or paid
        for. ``"rejected"`` records (refused when added, never uploaded) cannot be sent: asking for
        them raises :class:`ValidationError` and sends nothing.

        Records retried on demand are claimed slice by slice (50 records) by one process at a time,
        with fenced claims: a claim expires when it was not refreshed for 300 s *by S3's clock* (a
        local clock ahead or behind changes nothing), or at once when its owner is provably dead (a
        process of this machine, same boot, that no longer runs); a claimant checks its claim
        before a call at least every 8 calls and every second (on its monotonic or wall clock) and,
        once it lost the claim, makes no more calls for that slice — at most ``8 +
        on_demand_concurrency`` calls follow a takeover, and only those in flight when its stall
        showed on a clock. Another live owner's slice is left to it: the log says how long until it
        may be taken over.

        Concurrent retries (other handles, other processes) never send a record twice: a record
        that a retry stored after this one saw the batch's jobs ended already sends is left out of
        this one, and is not counted in what it returns. Two retries whose ledger writes race
        become two attempts with distinct part names, input folders, targets and client request
        tokens (the loser is planned again on the latest ledger), or merge into one when they send
        the same records (the loser returns 0).
        """
        return plan_retry(
            self._parts(), lambda: self.results(partial=True), statuses=statuses, retryable_only=retryable_only, record_ids=record_ids,
            mode=mode or self.params.mode, include_non_retryable=include_non_retryable,
            budget=None if self.budget is None else self.budget.retry_check(mode or self.params.mode),
        )  # fmt: skip

    @classmethod
    def attach(
        cls, handle: str, *, session: boto3.Session | None = None,
        bedrock_client: BedrockClient | None = None, s3_client: S3Client | None = None,
        runtime_client: BedrockRuntimeClient | None = None,
        quotas_client: ServiceQuotasClient | None = None, bucket_owner: str | None = None,
        poll: PollConfig | None = None, sleep: Callable[[float], None] = time.sleep,
        max_cost_usd: float | None = None, prices: Mapping[str, Price] | None = None,
    ) -> BatchJob:  # fmt: skip
        """Pick up a submitted batch in any process or machine, by any of its job ARNs or by its
        ledger's URI (:attr:`state_uri`: the handle of a batch answered on demand).

        The batch's parameters, jobs and index are read back from its ledger; a corrupt or
        unknown ledger raises :class:`LedgerError`. A job not created by ``bedrock_batch`` is
        indexed from its inputs (read-only: it cannot be retried). ``max_cost_usd`` caps what
        the batch may spend in all, counted by :meth:`retry` (see the constructor).
        """
        clients = Clients(
            session=session, bedrock=bedrock_client, s3=s3_client, runtime=runtime_client,
            quotas=quotas_client,
        )  # fmt: skip
        store, desc = LedgerStore.for_handle(handle, clients, bucket_owner=bucket_owner)
        assert store.ledger is not None
        spec = store.ledger.spec
        job = cls(
            spec.model_id, spec.role_arn, spec.input_root, spec.output_uri, session=session,
            bedrock_client=clients.bedrock, s3_client=clients.s3, runtime_client=runtime_client,
            quotas_client=quotas_client, invocation_type=spec.invocation_type,
            mode="on_demand" if store.ledger.mode == "on_demand" else "auto",
            bucket_owner=store.s3.bucket_owner, poll=poll, sleep=sleep, allow_unknown_model=True,
            max_cost_usd=max_cost_usd, prices=prices,
        )  # fmt: skip
        return _attached(job, store, desc)

    # -- housekeeping ------------------------------------------------------------------------

    def close(self) -> None:
        """Release the local copy of the records (the batch itself lives on in S3)."""
        self._records.close()
        if self._batch is not None:  # the old bodies of a batch submitted before the native route
            self._batch.records.close()

    def __enter__(self) -> BatchJob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        """``<BatchJob InProgress 120/500 records model=…>`` (the last known status: no AWS call)."""
        return _text(self)

    def _repr_html_(self) -> str:
        return _html(self)


def _open_batch(job: BatchJob, plan: Plan, spec: JobSpec) -> tuple[LedgerStore, RecordStore]:
    """The ledger of ``job``'s batch (opened or found) and the records it sends: this
    process's, or, when the batch was submitted before the native structured route, the old
    bodies it was submitted with (its identity is theirs)."""
    s3 = S3Access(
        job._clients.s3, bucket_owner=spec.bucket_owner, transfer_config=job.transfer_config,
        upload_extra_args=job.params.upload_extra_args,
    )  # fmt: skip
    records = job._records
    if job.reusing is not None:  # its fan-out stored first; the records it sends
        return job.reusing.open(s3, plan, spec, records.rejected, plan.content_id)
    legacy = legacy_content_id(records.store.content_digest(), job.params)
    found = find_legacy_route(records.legacy, records.store, s3, spec, mode=plan.mode, state_uri=plan.state_uri)  # fmt: skip
    legacy, store = found or (legacy, records.store)
    return open_ledger(s3, plan, spec, records.rejected, legacy_id=legacy), store


def _text(job: BatchJob) -> str:
    status = job._batch.lifecycle.status() if job._batch else None
    n = len(job._records)
    if status is None:
        return f"<BatchJob not submitted, {n} records model={job.model_id}>"
    done = progress_text(status.processed_records, status.total_records, ended=status.is_terminal)  # fmt: skip
    state = f"{status.status} {done}" if done else f"{status.status}, {n} records (not counted by Bedrock yet)"  # fmt: skip
    return f"<BatchJob {state} model={job.model_id} {job.state_uri or job.job_arn}>"


def _html(job: BatchJob) -> str:
    status = job._batch.lifecycle.status() if job._batch else None
    rows = [("model", str(job.model_id)), ("records", str(len(job._records)))]
    rows += [("status", "not submitted")] if status is None else [("handle", job.state_uri or job.job_arn or "?"), *status_rows(status)]  # fmt: skip
    return html_table(rows, caption="BatchJob")


def _attached(job: BatchJob, store: LedgerStore, desc: JobDescription | None) -> BatchJob:
    """``job`` wired to the batch of ``store`` (its records frozen), with the job description
    the handle was looked up by, and a create whose answer was lost looked for."""
    assert store.ledger is not None
    job._records.freeze("an attached batch cannot take new records")
    job._wire(store)
    job.reusing = Reusing.of_ledger(store.ledger)  # publishes to the cache it was submitted with
    if desc is not None:
        job._parts().lifecycle.last = {desc.job_arn: desc}
    if any(j.phase == "creating" for _, j in store.ledger.jobs()):
        job._parts().lifecycle.resolve()  # a create whose answer was lost
    return job

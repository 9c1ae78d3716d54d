"""The backend: the control plane, the data plane, the runtime and Service Quotas, and the
worker that moves jobs through their lifecycle.

Two locks keep API calls quick:

- ``lock`` guards job state (statuses, counters, stores). It is only ever held for bookkeeping,
  never while records are processed or S3 is read or written.
- ``work_lock`` makes sure one worker at a time advances jobs. On a real-time clock the
  worker is a background thread that processes records in bounded slices; on a manual clock
  it is whoever moves time (``LocalBedrock.advance``) or observes it (any API call).

The lifecycle itself is data (:mod:`._lifecycle`): :func:`next_step` says what is due, the
worker does the I/O outside ``lock`` and commits the result inside it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..._catalog import ModelInfo
from .._clock import Clock, is_realtime, wall_time
from .._config import FaultEvent, Faults, PromptCaching, Quotas, Timings
from .._exceptions import InternalServerException, ResourceNotFoundException, ThrottlingException
from .._families._answers import Answerer
from .._families._context import Responder
from .._families._models import resolve_model_id
from .._families._responders import synthetic
from ._control import ControlPlane
from ._dataplane import DataPlane, StageFailure
from ._discovery import Discovery
from ._events import EventBus
from ._lifecycle import ACTIVE, TERMINAL, Finish, Job, Move, Process, Validate, enter, next_step
from ._runtime import Runtime
from ._service_quotas import ServiceQuotas

__all__ = ["Backend"]

log = logging.getLogger("bedrock_batch.local")


class Backend:
    """State and rules of everything Local Bedrock answers."""

    def __init__(
        self,
        *,
        s3: Callable[[], Any],
        events_client: Callable[[str], Any] | None,
        clock: Clock,
        account_id: str,
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
        events: bool = True,
        event_drop_rate: float = 0.0,
        idempotency_window: float = 24 * 3600.0,
        default_timeout_hours: int = 24,
        stoppable: frozenset[str] = ACTIVE,
        slice_records: int | None = None,
        prompt_caching: PromptCaching | None = None,
        accept_unknown_models: bool = False,
        linked_content_in_folder: bool = True,
    ) -> None:
        if output_paths not in ("relative", "basename"):
            raise ValueError("output_paths must be 'relative' or 'basename'")
        self.clock = clock
        self.account_id = account_id
        self.timings = timings or Timings()
        self.default_quotas = default_quotas or Quotas()
        self._quotas = {self._model_key(k): v for k, v in (quotas or {}).items()}
        self.faults = faults or Faults()
        self.record_counters = record_counters
        #: Records one job processes per worker pass (None: all that are due).
        self.slice_records = slice_records
        self.lock = threading.RLock()
        self.work_lock = threading.Lock()
        self._fault_rng = random.Random(seed ^ 0x5EED)
        answerer = Answerer(
            responder or synthetic,
            validate_inputs=validate_inputs,
            s3=s3,
            caching=prompt_caching or PromptCaching(),
        )
        self.events = EventBus(
            enabled=events,
            drop_rate=event_drop_rate,
            seed=seed,
            faults=self.faults,
            client=events_client,
        )
        self.control = ControlPlane(
            lock=self.lock,
            clock=clock,
            quotas=self.quotas_for,
            faults=self.faults,
            events=self.events,
            seed=seed,
            idempotency_window=idempotency_window,
            default_timeout_hours=default_timeout_hours,
            stoppable=stoppable,
            accept_unknown_models=accept_unknown_models,
        )
        self.data = DataPlane(
            s3=s3,
            answerer=answerer,
            faults=self.faults,
            seed=seed,
            output_paths=output_paths,
            shuffle_window=shuffle_window,
            linked_content_in_folder=linked_content_in_folder,
        )
        self.runtime = Runtime(answerer, accept_unknown_models=accept_unknown_models)
        #: ListFoundationModels, GetFoundationModel, ListInferenceProfiles, GetInferenceProfile.
        self.discovery = Discovery()
        self.service_quotas = ServiceQuotas(applied=self.quotas_for, defaults=self.default_quotas)

    @staticmethod
    def _model_key(model_id: str) -> str:
        info = resolve_model_id(model_id, "").info
        return info.model_id if info is not None else model_id

    def quotas_for(self, model: ModelInfo) -> Quotas:
        """The quotas in force for a model."""
        return self._quotas.get(model.model_id, self.default_quotas)

    def maybe_fail(self, operation: str) -> None:
        """Seeded throttling / 500 injection for one API call."""
        rates = self.faults.rates_for(operation)
        if rates.throttle_rate and self._fault_rng.random() < rates.throttle_rate:
            self.faults.log.append(FaultEvent("throttle", operation))
            raise ThrottlingException("Too many requests, please wait before trying again.")
        if rates.server_error_rate and self._fault_rng.random() < rates.server_error_rate:
            self.faults.log.append(FaultEvent("server_error", operation))
            raise InternalServerException("Internal server error (injected).")

    def after_fault(self, operation: str) -> str | None:
        """The fault, if any, to inject after a call of ``operation`` took effect:
        ``"lost_answer"`` or ``"server_error"`` (deterministic faults first, then the rates)."""
        fault = self.faults.take_after_fault(operation)
        kind: str | None = fault.kind if fault is not None else None
        if kind is None:
            rates = self.faults.rates_for(operation)
            if rates.lost_answer_rate and self._fault_rng.random() < rates.lost_answer_rate:
                kind = "lost_answer"
            elif (
                rates.server_error_after_rate
                and self._fault_rng.random() < rates.server_error_after_rate
            ):
                kind = "server_error"
        if kind is not None:
            self.faults.log.append(FaultEvent(f"{kind}_after", operation))
        return kind

    # -- the worker ------------------------------------------------------------------------

    def observe(self) -> None:
        """An API call is about to read state: on a manual clock, catch up with it first."""
        if not is_realtime(self.clock) and self.work_lock.acquire(blocking=False):
            try:
                self._advance_all()
            finally:
                self.work_lock.release()

    def tick(self) -> bool:
        """Advance every job to the current emulated time; True when work is left over."""
        with self.work_lock:
            more = self._advance_all()
        self.events.flush()
        return more

    def _advance_all(self) -> bool:
        now = self.clock.now()
        with self.lock:
            jobs = [job for job in self.control.all_jobs() if job.status not in TERMINAL]
        more = False
        for job in jobs:
            more = self._advance(job, now) or more
        return more

    def _stamp(self, at: float, *, wrote: bool = False) -> float:
        """The timestamp clients see for a transition at emulated ``at``.

        On a real-time clock a job that wrote outputs ends when its last object is written, so
        the objects' ``LastModified`` is never later than the job's ``endTime``.
        """
        stamp = wall_time(self.clock, at)
        if wrote and is_realtime(self.clock):
            stamp = max(stamp, time.time())
        return stamp

    def _advance(self, job: Job, now: float) -> bool:
        """Run every step due for ``job``; True when a slice was cut short."""
        while True:
            with self.lock:
                status = job.status
                step = next_step(job, now, self.timings)
                if step is None:
                    return False
                if isinstance(step, Move):
                    self._enter(job, step.to, step.at, step.message)
                    continue
            if isinstance(step, Validate):
                self._validate(job, step.at)
            elif isinstance(step, Process):
                wanted = step.target - job.processed
                count = wanted if self.slice_records is None else min(wanted, self.slice_records)
                tally = self.data.process(job, count)
                with self.lock:
                    job.processed += tally.processed
                    job.success += tally.success
                    job.errors += tally.errors
                    job.input_tokens += tally.input_tokens
                    job.output_tokens += tally.output_tokens
                    job.cache_read_tokens += tally.cache_read_tokens
                    job.cache_write_tokens += tally.cache_write_tokens
                    if tally.processed < count:  # the input ended early: nothing more to read
                        job.total = job.processed
                if count < wanted:
                    return True  # let the other jobs (and API calls) have their turn
            elif isinstance(step, Finish):
                self.data.write_outputs(job)
                with self.lock:
                    if job.status == status:  # not stopped while the outputs were written
                        self._enter(job, step.to, step.at, step.message, wrote=True)

    def _validate(self, job: Job, at: float) -> None:
        try:
            work = self.data.stage(job, self.quotas_for(job.model))
        except StageFailure as failure:
            with self.lock:
                if job.status == "Validating":
                    self._enter(job, "Failed", at, str(failure))
            return
        with self.lock:
            if job.status != "Validating":  # stopped while the inputs were read
                work.discard()
                return
            job.work = work
            job.total = sum(f.records for f in work.files)
            self._enter(job, "Scheduled", at)

    def _enter(
        self, job: Job, status: str, at: float, message: str | None = None, *, wrote: bool = False
    ) -> None:
        stamp = self._stamp(at, wrote=wrote)
        enter(job, status, at, stamp, message)
        log.debug("job %s: %s", job.job_id, status)
        if status in TERMINAL and job.work is not None:
            job.work.discard()
            job.work = None
        self.events.emit(job, stamp)

    # -- queries ---------------------------------------------------------------------------

    def idle(self) -> bool:
        """True when no job is still running."""
        self.observe()
        with self.lock:
            return all(job.status in TERMINAL for job in self.control.all_jobs())

    def find(self, identifier: str) -> Job:
        """A job of any account and region, by ARN or id."""
        with self.lock:
            for job in self.control.all_jobs():
                if identifier in (job.arn, job.job_id):
                    return job
        raise ResourceNotFoundException(f"The specified job {identifier} was not found.")

    def history(self, identifier: str) -> list[tuple[str, float]]:
        """Every status a job has been in, with the emulated time it was entered."""
        self.observe()
        with self.lock:
            return list(self.find(identifier).history)

    def close(self) -> None:
        """Release temporary files."""
        with self.work_lock, self.lock:
            for job in self.control.all_jobs():
                if job.work is not None:
                    job.work.discard()
                    job.work = None
            self.data.close()

"""asyncio API: :class:`AsyncBatchJob`, the batch lifecycle for event loops (FastAPI, aiohttp,
notebooks' top-level ``await``).

Every blocking boto3 call of :class:`~bedrock_batch.BatchJob` runs in a bounded thread pool,
one call at a time per job; waiting is ``asyncio.sleep`` between polls, so a batch that runs
for hours holds no thread while it waits and thousands of batches can be watched from one
event loop. Cancelling :meth:`AsyncBatchJob.wait` stops the waiting, never the jobs: a poll in
flight finishes (the ledger in S3 stays whole), and any process can pick the batch up again
with :meth:`AsyncBatchJob.attach`.

Why not aiobotocore: see :mod:`bedrock_batch._lifecycle._aio` — it pins botocore to a few patch releases,
which pins the user's boto3; threads keep one dependency set.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

import attrs

from ._common._progress import ProgressDisplay
from ._job import BatchJob
from ._lifecycle._aio import DEFAULT_WORKERS, Runner, Sleep, poll_until_terminal
from ._lifecycle._waiting import WaitSteps, raise_for_failures

if TYPE_CHECKING:
    from ._batch._spec import Mode
    from ._families._outputs import Usage
    from ._ledger._ledger import Ledger
    from ._lifecycle._polling import PollConfig
    from ._lifecycle._status import BatchStatus
    from ._reader._formats import Order
    from ._reader._results import Anomaly, Result
    from ._reader._resultset import Results
    from ._reader._summary import Summary
    from ._uploader._uploader import Plan
    from .events import EventQueue

__all__ = ["DEFAULT_WORKERS", "AsyncBatchJob", "AsyncResults"]

log = logging.getLogger("bedrock_batch")


class AsyncBatchJob:
    """A :class:`~bedrock_batch.BatchJob` for asyncio: the same batch, awaited.

    Build one like a ``BatchJob`` (the same arguments) or wrap an existing one with
    :meth:`wrap`; pick a submitted batch up with ``await AsyncBatchJob.attach(handle)``. Records
    are added synchronously (:meth:`add`, :meth:`add_prompt`, or any ``add_*`` of :attr:`job`:
    they only write a local temporary file); everything that talks to AWS is awaited.

    Args:
        executor: where the blocking calls run; by default a pool of
            :data:`DEFAULT_WORKERS` threads shared by every async job of the process. Each job
            runs one call at a time.
        sleep: how to pause between polls (``asyncio.sleep``; tests inject another).
        **kwargs: the :class:`~bedrock_batch.BatchJob` arguments (``poll=`` sets the pace of
            :meth:`wait`).
    """

    def __init__(
        self,
        model_id: str,
        role_arn: str | None = None,
        input_uri: str | None = None,
        output_uri: str | None = None,
        *,
        executor: Executor | None = None,
        sleep: Sleep = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        self._setup(BatchJob(model_id, role_arn, input_uri, output_uri, **kwargs), executor, sleep)

    def _setup(self, job: BatchJob, executor: Executor | None, sleep: Sleep) -> None:
        #: The blocking job underneath (records, plan, properties; not to be called from a
        #: coroutine for anything that reaches AWS).
        self.job = job
        self._runner = Runner(executor)
        self._sleep = sleep

    @classmethod
    def wrap(
        cls, job: BatchJob, *, executor: Executor | None = None, sleep: Sleep = asyncio.sleep
    ) -> AsyncBatchJob:
        """An async face for an existing :class:`~bedrock_batch.BatchJob` (which it then owns:
        use one face at a time)."""
        self = cls.__new__(cls)
        self._setup(job, executor, sleep)
        return self

    @classmethod
    async def attach(
        cls,
        handle: str,
        *,
        executor: Executor | None = None,
        sleep: Sleep = asyncio.sleep,
        **kwargs: Any,
    ) -> AsyncBatchJob:
        """Pick up a submitted batch by any of its job ARNs or its :attr:`state_uri`, as
        :meth:`BatchJob.attach <bedrock_batch.BatchJob.attach>` (same keyword arguments)."""
        runner = Runner(executor)
        job = await runner.run(BatchJob.attach, handle, **kwargs)
        return cls.wrap(job, executor=runner.executor, sleep=sleep)

    # -- what the blocking job already knows (no I/O) ----------------------------------------

    @property
    def job_arns(self) -> list[str]:
        """Every Bedrock job created for this batch, retries included."""
        return self.job.job_arns

    @property
    def job_arn(self) -> str | None:
        """The (first) Bedrock job's ARN once created or attached."""
        return self.job.job_arn

    @property
    def state_uri(self) -> str | None:
        """Where the ledger is stored: a handle for :meth:`attach` (None before submit)."""
        return self.job.state_uri

    @property
    def ledger(self) -> Ledger | None:
        """The batch's ledger as last read (None before :meth:`submit`)."""
        return self.job.ledger

    @property
    def poll(self) -> PollConfig:
        """How :meth:`wait` polls."""
        return self.job.poll

    def __len__(self) -> int:
        return len(self.job)

    def add(self, model_input: Any, *, record_id: str | None = None, key: Any = None) -> str:
        """Add one record with a complete ``modelInput`` body (see :meth:`BatchJob.add
        <bedrock_batch.BatchJob.add>`); returns its record id."""
        return self.job.add(model_input, record_id=record_id, key=key)

    def add_prompt(self, prompt: str, **kwargs: Any) -> str:
        """Add a text-generation record (see :meth:`BatchJob.add_prompt
        <bedrock_batch.BatchJob.add_prompt>`); returns its record id."""
        return self.job.add_prompt(prompt, **kwargs)

    # -- the lifecycle, awaited ------------------------------------------------------------

    async def plan(self) -> Plan:
        """What :meth:`submit` would do (:meth:`BatchJob.plan <bedrock_batch.BatchJob.plan>`)."""
        return await self._runner.run(self.job.plan)

    async def submit(self, *, progress: bool = False) -> BatchStatus:
        """Validate, upload and create the job(s); safe to call again (same content, same jobs).
        See :meth:`BatchJob.submit <bedrock_batch.BatchJob.submit>`."""
        return await self._runner.run(self.job.submit, progress=progress)

    async def describe(self) -> BatchStatus:
        """The batch's current status (one control-plane call for all its jobs)."""
        return await self._runner.run(self.job.describe)

    async def wait(
        self,
        *,
        progress: bool = False,
        timeout: float | None = None,
        callback: Callable[[BatchStatus], object] | None = None,
        raise_on_failure: bool = True,
        events: EventQueue | None = None,
    ) -> BatchStatus:
        """Poll until every job has ended, creating waiting jobs as slots free; returns the
        status.

        The rules and errors of :meth:`BatchJob.wait <bedrock_batch.BatchJob.wait>`: the
        batch's ``poll`` config (first interval, cap, jitter, ``timeout`` deadline; ``timeout``
        here overrides it), :class:`~bedrock_batch.JobFailedError` and its kin judged by each
        record's latest attempt, :class:`~bedrock_batch.PollTimeoutError` at the deadline.
        Between polls it awaits ``sleep`` and holds no thread. ``callback`` gets every status
        (a function or a coroutine function); ``events`` learns of state changes from an
        :class:`~bedrock_batch.events.EventQueue` instead of polling Bedrock at every step.

        Cancelling it stops the waiting only: the jobs keep running, a poll in flight finishes
        in its thread (the ledger stays consistent), and :meth:`attach` resumes from anywhere.
        """
        job = self.job
        config = job.poll if timeout is None else attrs.evolve(job.poll, timeout=timeout)
        display = ProgressDisplay() if progress else None
        steps = job._steps(events)
        steps.timeout = config.timeout  # the events' long poll ends by the deadline

        async def update(status: BatchStatus) -> None:
            if display is not None:
                display.update(status)
            if callback is not None:
                outcome = callback(status)
                if inspect.isawaitable(outcome):
                    await outcome

        try:
            final = await poll_until_terminal(
                functools.partial(self._runner.run, steps),
                config,
                sleep=functools.partial(self._sliced, steps, display),
                on_update=update,
            )
        except asyncio.CancelledError:
            log.info(  # routine in a service (a client went away): the jobs are fine
                "stopped waiting; the job(s) keep running. Resume with AsyncBatchJob.attach(%r)",
                job.state_uri or job.job_arn,
            )
            raise
        finally:
            if display is not None:
                display.close()
        if job.reusing is not None and final.is_terminal:  # its answers, to the cache
            await self._runner.run(job.reusing.publish, lambda: job.results(partial=True), job.ledger, job.state_uri)  # fmt: skip
        if raise_on_failure:
            raise_for_failures(final)
        return final

    async def _sliced(
        self, steps: WaitSteps, display: ProgressDisplay | None, seconds: float
    ) -> None:
        """Sleep a pause in slices, redrawing the progress display after each."""
        left = steps.pause(seconds)
        if display is None:
            await self._sleep(left)
            return
        while left > 0:
            step = min(left, display.tick_interval)
            await self._sleep(step)
            left -= step
            display.tick()

    def results(
        self, *, chunk_size: int = 1000, output_model: Any = None, partial: bool = False
    ) -> AsyncResults:
        """Every input record exactly once, joined by recordId, for ``async for``
        (``output_model`` and ``partial`` as in :meth:`BatchJob.results
        <bedrock_batch.BatchJob.results>`: a batch still running raises
        :class:`~bedrock_batch.NotFinishedError` when the reading starts, unless ``partial``).

        Streams: results are read from S3 in a worker thread ``chunk_size`` at a time, at most
        one chunk ahead of the consumer, never all at once.
        """
        return AsyncResults(self, chunk_size, output_model, partial=partial)

    async def summary(self, *, partial: bool = False) -> Summary:
        """Counts by status, tokens and cost, reconciled (:meth:`BatchJob.summary
        <bedrock_batch.BatchJob.summary>`; a batch still running raises
        :class:`~bedrock_batch.NotFinishedError` unless ``partial``)."""
        return await self._runner.run(self.job.summary, partial=partial)

    async def retry(
        self,
        *,
        statuses: Sequence[str] = ("errored", "missing"),
        retryable_only: bool = False,
        record_ids: Iterable[str] | None = None,
        mode: Mode | None = None,
        include_non_retryable: bool = False,
    ) -> int:
        """Run failed records again; returns how many. Await :meth:`wait` afterwards.
        See :meth:`BatchJob.retry <bedrock_batch.BatchJob.retry>`."""
        return await self._runner.run(
            self.job.retry,
            statuses=statuses,
            retryable_only=retryable_only,
            record_ids=record_ids,
            mode=mode,
            include_non_retryable=include_non_retryable,
        )

    async def stop(self) -> list[str]:
        """Stop the batch; returns the ARNs asked to stop (:meth:`BatchJob.stop
        <bedrock_batch.BatchJob.stop>`)."""
        return await self._runner.run(self.job.stop)

    async def run(self, *, timeout: float | None = None) -> AsyncResults:
        """``submit()``, ``wait()`` and ``results()`` in one call."""
        await self.submit()
        await self.wait(timeout=timeout)
        return self.results()

    # -- housekeeping ------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release the local copy of the records, once any call still running has finished."""
        await asyncio.shield(self._runner.run(self.job.close))

    async def __aenter__(self) -> AsyncBatchJob:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return "<Async" + repr(self.job)[1:]


class AsyncResults:
    """A batch's results for ``async for``; ``counts``, ``anomalies`` and ``usage`` fill in as
    you iterate (the reading runs at most a chunk ahead of you). Each ``async for`` is a fresh
    pass over S3, as with :class:`~bedrock_batch.Results`."""

    def __init__(
        self,
        owner: AsyncBatchJob,
        chunk_size: int = 1000,
        output_model: Any = None,
        *,
        partial: bool = False,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._owner = owner
        self._output_model = output_model
        self._partial = partial
        self._chunk = chunk_size
        self._results: Results | None = None

    async def sync(self) -> Results:
        """The blocking :class:`~bedrock_batch.Results` underneath (read once, then kept)."""
        if self._results is None:
            job = self._owner.job
            self._results = await self._owner._runner.run(
                job.results, output_model=self._output_model, partial=self._partial
            )
            self._results.count_tokens = True  # ``usage`` reports the tokens read so far
        return self._results

    @property
    def counts(self) -> dict[str, int]:
        """Results read so far, by status."""
        return self._results.so_far()[0] if self._results is not None else {}

    @property
    def anomalies(self) -> list[Anomaly]:
        """Output lines that could not be joined cleanly, found so far."""
        return self._results.so_far()[2] if self._results is not None else []

    @property
    def usage(self) -> Usage:
        """Tokens of the results read so far."""
        from ._families._outputs import NO_USAGE

        return self._results.so_far()[1] if self._results is not None else NO_USAGE

    def __aiter__(self) -> AsyncIterator[Result]:
        return self._stream()

    async def _stream(self) -> AsyncIterator[Result]:
        results = await self.sync()
        runner = self._owner._runner
        source = iter(results)
        take = functools.partial(_take, source, self._chunk)
        pending: asyncio.Future[list[Result]] | None = runner.submit(take)
        try:
            while pending is not None:
                chunk = await pending
                pending = runner.submit(take) if len(chunk) == self._chunk else None
                for result in chunk:
                    yield result
        finally:
            if pending is not None:
                pending.cancel()  # dropped if still queued; else it finishes in its thread
            close = getattr(source, "close", None)
            if close is not None:
                runner.detach(close)  # after the chunk in flight, if any: S3 bodies closed

    async def to_list(self) -> list[Result]:
        """Every result in a list (the whole batch in memory: for small batches)."""
        return [r async for r in self]

    async def history(self, record_id: str) -> list[Result]:
        """Every output of one record across attempts, oldest first."""
        results = await self.sync()
        return await self._owner._runner.run(results.history, record_id)

    async def to_arrow(self, batch_size: int = 10_000, *, order: Order = "input") -> Any:
        """A ``pyarrow.Table`` (see :meth:`Results.to_arrow <bedrock_batch.Results.to_arrow>`)."""
        results = await self.sync()
        return await self._owner._runner.run(results.to_arrow, batch_size, order=order)

    async def to_pandas(self, *, order: Order = "input") -> Any:
        """A ``pandas.DataFrame`` (see :meth:`Results.to_pandas
        <bedrock_batch.Results.to_pandas>`)."""
        results = await self.sync()
        return await self._owner._runner.run(results.to_pandas, order=order)

    async def to_jsonl(self, path: str, *, order: Order = "input") -> dict[str, int]:
        """Write one joined JSON line per record to ``path``; returns the counts (see
        :meth:`Results.to_jsonl <bedrock_batch.Results.to_jsonl>`)."""
        results = await self.sync()
        return await self._owner._runner.run(results.to_jsonl, path, order=order)

    async def to_csv(self, path: str, *, order: Order = "input") -> dict[str, int]:
        """Write one CSV row per record to ``path``; returns the counts (see
        :meth:`Results.to_csv <bedrock_batch.Results.to_csv>`)."""
        results = await self.sync()
        return await self._owner._runner.run(results.to_csv, path, order=order)

    async def to_parquet(self, path: str, *, order: Order = "input") -> dict[str, int]:
        """Write a Parquet file of one row per record to ``path``; returns the counts (see
        :meth:`Results.to_parquet <bedrock_batch.Results.to_parquet>`)."""
        results = await self.sync()
        return await self._owner._runner.run(results.to_parquet, path, order=order)


def _take(source: Iterator[Result], n: int) -> list[Result]:
    return list(itertools.islice(source, n))

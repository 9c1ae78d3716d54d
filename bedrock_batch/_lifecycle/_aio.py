"""The plumbing of :mod:`bedrock_batch.aio`: blocking boto3 calls in a bounded thread pool, one
at a time per job, and waiting on ``asyncio.sleep``.

Why threads and not aiobotocore: aiobotocore pins a window of a few botocore patch releases
(3.10.0 requires ``botocore>=1.43.115,<1.43.118``), while boto3 pins botocore to its own minor
line (boto3 1.44.5 requires ``botocore>=1.44.5,<1.45``): the two cannot be installed together
unless the user's boto3 moves back to the release matching aiobotocore's window, and every
boto3 pin in the user's project becomes a constraint on both. Running the library's own boto3
calls in a bounded pool keeps one dependency set and one code path for every S3 and Bedrock
call (the ledger, the error translation, the retries); only the *waiting* — the part that
lasts hours — needs to be asynchronous, and it is: between polls no thread is held.

Cancellation: a call already running in a thread cannot be interrupted, so it finishes (its
ledger writes are whole); a call still queued is dropped. :class:`Runner` holds a lock in the
thread that runs a call, so a call that outlives its cancelled ``await`` still keeps the next
call of the same job waiting until it is done.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from .._errors import PollTimeoutError, ServiceError
from ._polling import Pacer, PollConfig
from ._status import BatchStatus

__all__ = ["DEFAULT_WORKERS", "Runner", "Sleep", "default_executor", "poll_until_terminal"]

log = logging.getLogger("bedrock_batch")

T = TypeVar("T")
#: How the async API sleeps between polls (``asyncio.sleep`` unless a test injects another).
Sleep = Callable[[float], Awaitable[None]]
#: Threads of the shared pool: blocking calls of every async job of the process, at once.
DEFAULT_WORKERS = 8

_default: ThreadPoolExecutor | None = None
_default_lock = threading.Lock()


def default_executor() -> ThreadPoolExecutor:
    """The process's shared, bounded pool for the async API's blocking calls (made once)."""
    global _default  # noqa: PLW0603 - one pool per process, made on first use
    with _default_lock:
        if _default is None:
            _default = ThreadPoolExecutor(DEFAULT_WORKERS, thread_name_prefix="bedrock-batch-aio")
        return _default


class Runner:
    """Runs one job's blocking calls in an executor, one call at a time.

    The lock is taken by the thread that runs the call, not by the awaiting task: when an
    ``await`` is cancelled the call it started still finishes before the job's next call runs.
    """

    def __init__(self, executor: Executor | None = None) -> None:
        self.executor = executor or default_executor()
        self._lock = threading.Lock()

    def _locked(self, fn: Callable[[], T]) -> T:
        with self._lock:
            return fn()

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Start ``fn`` in the executor; the returned future can be awaited or cancelled."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, self._locked, fn)
        future.add_done_callback(_retrieve)
        return future

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in the executor and return its result."""
        return await self.submit(functools.partial(fn, *args, **kwargs))

    def detach(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` after the job's current call, without waiting for it (cleanup)."""
        self.executor.submit(self._locked, fn)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an abandoned future's exception as seen (a cancelled stream's prefetch)."""
    if not future.cancelled():
        future.exception()


async def poll_until_terminal(
    get: Callable[[], Awaitable[BatchStatus]],
    config: PollConfig,
    *,
    sleep: Sleep = asyncio.sleep,
    on_update: Callable[[BatchStatus], object] | None = None,
) -> BatchStatus:
    """Await ``get`` until the batch is terminal, sleeping with ``sleep`` between polls.

    The rules of the blocking ``wait()``: throttling, 5xx and lost connections that survive
    botocore's retries are polled through; ``config.timeout`` is a deadline on the summed
    pauses (or the real elapsed time, whichever is larger), each pause is cut to the time left,
    and :class:`PollTimeoutError` is raised once it is reached. ``on_update`` gets every status
    and may be a coroutine function.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    idle = 0.0
    pacer = Pacer(config)
    last: BatchStatus | None = None
    while True:
        status: BatchStatus | None = None
        try:
            status = await get()
        except ServiceError as err:
            if not err.transient:
                raise
            log.info("polling: %s; polling again", err)
        else:
            last = status
            if on_update is not None:
                outcome = on_update(status)
                if inspect.isawaitable(outcome):
                    await outcome
            if status.is_terminal:
                return status
        spent = max(idle, loop.time() - started)
        if config.timeout is not None and spent >= config.timeout:
            arn = (last.job_arn if last else None) or "the job"
            raise PollTimeoutError(arn, last.status if last else "unknown", idle)
        pause = pacer.next(status)
        if config.timeout is not None:
            pause = max(0.0, min(pause, config.timeout - spent))
        await sleep(pause)
        idle += pause

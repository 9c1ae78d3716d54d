"""On-demand runs: records answered through bedrock-runtime, saved like batch output.

Used below a model's minimum records per batch job (``mode="auto"``/``"on_demand"``) and for
retries too small for a batch job. Each answer becomes a ``{"modelInput", "modelOutput"|"error",
"recordId"}`` line — the batch output format — so results, accounting and types are the same.

Nothing is paid for twice:

- **Saved as they arrive.** Answers go to S3 beside the run's inputs in small chunks
  (``answers/sNNNNN-fNNNN-cNNN-<owner>.jsonl.out``) every few records; a run that fails or is
  killed keeps what it was already paid for, and a resumed run asks only for the rest.
- **Claimed slice by slice, fenced.** The records are cut into slices; a process answers a
  slice only while it holds the slice's claim (:mod:`._claims`): created and taken over with
  conditional writes, expired by S3's clock (the run's ``claim_ttl``, 300 s), taken over at once
  only from a provably dead owner, and checked before a call at least every
  :data:`~._claims.CLAIM_CHECK_CALLS` calls and :data:`~._claims.CLAIM_CHECK_SECONDS` seconds
  (on either clock): a process that lost its claim makes at most
  ``CLAIM_CHECK_CALLS + concurrency`` more calls for that slice, and never marks it done. What
  a slice already has is listed again once it is claimed (another process may have answered it
  meanwhile).
- **Stopped within a bound.** The batch's phase is read again between calls, at least every
  :data:`STOP_CHECK_SECONDS` and every :data:`STOP_CHECK_CALLS` calls: after a stop stored by
  any process, at most ``STOP_CHECK_CALLS + concurrency`` calls follow (those in flight, and
  those made before the next check).
- **One retry layer.** Single calls are retried by botocore's standard retry mode. A service
  error that survives it becomes an error line (``retryable`` for throttling and 5xx); a lost
  connection stops the run, after saving every answer already received.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import attrs

from .._common._codec import decode, encode, encode_line
from .._common._s3 import PreconditionFailed, S3Access
from .._common._s3uri import S3Uri
from .._errors import ServiceError, translate_client_error
from .._ledger._ledger import OnDemandEntry
from ._claims import Claims, Held, ProcessIdentity

__all__ = ["OnDemandRunner", "RunProgress"]

log = logging.getLogger("bedrock_batch")

_DONE = ".done"

#: The longest a run goes on calling after a stop stored by another process, in seconds...
STOP_CHECK_SECONDS = 1.0
#: ... and in calls: the batch's phase is read again (one S3 GET of the ledger) whichever of the
#: two comes first.
STOP_CHECK_CALLS = 8


@attrs.frozen
class RunProgress:
    """How far an on-demand run is."""

    answered: int
    total: int
    held_by_others: int = 0
    #: Seconds until the soonest slice held by another live process may be taken over (by
    #: S3's clock), unless its owner refreshes its claim; 0 when none is held.
    held_for: float = 0.0

    @property
    def done(self) -> bool:
        """True when every record has a saved answer."""
        return self.answered >= self.total


@attrs.define
class _Slice:
    number: int
    records: list[tuple[str, Any]]
    held: Held
    seq: int
    buffer: list[bytes] = attrs.field(factory=list)
    pending: int = 0
    submitted: bool = False  # every record of the slice was handed to the pool

    @property
    def lost(self) -> bool:
        """Another process took the slice over: nothing more is asked or saved for it."""
        return self.held.lost

    @property
    def complete(self) -> bool:
        """Every record of the slice was asked for and answered."""
        return self.submitted and self.pending == 0


def _jsonable(response: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return json.loads(json.dumps(out, default=str))  # type: ignore[no-any-return]


class OnDemandRunner:
    """Answers on-demand runs (see the module docstring).

    Args:
        runtime: makes the bedrock-runtime client (only when there is something to answer).
        s3: the batch's S3 access.
        model_id: the model to invoke.
        converse: use the Converse API (the batch's invocation type is Converse).
        concurrency: calls in flight at once.
        chunk_records: answers per saved chunk (at most this many are lost to a SIGKILL per
            slice in flight).
        claim_ttl: seconds (by S3's clock) after which another process may take over an
            unrefreshed claim; None: the run's own (``OnDemandEntry.claim_ttl``).
        clock: the wall clock, only to notice a stall (claims expire by S3's clock).
        identity: the process the claims name (tests claim on behalf of another).
    """

    def __init__(
        self,
        runtime: Callable[[], Any],
        s3: S3Access,
        *,
        model_id: str,
        converse: bool,
        concurrency: int = 4,
        chunk_records: int = 10,
        claim_ttl: float | None = None,
        clock: Callable[[], float] = time.time,
        identity: ProcessIdentity | None = None,
    ) -> None:
        self._runtime_factory = runtime
        self._runtime: Any = None
        self.s3 = s3
        self.model_id = model_id
        self.converse = converse
        self.concurrency = max(1, concurrency)
        self.chunk_records = max(1, chunk_records)
        self.claim_ttl = claim_ttl
        self.clock = clock
        self.owner = uuid.uuid4().hex
        self._pid = os.getpid()
        self.identity = identity
        self._claims: dict[float, Claims] = {}
        #: Answers received whose chunk could not be stored yet, by run: stored first next time.
        self._unsaved: dict[str, list[_Slice]] = {}
        #: bedrock-runtime calls made, by record id (tests check nothing is paid twice).
        self.calls: Counter[str] = Counter()

    # -- layout ----------------------------------------------------------------------------

    @staticmethod
    def answers_prefix(entry: OnDemandEntry) -> S3Uri:
        """Where the run's answer chunks are (the ledger's layout: :meth:`OnDemandEntry.answers_prefix`)."""
        return entry.answers_prefix()

    def _claim_uri(self, entry: OnDemandEntry, k: int) -> S3Uri:
        return S3Uri.parse(entry.input_uri).join("claims", f"s{k:05d}.json")

    def _slice_size(self, entry: OnDemandEntry, k: int) -> int:
        return min(entry.slice_size, entry.records - k * entry.slice_size)

    def claims(self, entry: OnDemandEntry) -> Claims:
        """The claims of this runner on ``entry``'s slices (its TTL: see ``claim_ttl``)."""
        ttl = self.claim_ttl if self.claim_ttl is not None else entry.claim_ttl
        if ttl not in self._claims:
            self._claims[ttl] = Claims(
                self.s3, owner=self.owner, ttl=ttl, clock=self.clock, identity=self.identity
            )
        return self._claims[ttl]

    # -- progress --------------------------------------------------------------------------

    def _listing(
        self, entry: OnDemandEntry, only: int | None = None
    ) -> tuple[set[int], dict[int, list[str]]]:
        done: set[int] = set()
        chunks: dict[int, list[str]] = {}
        prefix = self.answers_prefix(entry)
        if only is not None:
            prefix = S3Uri(prefix.bucket, prefix.key + f"s{only:05d}")
        base = len(self.answers_prefix(entry).key)
        for key, _ in self.s3.list(prefix):
            name = key[base:]
            if not name.startswith("s") or len(name) < 6 or not name[1:6].isdigit():
                continue
            k = int(name[1:6])
            if name.endswith(_DONE):
                done.add(k)
            elif name.endswith(".jsonl.out"):
                chunks.setdefault(k, []).append(key)
        return done, chunks

    def progress(self, entry: OnDemandEntry) -> RunProgress:
        """How many records have a saved answer (from S3: any process's work counts)."""
        if entry.legacy_output is not None:
            return RunProgress(entry.records if entry.phase == "done" else 0, entry.records)
        done, _ = self._listing(entry)
        answered = sum(self._slice_size(entry, k) for k in done if k < entry.slices)
        return RunProgress(answered, entry.records)

    # -- running ---------------------------------------------------------------------------

    def _inputs(self, entry: OnDemandEntry) -> Iterator[tuple[int, str, Any]]:
        folder = S3Uri.parse(entry.input_uri)
        ordinal = 0
        for shard in entry.files:
            for _, raw in self.s3.lines(folder.join(shard.name)):
                obj = decode(raw)
                yield ordinal, obj["recordId"], obj["modelInput"]
                ordinal += 1

    def _slices(self, entry: OnDemandEntry) -> Iterator[tuple[int, list[tuple[str, Any]]]]:
        current: list[tuple[str, Any]] = []
        k = 0
        for ordinal, rid, body in self._inputs(entry):
            if ordinal // entry.slice_size != k:
                yield k, current
                current, k = [], ordinal // entry.slice_size
            current.append((rid, body))
        if current:
            yield k, current

    def _claim(self, entry: OnDemandEntry, k: int) -> Held | None:
        """Claim slice k (see :mod:`._claims`); None when another live process holds it."""
        return self.claims(entry).claim(self._claim_uri(entry, k))

    def _flush(self, entry: OnDemandEntry, sl: _Slice) -> None:
        if not sl.buffer or sl.lost:
            return
        uri = self.answers_prefix(entry).join(
            f"s{sl.number:05d}-f{sl.held.fence:04d}-c{sl.seq:03d}-{self.owner[:12]}.jsonl.out"
        )
        with contextlib.suppress(PreconditionFailed):  # our own earlier write of it did land
            self.s3.put(uri, b"".join(sl.buffer), if_none_match=True)
        sl.seq += 1
        sl.buffer.clear()

    def _finish(self, entry: OnDemandEntry, sl: _Slice) -> None:
        self._flush(entry, sl)
        if sl.lost or not self.claims(entry).check(sl.held):  # fenced: only the holder marks it
            return
        with contextlib.suppress(PreconditionFailed):  # another process finished it too
            self.s3.put(
                self.answers_prefix(entry).join(f"s{sl.number:05d}{_DONE}"), b"", if_none_match=True
            )

    def _answered_ids(self, keys: list[str], bucket: str) -> set[str]:
        ids: set[str] = set()
        for key in keys:
            for _, raw in self.s3.lines(S3Uri(bucket, key)):
                try:
                    rid = decode(raw).get("recordId")
                except (ValueError, AttributeError):
                    continue
                if isinstance(rid, str):
                    ids.add(rid)
        return ids

    def _save_unsaved(self, entry: OnDemandEntry) -> None:
        """Store the answers an earlier call of this process could not store."""
        pending = self._unsaved.pop(entry.part, [])
        while pending:
            try:
                self._flush(entry, pending[0])
            except ServiceError:
                self._unsaved[entry.part] = pending
                raise
            sl = pending.pop(0)
            if not sl.lost:
                self.claims(entry).release(sl.held)

    def run(self, entry: OnDemandEntry, *, active: Callable[[], bool]) -> RunProgress:
        """Answer every unclaimed, unanswered slice of ``entry``; returns the progress.

        ``active`` is asked before each slice is claimed and between calls (at least every
        :data:`STOP_CHECK_SECONDS` and every :data:`STOP_CHECK_CALLS` calls): a stopped batch
        answers nothing more. Each slice's claim is checked between calls too (see
        :mod:`._claims`): a slice taken over by another process gets no more calls. Raises
        :class:`ServiceError` when the connection is lost (every answer received is saved
        first).
        """
        if self._pid != os.getpid():  # a forked copy is another claimant than its parent
            self._pid, self.owner = os.getpid(), uuid.uuid4().hex
            self._claims.clear()
            self._unsaved.clear()
        self._save_unsaved(entry)
        claims = self.claims(entry)
        claims.reset()
        done, _ = self._listing(entry)
        held = 0
        slices: dict[int, _Slice] = {}
        failures: list[BaseException] = []
        bucket = S3Uri.parse(entry.input_uri).bucket
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="bedrock-on-demand")
        in_flight: dict[Future[bytes], _Slice] = {}
        checked = [time.monotonic(), 0]  # when the phase was last read; calls since
        stopped = False

        def still_active() -> bool:
            """The batch's phase, read again when the last read is too old."""
            nonlocal stopped
            now = time.monotonic()
            if checked[1] >= STOP_CHECK_CALLS or now - checked[0] >= STOP_CHECK_SECONDS:
                checked[0], checked[1] = now, 0
                stopped = stopped or not active()
            checked[1] += 1
            return not stopped

        def drop(sl: _Slice) -> None:
            """Calls of a slice queued but not started are not made."""
            for fut in [f for f, s in in_flight.items() if s is sl and f.cancel()]:
                in_flight.pop(fut).pending -= 1

        def collect(block: bool) -> None:
            finished, _ = wait(
                list(in_flight),
                timeout=claims.ttl / 6 if block else 0,
                return_when=FIRST_COMPLETED,
            )
            if block and not finished:  # calls take long: keep the claims alive meanwhile
                for sl in {id(s): s for s in in_flight.values()}.values():
                    claims.keep_alive(sl.held)
            for fut in finished:
                sl = in_flight.pop(fut)
                sl.pending -= 1
                try:
                    answer = fut.result()
                except BaseException as err:
                    failures.append(err)
                    continue
                if sl.lost:
                    continue  # fenced out: the new holder asks for it
                sl.buffer.append(answer)
                if len(sl.buffer) >= self.chunk_records:
                    self._flush(entry, sl)
                if sl.complete and not failures:
                    self._finish(entry, sl)
                    done.add(sl.number)

        try:
            for k, records in self._slices(entry):
                if k in done:
                    continue
                if failures or stopped or not active():
                    break
                checked[0], checked[1] = time.monotonic(), 0
                claim = self._claim(entry, k)
                if claim is None:
                    held += 1
                    continue
                finished, chunks = self._listing(entry, only=k)  # as it is now it is ours
                answered = self._answered_ids(chunks.get(k, []), bucket)
                todo = [(rid, body) for rid, body in records if rid not in answered]
                sl = _Slice(k, todo, claim, len(chunks.get(k, [])))
                slices[k] = sl
                if k in finished or not todo:
                    if k not in finished:
                        self._finish(entry, sl)
                    if not sl.lost:
                        done.add(k)
                    continue
                _ = self.runtime  # made once, before the worker threads need it
                for rid, body in todo:
                    while len(in_flight) >= self.concurrency and not failures:
                        collect(block=True)
                    if failures or not still_active() or not claims.still_held(sl.held):
                        break
                    sl.pending += 1
                    self.calls[rid] += 1
                    in_flight[pool.submit(self._invoke, rid, body)] = sl
                else:
                    sl.submitted = True
                    if sl.complete and not failures:  # everything came back while submitting
                        self._finish(entry, sl)
                        done.add(k)
                    continue
                if sl.lost and not failures and not stopped:
                    drop(sl)
                    continue  # taken over: the other slices are still to do
                break  # stopped (or failed) in the middle of the slice
            if stopped:  # calls queued but not started are not made
                for sl in slices.values():
                    drop(sl)
            while in_flight:
                collect(block=True)
        finally:
            # Interrupted or failed: keep every answer that came back, let others resume the rest.
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, sl in in_flight.items():
                if not fut.cancelled() and fut.exception() is None and not sl.lost:
                    sl.buffer.append(fut.result())
            for sl in slices.values():
                try:
                    self._flush(entry, sl)
                except ServiceError as err:  # kept in memory (and claimed) until stored
                    failures.append(err)
                    self._unsaved.setdefault(entry.part, []).append(sl)
                    continue
                if sl.number not in done and not sl.lost:
                    claims.release(sl.held)  # let others resume it
        if failures:
            raise failures[0]
        saved = sum(self._slice_size(entry, k) for k in done if k < entry.slices)
        return RunProgress(saved, entry.records, held, claims.wait_hint)

    @property
    def runtime(self) -> Any:
        """The bedrock-runtime client."""
        if self._runtime is None:
            with translate_client_error("CreateClient"):
                self._runtime = self._runtime_factory()
        return self._runtime

    def _invoke(self, record_id: str, model_input: Any) -> bytes:
        op = "Converse" if self.converse else "InvokeModel"
        runtime = self.runtime
        try:
            with translate_client_error(op):
                if self.converse:
                    output = _jsonable(runtime.converse(modelId=self.model_id, **model_input))
                else:
                    resp = runtime.invoke_model(
                        modelId=self.model_id,
                        body=encode(model_input),
                        contentType="application/json",
                        accept="application/json",
                    )
                    with resp["body"] as body:
                        output = decode(body.read())
        except ServiceError as err:
            if err.code == "ConnectionError" or err.status is None:
                raise  # no answer at all: stop, keep what we have, resume later
            error = {
                "errorCode": int(err.status),
                "errorMessage": str(err.args[0]) if err.args else err.code,
                "expired": False,
                "retryable": err.transient,
            }
            return encode_line({"modelInput": model_input, "error": error, "recordId": record_id})
        return encode_line(
            {"modelInput": model_input, "modelOutput": output, "recordId": record_id}
        )

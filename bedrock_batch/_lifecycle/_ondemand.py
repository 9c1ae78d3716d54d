"""On-demand runs: records answered through bedrock-runtime, saved like batch output.

Used below a model's minimum records per batch job (``mode="auto"``/``"on_demand"``) and for
retries too small for a batch job. Each answer becomes a ``{"modelInput", "modelOutput"|"error",
"recordId"}`` line — the batch output format — so results, accounting and types are the same.

Nothing is paid for twice:

- **Saved as they arrive.** Answers go to S3 beside the run's inputs in small chunks
  (``answers/sNNNNN-cNNN-<owner>.jsonl.out``) every few records; a run that fails or is killed
  keeps what it was already paid for, and a resumed run asks only for the rest.
- **Claimed slice by slice.** The records are cut into slices; a process answers a slice only
  after creating its claim object with a conditional write (``IfNoneMatch="*"``), so two
  processes racing on the same batch never both pay for a record. A claim not refreshed for
  ``claim_ttl`` seconds (its owner died) may be taken over, again conditionally (``IfMatch``).
- **Stopped within a bound.** The batch's phase is read again between calls, at least every
  :data:`STOP_CHECK_SECONDS` and every :data:`STOP_CHECK_CALLS` calls: after a stop stored by
  any process, at most ``STOP_CHECK_CALLS + 2 * concurrency`` calls follow (those already queued
  or in flight, and those made before the next check).
- **One retry layer.** Single calls are retried by botocore's standard retry mode. A service
  error that survives it becomes an error line (``retryable`` for throttling and 5xx); a lost
  connection stops the run, after saving every answer already received.
"""

from __future__ import annotations

import contextlib
import json
import logging
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

    @property
    def done(self) -> bool:
        """True when every record has a saved answer."""
        return self.answered >= self.total


@attrs.define
class _Slice:
    number: int
    records: list[tuple[str, Any]]
    claim_etag: str
    seq: int
    claimed_at: float = 0.0
    buffer: list[bytes] = attrs.field(factory=list)
    pending: int = 0
    submitted: bool = False  # every record of the slice was handed to the pool
    lost: bool = False

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
        claim_ttl: seconds after which another process may take over an unrefreshed claim.
        clock: wall-clock time for claims (injectable for tests).
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
        claim_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
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

    # -- progress --------------------------------------------------------------------------

    def _listing(self, entry: OnDemandEntry) -> tuple[set[int], dict[int, list[str]]]:
        done: set[int] = set()
        chunks: dict[int, list[str]] = {}
        prefix = self.answers_prefix(entry)
        for key, _ in self.s3.list(prefix):
            name = key[len(prefix.key) :]
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

    def _claim(self, entry: OnDemandEntry, k: int) -> str | None:
        """Claim slice k; returns the claim's ETag, or None when another live process has it."""
        uri = self._claim_uri(entry, k)
        body = encode({"owner": self.owner, "at": self.clock()})
        try:
            return self.s3.put(uri, body, content_type="application/json", if_none_match=True)
        except PreconditionFailed:
            pass
        found = self.s3.get(uri)
        if found is None:  # released meanwhile: try once more
            try:
                return self.s3.put(uri, body, content_type="application/json", if_none_match=True)
            except PreconditionFailed:
                return None
        raw, etag = found
        try:
            held = decode(raw)
            mine = held.get("owner") == self.owner
            stale = self.clock() - float(held.get("at", 0)) > self.claim_ttl
        except (ValueError, AttributeError, TypeError):
            mine, stale = False, True
        if not (mine or stale):
            return None
        try:
            return self.s3.put(uri, body, content_type="application/json", if_match=etag)
        except PreconditionFailed:
            return None

    def _refresh(self, entry: OnDemandEntry, sl: _Slice) -> None:
        now = self.clock()
        if now - sl.claimed_at < self.claim_ttl / 3:
            return  # still fresh: no write needed
        sl.claimed_at = now
        body = encode({"owner": self.owner, "at": now})
        try:
            sl.claim_etag = self.s3.put(
                self._claim_uri(entry, sl.number),
                body,
                content_type="application/json",
                if_match=sl.claim_etag,
            )
        except PreconditionFailed:
            log.warning("slice %d of %s was taken over by another process", sl.number, entry.part)
            sl.lost = True

    def _flush(self, entry: OnDemandEntry, sl: _Slice) -> None:
        if not sl.buffer or sl.lost:
            return
        uri = self.answers_prefix(entry).join(
            f"s{sl.number:05d}-c{sl.seq:03d}-{self.owner[:12]}.jsonl.out"
        )
        with contextlib.suppress(PreconditionFailed):  # our own earlier write of it did land
            self.s3.put(uri, b"".join(sl.buffer), if_none_match=True)
        sl.seq += 1
        sl.buffer.clear()
        self._refresh(entry, sl)

    def _finish(self, entry: OnDemandEntry, sl: _Slice) -> None:
        self._flush(entry, sl)
        if sl.lost:
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
                self.s3.delete(self._claim_uri(entry, sl.number))

    def run(self, entry: OnDemandEntry, *, active: Callable[[], bool]) -> RunProgress:
        """Answer every unclaimed, unanswered slice of ``entry``; returns the progress.

        ``active`` is asked before each slice is claimed and between calls (at least every
        :data:`STOP_CHECK_SECONDS` and every :data:`STOP_CHECK_CALLS` calls): a stopped batch
        answers nothing more. Raises :class:`ServiceError` when the connection is lost (every
        answer received is saved first).
        """
        self._save_unsaved(entry)
        done, chunks = self._listing(entry)
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

        def collect(block: bool) -> None:
            finished, _ = wait(
                list(in_flight), timeout=None if block else 0, return_when=FIRST_COMPLETED
            )
            for fut in finished:
                sl = in_flight.pop(fut)
                sl.pending -= 1
                try:
                    sl.buffer.append(fut.result())
                except BaseException as err:
                    failures.append(err)
                    continue
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
                etag = self._claim(entry, k)
                if etag is None:
                    held += 1
                    continue
                answered = self._answered_ids(chunks.get(k, []), bucket)
                todo = [(rid, body) for rid, body in records if rid not in answered]
                sl = _Slice(k, todo, etag, len(chunks.get(k, [])), self.clock())
                slices[k] = sl
                if not todo:
                    self._finish(entry, sl)
                    done.add(k)
                    continue
                _ = self.runtime  # made once, before the worker threads need it
                for rid, body in todo:
                    while len(in_flight) >= 2 * self.concurrency and not failures:
                        collect(block=True)
                    if failures or not still_active():
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
                break  # stopped (or failed) in the middle of the slice
            if stopped:  # calls queued but not started are not made
                for fut in [f for f in in_flight if f.cancel()]:
                    in_flight.pop(fut).pending -= 1
            while in_flight:
                collect(block=True)
        finally:
            # Interrupted or failed: keep every answer that came back, let others resume the rest.
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, sl in in_flight.items():
                if not fut.cancelled() and fut.exception() is None:
                    sl.buffer.append(fut.result())
            for sl in slices.values():
                try:
                    self._flush(entry, sl)
                except ServiceError as err:  # kept in memory (and claimed) until stored
                    failures.append(err)
                    self._unsaved.setdefault(entry.part, []).append(sl)
                    continue
                if sl.number not in done and not sl.lost:
                    self.s3.delete(self._claim_uri(entry, sl.number))  # let others resume it
        if failures:
            raise failures[0]
        saved = sum(self._slice_size(entry, k) for k in done if k < entry.slices)
        return RunProgress(saved, entry.records, held)

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

"""Where a submitted batch's input records are read back from: the local record store when
this process added them, else the first attempt's input files in S3 (any process).

Retries rebuild their input files from here, and results show a missing record's
``modelInput`` from here.
"""

from __future__ import annotations

import itertools
import logging
from array import array
from collections.abc import Container, Iterator
from typing import Any

from .._common._codec import decode
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import NOT_FOUND_CODES, ServiceError, StateError
from .._ledger._ledger import FANOUT_NAME, INDEX_NAME, Ledger
from .._records._store import RecordIndex, RecordStore

__all__ = ["InputSource"]

log = logging.getLogger("bedrock_batch")


class InputSource:
    """The input lines of a batch's first attempt, and its index of record ids and keys."""

    def __init__(self, s3: S3Access, store: RecordStore | None) -> None:
        self.s3 = s3
        self.store = store if store is not None and len(store) else None
        self._index: RecordIndex | None = None
        self._fan: dict[int, list[int]] = {}  # see fan_out() and positions()
        self._at = array("q")

    def files(self, ledger: Ledger) -> list[S3Uri]:
        """The first attempt's input files, in record order (cancelled jobs' files included)."""
        out: list[S3Uri] = []
        first = ledger.attempts[0] if ledger.attempts else None
        if first is None:
            return out
        entries: list[tuple[int, str, Any]] = [(j.start, j.input_uri, j.files) for j in first.jobs]
        if first.on_demand is not None:
            od = first.on_demand
            entries.append((od.files[0].start if od.files else 0, od.input_uri, od.files))
        for _, input_uri, files in sorted(entries, key=lambda e: e[0]):
            folder = S3Uri.parse(input_uri)
            if not files:  # a job this library did not create: whatever .jsonl is there
                if folder.key.endswith(".jsonl"):
                    out.append(folder)
                else:
                    out += [
                        S3Uri(folder.bucket, k) for k, _ in self.s3.list(folder, suffix=".jsonl")
                    ]
                continue
            out += [folder.join(f.name) for f in files]
        return out

    def lines(
        self, ledger: Ledger, wanted: Container[str] | None = None, *, strict: bool = True
    ) -> Iterator[tuple[str, bytes]]:
        """``(record id, input line)`` of the first attempt, in record order.

        ``wanted`` limits which records. With ``strict``, an input file that is gone raises
        :class:`StateError` (a retry cannot rebuild what it cannot read); otherwise its records
        are skipped.
        """
        if self.store is not None:
            for rid, line in zip(self.store.ids(), self.store.iter_lines(), strict=True):
                if wanted is None or rid in wanted:
                    yield rid, line
            return
        for uri in self.files(ledger):
            try:
                for _, raw in self.s3.lines(uri):
                    found = _record_id(raw)
                    if found is not None and (wanted is None or found in wanted):
                        yield found, raw + b"\n"
            except ServiceError as err:
                if err.code not in NOT_FOUND_CODES:
                    raise
                if strict:
                    raise StateError(
                        f"the input file {uri} is gone ({err.code}), so its records cannot be "
                        "sent again; add them to a new BatchJob instead"
                    ) from err
                log.warning("input file %s is gone; its records' inputs are not shown", uri)

    def bodies(self, ledger: Ledger, wanted: Container[str]) -> Iterator[tuple[str, Any]]:
        """``(record id, modelInput)`` of wanted records (files that are gone are skipped)."""
        for rid, line in self.lines(ledger, wanted, strict=False):
            try:
                yield rid, decode(line).get("modelInput")
            except (ValueError, AttributeError):
                continue

    def fan_out(self, ledger: Ledger) -> dict[int, list[int]]:
        """Record ordinal → the ordinals of the records its answer answers too (``dedupe=``)."""
        if ledger.fanout is None or not ledger.fanout.records:
            return {}
        self.index(ledger, persisted=True)
        return self._fan

    def positions(self, ledger: Ledger) -> array[int] | None:
        """Index ordinal → the record's place in the order it was added, where they differ
        (records answered without being sent follow those sent in the index)."""
        if ledger.fanout is None or not ledger.fanout.records:
            return None
        self.index(ledger, persisted=True)
        if not self._at or min(self._at) < 0:
            return None
        extra = set(self._at)
        out = array("Q", (p for p in range(len(self._at) + ledger.records) if p not in extra))
        out.extend(iter(self._at))
        return out

    def _fanout_lines(self, ledger: Ledger) -> Iterator[bytes]:
        """``fanout.jsonl``'s lines (index lines), noting each twin's sent record and each
        record's place among all of them."""
        uri = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, FANOUT_NAME)
        for _, raw in self.s3.lines(uri):
            entry = decode(raw)
            if "of" in entry:
                self._fan.setdefault(int(entry["of"]), []).append(int(entry["n"]))
            self._at.append(int(entry.get("at", -1)))
            yield raw

    def index(self, ledger: Ledger, *, persisted: bool) -> RecordIndex:
        """Every record of the batch: its id by ordinal and the caller's key (loaded once);
        the records answered without being sent follow those sent (``fanout.jsonl``)."""
        if self._index is None and ledger.fanout is not None and ledger.fanout.records:
            uri = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, INDEX_NAME)
            sent = (raw for _, raw in self.s3.lines(uri)) if ledger.records else iter(())
            self._index = RecordIndex.from_lines(itertools.chain(sent, self._fanout_lines(ledger)))  # fmt: skip
        if self._index is None:
            if self.store is not None:
                self._index = self.store.index
            elif persisted:
                uri = S3Uri.parse(ledger.spec.input_root).join(ledger.batch_id, INDEX_NAME)
                self._index = RecordIndex.from_lines(raw for _, raw in self.s3.lines(uri))
            else:  # a job we did not create: its inputs are the index
                index = RecordIndex()
                for rid, _ in self.lines(ledger, strict=False):
                    if rid not in index:
                        index.add(rid)
                self._index = index
        return self._index


def _record_id(raw: bytes) -> str | None:
    try:
        rid = decode(raw).get("recordId")
    except (ValueError, AttributeError):
        return None
    return rid if isinstance(rid, str) else None

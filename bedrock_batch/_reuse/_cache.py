"""The answer cache (``reuse="s3://bucket/prefix/"``): publishing answers, looking them up,
and reading them back from the job output that paid for them.

Layout: ``{prefix}v1/{hh}/{job id}.jsonl``, ``hh`` the first two hex digits of the content key
(:mod:`._keys`): 256 shards. Each object is written once, by the process that publishes one
job's succeeded answers (``IfNoneMatch="*"``: a second publisher of the same job leaves the
first one's object as it is), and never rewritten — several writers, no read-modify-write.
An entry is one JSON line::

    {"k": key (hex), "job": job ARN, "batch": the paying batch's ledger URI,
     "out": s3://bucket/key of the job's output file, "etag": its ETag, "rid": record id there}

An entry is a pointer, not an answer. Before serving one, the lookup checks that the job
exists, ended ``Completed`` or ``PartiallyCompleted``, and that its output folder holds the
object; it reads the answer line from that object with ``IfMatch`` on the ETag, and checks that
the line's request has the key asked for and that it answered. A forged or stale entry is never
served: its records are sent normally, and one warning per batch counts the entries refused,
by reason (each one at DEBUG). Only jobs of the batch's own account and region are trusted,
and only an output of one of the job's input files (``{jobId}/{name}.out``, ``name`` an input
file of the job's description): the same rule as the reader's.

Memory: a lookup streams one shard at a time, holding the keys asked for in that shard and the
entries found for them (never the cache); the answers are read object by object and written
to a spill file as they are found.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from .._catalog import base_model_id
from .._common import _bedrock
from .._common._codec import decode, encode_line, iter_lines
from .._common._s3 import PreconditionFailed, S3Access
from .._common._s3uri import S3Uri
from .._errors import ServiceError, translate_client_error
from ._keys import content_key, shard_of

__all__ = ["CACHE_VERSION", "Entry", "Refusals", "lookup", "publish", "shard_prefix"]

log = logging.getLogger("bedrock_batch")

CACHE_VERSION = "v1"
#: Job statuses whose outputs are final (the records they answered).
_ENDED_WITH_OUTPUT = frozenset({"Completed", "PartiallyCompleted"})


@attrs.frozen
class Entry:
    """One cache entry: where a succeeded answer of a key is (see the module docstring)."""

    key: bytes
    job_arn: str
    batch: str
    out: str
    etag: str
    record_id: str

    def line(self) -> bytes:
        """The entry as a cache line."""
        return encode_line({"k": self.key.hex(), "job": self.job_arn, "batch": self.batch, "out": self.out, "etag": self.etag, "rid": self.record_id})  # fmt: skip

    @classmethod
    def parse(cls, raw: bytes) -> Entry | None:
        """An entry from a cache line (None for a line that is not one)."""
        try:
            d = decode(raw)
            fields = (d["job"], d["batch"], d["out"], d["etag"], d["rid"])
            if not all(isinstance(f, str) for f in fields):
                return None
            return cls(bytes.fromhex(d["k"]), *fields)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def shard_prefix(cache: str, shard: str) -> S3Uri:
    """The folder of one shard of the cache."""
    root = S3Uri.parse(cache if cache.endswith("/") else cache + "/")
    return S3Uri(root.bucket, f"{root.key}{CACHE_VERSION}/{shard}/")


class Refusals:
    """Cache entries not served: counts by reason and the first :attr:`EXAMPLES` of them
    (bounded however many are refused)."""

    EXAMPLES = 20

    def __init__(self) -> None:
        self.by_reason: dict[str, int] = {}
        self.examples: list[tuple[Entry, str]] = []

    def add(self, entry: Entry, why: str) -> None:
        """Count one refused entry."""
        reason = why.split(":", 1)[0]
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if len(self.examples) < self.EXAMPLES:
            self.examples.append((entry, why))

    @property
    def total(self) -> int:
        """Entries refused."""
        return sum(self.by_reason.values())

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[tuple[Entry, str]]:
        return iter(self.examples)

    def summary(self) -> str:
        """One line: the count, by reason, and the first few entries."""
        reasons = "; ".join(f"{n} {why}" for why, n in sorted(self.by_reason.items(), key=lambda kv: -kv[1]))  # fmt: skip
        first = ", ".join(f"{e.out} (job {e.job_arn.rsplit('/', 1)[-1]})" for e, _ in self.examples[:3])  # fmt: skip
        return f"{self.total} answer cache entries not served, their records are sent ({reasons}); first: {first}"


# -- publishing --------------------------------------------------------------------------------


#: Entries held before they are written (a part object per shard and job): ~250 bytes each.
PUBLISH_CHUNK = 100_000


def publish(
    s3: S3Access, cache: str, batch: str, model_id: str, invocation_type: str,
    answers: Iterable[tuple[str, str, str, Any]], *, chunk: int = PUBLISH_CHUNK,
) -> int:  # fmt: skip
    """Publish succeeded answers: ``(record id, job ARN, output file URI, modelInput)`` of
    each, each key once. Entries are written every ``chunk`` answers, one object per shard and
    job (``{job id}.jsonl``, then ``{job id}-1.jsonl``...: the same names for the same
    answers, so publishing again writes nothing). Returns the entries written."""
    etags: dict[str, str | None] = {}
    held: dict[tuple[str, str], list[bytes]] = {}
    seen: set[bytes] = set()
    parts: dict[tuple[str, str], int] = {}
    written = count = 0
    for rid, job_arn, out, model_input in answers:
        key = content_key(model_id, invocation_type, model_input)
        if key in seen:
            continue
        seen.add(key)
        if out not in etags:
            head = s3.head(S3Uri.parse(out))
            etags[out] = str(head["ETag"]) if head and head.get("ETag") else None
        etag = etags[out]
        if etag is None:
            continue
        entry = Entry(key, job_arn, batch, out, etag, rid)
        held.setdefault((shard_of(key), job_arn.rsplit("/", 1)[-1]), []).append(entry.line())
        count += 1
        if count % chunk == 0:
            written += _write(s3, cache, held, parts)
    written += _write(s3, cache, held, parts)
    log.info("published %d answers to %s", written, cache)
    return written


def _write(
    s3: S3Access, cache: str, held: dict[tuple[str, str], list[bytes]], parts: dict[tuple[str, str], int]
) -> int:  # fmt: skip
    written = 0
    for (shard, job_id), lines in sorted(held.items()):
        n = parts[shard, job_id] = parts.get((shard, job_id), -1) + 1
        uri = shard_prefix(cache, shard).join(f"{job_id}.jsonl" if not n else f"{job_id}-{n}.jsonl")
        try:
            s3.put(uri, b"".join(lines), content_type="application/x-ndjson", if_none_match=True)
            written += len(lines)
        except PreconditionFailed:  # published before (by this batch, in another process)
            continue
    held.clear()
    return written


# -- looking up --------------------------------------------------------------------------------


def candidates(s3: S3Access, cache: str, wanted: Mapping[str, set[bytes]]) -> Iterator[list[Entry]]:
    """Shard by shard, the entries of the keys ``wanted`` (shard → keys): a list per key found,
    in the cache's listing order. One shard's entries are held at a time."""
    for shard in sorted(wanted):
        keys = wanted[shard]
        found: dict[bytes, list[Entry]] = {}
        for obj, _ in s3.list(shard_prefix(cache, shard), suffix=".jsonl"):
            for _, raw in s3.lines(S3Uri(shard_prefix(cache, shard).bucket, obj)):
                entry = Entry.parse(raw)
                if entry is not None and entry.key in keys:
                    found.setdefault(entry.key, []).append(entry)
        yield from found.values()


class Verifier:
    """Checks entries against Bedrock and S3 (see the module docstring), and reads their
    answers: one GetModelInvocationJob per job, one GET per output object.

    ``account`` and ``region``: only jobs of the batch's own account (its role's) and region
    are trusted (None: not checked)."""

    def __init__(
        self, s3: S3Access, bedrock: Any, model_id: str, invocation_type: str, *,
        account: str | None = None, region: str | None = None,
    ) -> None:  # fmt: skip
        self.s3 = s3
        self.bedrock = bedrock
        self.model_id = model_id
        self.invocation_type = invocation_type
        self.account = account
        self.region = region
        self._jobs: dict[str, tuple[str, str] | None] = {}  # ARN → (output folder, input URI)
        self._inputs: dict[str, bool] = {}  # input object → whether it exists
        #: Entries refused, and why (counted in one WARNING per lookup; see :meth:`report`).
        self.refused = Refusals()

    def job_folder(self, job_arn: str) -> tuple[str, str] | None:
        """The output folder and input URI of an ended job with outputs, or None."""
        if job_arn not in self._jobs:
            try:
                desc = _bedrock.describe(self.bedrock, job_arn)
            except ServiceError as err:
                log.debug("cache entry names job %s: %s", job_arn, err.code)
                self._jobs[job_arn] = None
                return None
            ok = desc.status in _ENDED_WITH_OUTPUT and base_model_id(desc.model_id) == base_model_id(self.model_id)  # fmt: skip
            folder = S3Uri.parse(desc.output_uri.rstrip("/") + "/").join(desc.job_id)
            where = (f"s3://{folder.bucket}/{folder.key.rstrip('/')}/", desc.input_uri)
            self._jobs[job_arn] = where if ok else None
        return self._jobs[job_arn]

    def refuse(self, entry: Entry, why: str) -> None:
        """Count a refused entry (logged at DEBUG; summed up by :meth:`report`)."""
        self.refused.add(entry, why)
        log.debug("answer cache entry for %s (job %s) not served: %s; the record is sent", entry.out, entry.job_arn, why)  # fmt: skip

    def report(self) -> None:
        """One WARNING for the entries refused so far (counts by reason, a few examples)."""
        if self.refused.total:
            log.warning("%s", self.refused.summary())

    def _foreign(self, job_arn: str) -> bool:
        parts = job_arn.split(":")
        if len(parts) < 6:
            return True
        return (self.region is not None and parts[3] != self.region) or (
            self.account is not None and parts[4] != self.account
        )

    def _own_output(self, out: str, folder: str, input_uri: str) -> bool:
        """Whether ``out`` is ``{folder}{name}.out`` for an input file ``name`` of the job: its
        input file, or a ``.jsonl`` object under its input prefix (never the manifest)."""
        name = out[len(folder) : -len(".out")] if out.endswith(".out") else ""
        if not name.endswith(".jsonl") or name == "manifest.json":
            return False
        if not input_uri.endswith("/"):  # one input file: its output is named after it
            return name == input_uri.rsplit("/", 1)[-1]
        source = input_uri + name
        if source not in self._inputs:
            self._inputs[source] = self.s3.exists(S3Uri.parse(source))
        return self._inputs[source]

    def usable(self, entry: Entry) -> bool:
        """Whether the entry's job is real, ended with outputs, and holds its object as the
        output of one of its input files."""
        if self._foreign(entry.job_arn):
            self.refuse(entry, "the job is not of this account and region")
            return False
        where = self.job_folder(entry.job_arn)
        if where is None:
            self.refuse(entry, "no such job ended with outputs for this model")
            return False
        folder, input_uri = where
        if not entry.out.startswith(folder):
            self.refuse(entry, "the object is not in that job's output folder")
            return False
        if not self._own_output(entry.out, folder, input_uri):
            self.refuse(entry, "the object is not the output of an input file of that job")
            return False
        return True

    def answers(
        self, out: str, entries: Mapping[str, Entry]
    ) -> Iterator[tuple[Entry, dict[str, Any]]]:
        """The answer lines of ``entries`` (record id → entry, all of object ``out``), read
        once with ``IfMatch`` on their ETag; a line that does not answer its key is refused."""
        by_etag: dict[str, dict[str, Entry]] = {}
        for rid, entry in entries.items():
            by_etag.setdefault(entry.etag, {})[rid] = entry
        uri = S3Uri.parse(out)
        for etag, group in by_etag.items():
            try:
                lines = _lines(self.s3, uri, etag)
                lines = itertools.chain([next(lines, b"")], lines)  # the GET (and IfMatch) now
            except ServiceError as err:
                why = (
                    "its ETag does not match"
                    if err.code in ("PreconditionFailed", "412")
                    else err.code
                )
                for entry in group.values():
                    self.refuse(entry, f"the output object cannot be read ({why})")
                continue
            for raw in lines:
                obj = _answer(raw, group)
                if obj is None:
                    continue
                entry = group.pop(obj["recordId"])
                key = content_key(self.model_id, self.invocation_type, obj.get("modelInput"))
                if key != entry.key or obj.get("error") is not None or "modelOutput" not in obj:
                    self.refuse(entry, "the line there is not a succeeded answer of this request")
                    continue
                yield entry, obj
            for entry in group.values():
                self.refuse(entry, "the output object has no line of that record")


def _lines(s3: S3Access, uri: S3Uri, etag: str) -> Iterator[bytes]:
    """The object's lines, streamed, read only while it is the version of ``etag``
    (``IfMatch``: the request fails before any line when it is not)."""
    resp = s3._call("GetObject", s3.client.get_object, Bucket=uri.bucket, Key=uri.key, IfMatch=etag)  # fmt: skip
    with contextlib.closing(resp["Body"]) as body, translate_client_error("GetObject"):
        for _, raw in iter_lines(body.iter_chunks(1 << 20)):
            if raw.strip():
                yield raw


def _answer(raw: bytes, group: Mapping[str, Entry]) -> dict[str, Any] | None:
    try:
        obj = decode(raw)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) and obj.get("recordId") in group else None


def lookup(
    s3: S3Access, verifier: Verifier, cache: str, wanted: Mapping[str, set[bytes]],
    accept: Callable[[Entry, dict[str, Any]], bool],
) -> Iterator[tuple[Entry, dict[str, Any]]]:  # fmt: skip
    """Verified answers of the keys ``wanted`` (shard → keys): ``(entry, answer line)``, at
    most one per key; ``accept`` may still refuse an answer (a structured answer the current
    schema rejects), and the key's next entry is tried."""
    pending = list(candidates(s3, cache, wanted))
    while pending:
        by_out: dict[str, dict[str, Entry]] = {}
        rest: list[list[Entry]] = []
        for found in pending:
            entries = found
            while entries and not verifier.usable(entries[0]):
                entries = entries[1:]
            if not entries:
                continue
            first = entries[0]
            slot = by_out.setdefault(first.out, {})
            if first.record_id in slot:  # two keys claim one line: at most one can be true
                rest.append(entries)
                continue
            slot[first.record_id] = first
            rest.append(entries)
        served: set[bytes] = set()
        for out, group in sorted(by_out.items()):
            for entry, obj in verifier.answers(out, group):
                if accept(entry, obj):
                    served.add(entry.key)
                    yield entry, obj
        tried = {id(e) for group in by_out.values() for e in group.values()}
        pending = [[e for e in es if id(e) not in tried] for es in rest if es[0].key not in served]
        pending = [es for es in pending if es]

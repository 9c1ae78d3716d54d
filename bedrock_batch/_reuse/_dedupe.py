"""What a batch sends when some of its records are answered otherwise: identical bodies sent
once (``dedupe=True``), answers found in the cache not sent at all (``reuse=``).

:func:`choose` splits the records into the ones sent (a new record store, in their order: the
batch's jobs are planned from it) and the others, which follow them in the batch's index and
are listed in ``fanout.jsonl`` (index lines, ordinals from the sent count on): a *twin* names
the sent record whose answer it shares (``"of"``, that record's ordinal), a *reused* record is
marked so and its answer copied (its own id, the answer's request and output, and
``reusedFrom``) into the batch's ``reused/`` folder. Every record is exactly one of the three.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Callable, Iterable
from typing import IO, Any

import attrs

from .._common._codec import encode, encode_line
from .._records._store import RecordStore
from ._keys import line_key

__all__ = ["Selection", "choose"]

#: ``(key, answer line, reusedFrom)`` of each key answered from the cache.
Served = Callable[[dict[bytes, list[int]]], Iterable[tuple[bytes, dict[str, Any], dict[str, str]]]]


@attrs.define
class Selection:
    """The records sent, the others (``fanout.jsonl`` lines, spilled) and the reused answers."""

    sent: RecordStore
    #: ``fanout.jsonl``'s lines, spilled to a file.
    fanout: IO[bytes]
    #: The reused answers' lines (batch output format), spilled to a file.
    answers: IO[bytes]
    deduplicated: int = 0
    reused: int = 0

    @property
    def extra(self) -> int:
        """Records answered without being sent."""
        return self.deduplicated + self.reused

    def fanout_lines(self) -> list[bytes]:
        """``fanout.jsonl``'s lines (read back from the spill file)."""
        self.fanout.seek(0)
        return self.fanout.read().splitlines(keepends=True)

    def close(self) -> None:
        """Release the sent store and the spill files."""
        self.sent.close()
        self.fanout.close()
        self.answers.close()


def _extra_line(n: int, rid: str, key: bytes | None, tail: bytes) -> bytes:
    parts = [b'{"n":', str(n).encode(), b',"recordId":', encode(rid)]
    if key is not None:
        parts += [b',"key":', key]
    return b"".join([*parts, tail, b"}\n"])


def choose(
    store: RecordStore, model_id: str, invocation_type: str, *, dedupe: bool,
    serve: Served | None = None,
) -> Selection:  # fmt: skip
    """Split ``store``'s records (see the module docstring). ``serve`` answers keys from the
    cache: called once per shard (the keys' first byte) with that shard's keys and their
    records' ordinals.

    Memory: about 53 bytes a record (its key, its shard's list, its representative and its
    place among those sent), one shard's keys as a dict at a time; the fan-out lines and the
    reused answers go to spill files."""
    n = len(store)
    keys = bytearray(32 * n)
    shards = [array("I") for _ in range(256)]
    for ordinal, line in enumerate(store.iter_lines()):
        key = line_key(model_id, invocation_type, line)
        keys[32 * ordinal : 32 * ordinal + 32] = key
        shards[key[0]].append(ordinal)
    first = array("Q", bytes(8 * n))  # each record's representative: itself unless a twin
    reused = bytearray(n)
    index = store.index
    answers = tempfile.TemporaryFile(prefix="bedrock-batch-reused-")  # noqa: SIM115
    try:
        for shard, ordinals in enumerate(shards):
            group: dict[bytes, list[int]] = {}
            for ordinal in ordinals:
                group.setdefault(bytes(keys[32 * ordinal : 32 * ordinal + 32]), []).append(ordinal)
            shards[shard] = array("I")
            for same in group.values():
                for ordinal in same:
                    first[ordinal] = same[0] if dedupe else ordinal
            for key, answer, paid_by in serve(group) if serve is not None and group else ():
                for ordinal in group[key]:
                    reused[ordinal] = 1
                    copy = {"recordId": index.id_at(ordinal), "modelInput": answer.get("modelInput"), "modelOutput": answer["modelOutput"], "reusedFrom": paid_by}  # fmt: skip
                    answers.write(encode_line(copy))
    except BaseException:  # a lookup that failed: its spill file goes too
        answers.close()
        raise
    del keys, shards
    sent = RecordStore()
    sent_at = array("Q", bytes(8 * n))  # ordinal in the batch → ordinal among those sent
    for ordinal, line in enumerate(store.iter_lines()):
        if not reused[ordinal] and first[ordinal] == ordinal:
            sent_at[ordinal] = sent.append_line(index.id_at(ordinal), line, index.encoded_key_at(ordinal))  # fmt: skip
    fanout = tempfile.TemporaryFile(prefix="bedrock-batch-fanout-")  # noqa: SIM115
    extra = twins = 0
    for ordinal in range(n):
        if reused[ordinal]:
            tail = b',"reused":true'
        elif first[ordinal] != ordinal:
            tail = b',"of":' + str(sent_at[first[ordinal]]).encode()
            twins += 1
        else:
            continue
        tail += b',"at":' + str(ordinal).encode()  # its place among all the records
        fanout.write(_extra_line(len(sent) + extra, index.id_at(ordinal), index.encoded_key_at(ordinal), tail))  # fmt: skip
        extra += 1
    answers.flush()
    fanout.flush()
    return Selection(sent, fanout, answers, twins, extra - twins)

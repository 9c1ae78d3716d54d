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
from collections.abc import Callable, Iterable, Iterator
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
    """The records sent, the others (``fanout.jsonl`` lines) and the reused answers."""

    sent: RecordStore
    fanout: list[bytes]
    #: The reused answers' lines (batch output format), spilled to a file.
    answers: IO[bytes]
    deduplicated: int = 0
    reused: int = 0

    @property
    def extra(self) -> int:
        """Records answered without being sent."""
        return self.deduplicated + self.reused

    def close(self) -> None:
        """Release the sent store and the spill file."""
        self.sent.close()
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
    cache (given every key and its records' ordinals)."""
    keys = [line_key(model_id, invocation_type, line) for line in store.iter_lines()]
    by_key: dict[bytes, list[int]] = {}
    for ordinal, key in enumerate(keys):
        by_key.setdefault(key, []).append(ordinal)
    index = store.index
    answers = tempfile.TemporaryFile(prefix="bedrock-batch-reused-")  # noqa: SIM115
    reused = bytearray(len(keys))
    for key, answer, paid_by in serve(by_key) if serve is not None else ():
        for ordinal in by_key[key]:
            reused[ordinal] = 1
            copy = {"recordId": index.id_at(ordinal), "modelInput": answer.get("modelInput"), "modelOutput": answer["modelOutput"], "reusedFrom": paid_by}  # fmt: skip
            answers.write(encode_line(copy))
    sent = RecordStore()
    sent_at: dict[int, int] = {}  # ordinal in the batch → ordinal among those sent
    twins: list[int] = []
    for ordinal, line in enumerate(store.iter_lines()):
        if reused[ordinal]:
            continue
        first = by_key[keys[ordinal]][0] if dedupe else ordinal
        if first != ordinal:
            twins.append(ordinal)
            continue
        sent_at[ordinal] = sent.append_line(index.id_at(ordinal), line, index.encoded_key_at(ordinal))  # fmt: skip
    fanout: list[bytes] = []
    n = len(sent)
    for ordinal in _merge(twins, (o for o in range(len(keys)) if reused[o])):
        rep = sent_at.get(by_key[keys[ordinal]][0])
        tail = b',"reused":true' if reused[ordinal] else b',"of":' + str(rep).encode()
        tail += b',"at":' + str(ordinal).encode()  # its place among all the records
        fanout.append(_extra_line(n + len(fanout), index.id_at(ordinal), index.encoded_key_at(ordinal), tail))  # fmt: skip
    answers.flush()
    return Selection(sent, fanout, answers, len(twins), len(fanout) - len(twins))


def _merge(a: list[int], b: Iterator[int]) -> list[int]:
    return sorted([*a, *b])

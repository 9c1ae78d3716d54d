"""Batches submitted before structured outputs took Bedrock's own route.

Before issue 17, ``add_prompt(output_schema=...)`` always built a plain *forced tool*. Since
then, ``structured="auto"`` (the default) builds the model's own mechanism where it has one
(Claude ``output_config``, a ``strict`` tool, ``response_format``): other bodies, so another
content id, so another ledger. A script that submitted a batch with the old version and runs
again with this one would not find its batch and would pay for a second one.

So every record that ``structured="auto"`` built differently from the old default keeps the
old body beside it (:class:`LegacyBodies`, in memory: only structured records with a new route
have one). When no ledger exists for the batch's content id, ``BatchJob.submit`` computes the
content id the same records had with the old bodies (:meth:`LegacyBodies.digest`); when a
ledger is there, the batch is resumed from it (logged at INFO) and the records it uploads, if
its inputs were not all uploaded yet, are the old bodies (:meth:`LegacyBodies.store`), so the
resumed batch is exactly the one submitted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

from .._batch._spec import JobSpec, content_id
from .._common._codec import encode_line
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import ValidationError
from .._families._builders import build_prompt
from .._families._protocol import ClientFamily
from .._families._structured import forced_tool
from .._ledger._ledger import LEDGER_NAME
from ._store import RecordStore

__all__ = ["LegacyBodies", "find_legacy_route"]

log = logging.getLogger("bedrock_batch")


def _fingerprint(line: bytes) -> bytes:
    return hashlib.sha256(line).digest()


class LegacyBodies:
    """The old-default (forced tool) bodies of records built with a newer structured route."""

    def __init__(self) -> None:
        # record id -> (fingerprint of the line stored for it, the old body's line)
        self._lines: dict[str, tuple[bytes, bytes]] = {}

    def __bool__(self) -> bool:
        return bool(self._lines)

    def note(self, record_id: str, body: Any, legacy_body: Any) -> None:
        """Remember the old body of the record just stored with ``body``."""
        new = encode_line({"recordId": record_id, "modelInput": body})
        old = encode_line({"recordId": record_id, "modelInput": legacy_body})
        if old != new:
            self._lines[record_id] = (_fingerprint(new), old)

    def note_prompt(
        self,
        record_id: str,
        body: Any,
        family: ClientFamily,
        prompt: str,
        schema: dict[str, Any],
        name: str,
        options: dict[str, Any],
    ) -> None:
        """Remember the body ``add_prompt`` built by default before issue 17 (the same
        ``build_prompt`` options with a plain forced tool) for the record just stored."""
        try:
            tool = forced_tool(family, options["invocation_type"], schema, name)
        except ValidationError:
            return  # no forced tool in this family: the old version refused the record
        self.note(record_id, body, build_prompt(family, prompt, tool=tool, **options))

    def lines(self, store: RecordStore) -> Iterator[tuple[str, bytes]]:
        """(record id, line) of every record of ``store`` in order, with the old bodies where a
        record has one (a record stored again under a reused id keeps its own line)."""
        for rid, line in zip(store.ids(), store.iter_lines(), strict=True):
            known = self._lines.get(rid)
            yield rid, known[1] if known is not None and known[0] == _fingerprint(line) else line

    def digest(self, store: RecordStore) -> str:
        """The content digest the records had with the old bodies (as
        :meth:`RecordStore.content_digest`)."""
        h = hashlib.sha256()
        for _, line in self.lines(store):
            h.update(line)
        return h.hexdigest()

    def store(self, store: RecordStore) -> RecordStore:
        """A record store of the old bodies (same ids, keys and order); the caller closes it."""
        out = RecordStore()
        for ordinal, (rid, line) in enumerate(self.lines(store)):
            out.append_line(rid, line, store.index.encoded_key_at(ordinal))
        return out


def find_legacy_route(
    bodies: LegacyBodies,
    store: RecordStore,
    s3: S3Access,
    spec: JobSpec,
    *,
    mode: str,
    state_uri: str,
) -> tuple[str, RecordStore] | None:
    """(content id, records) of this batch as an older version submitted it (forced-tool
    bodies), when its ledger is there and none is under today's content id; else None.

    Costs nothing when no record has an old body; else one or two S3 reads at submit.
    """
    if not bodies or s3.exists(S3Uri.parse(state_uri)):
        return None
    old_id = content_id(bodies.digest(store), spec, mode)
    if not s3.exists(spec.root.join(old_id, LEDGER_NAME)):
        return None
    log.info(
        "resuming batch %s under the identity its records had before structured outputs took "
        "Bedrock's own route (forced-tool bodies); today's bodies would be batch %s",
        old_id,
        str(S3Uri.parse(state_uri)).rsplit("/", 2)[-2],
    )
    return old_id, bodies.store(store)

"""Content that records link (``s3Location``: Nova videos, Converse documents and videos, Nova
embeddings' media) beside each job's JSONL.

The facts (§1, docs batch-inference-data) say a job's input location must be "the folder path
containing all linked resources", and "all resources must be in the same S3 bucket and folder".
A batch's records are planned into per-job input folders (``{input}{content id}/runs/p000/``)
whose names depend on the records themselves, so the caller cannot put the videos there. So,
as each input file is uploaded, every object its records link is **copied server-side** into
that job's input folder (``{folder}media/{12 hex of the source URI}-{file name}``: nested
folders are allowed by the docs) and the uploaded lines point at the copies. The records kept
locally (and the batch's identity) keep the caller's URIs; a retry's inputs, read back from the
first job's files, are copied again into the retry's own folder.

Refused with a :class:`~bedrock_batch.ValidationError`, before the file's JSONL is uploaded and
before any job is created (so nothing is paid for):

- an object in another bucket than the job's inputs (``add_*`` already refuses these when the
  record is added: a copy across buckets, accounts or Regions would need rights on the source
  that the job's role may not have, and the facts say nothing of it);
- an object that does not exist or cannot be read (the copy fails).

A copy already there (same size and ETag as its source) is not made again. Objects over 5 GB
(CopyObject's limit) are refused by S3; Nova's videos by ``s3Location`` are far smaller.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from typing import IO, Any

from .._common._codec import decode, encode_line
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import Problem, ServiceError, ValidationError

__all__ = ["MEDIA_FOLDER", "mentions_links", "with_linked_content"]

log = logging.getLogger("bedrock_batch")

#: The sub-folder of a job's input folder holding the copies of the content its records link.
MEDIA_FOLDER = "media"
_MARK = b'"s3Location"'


def mentions_links(body: IO[bytes]) -> bool:
    """Whether a readable, seekable ``body`` mentions ``s3Location`` anywhere (read from its
    start in blocks; left rewound to its start)."""
    keep = len(_MARK) - 1
    tail = b""
    body.seek(0)
    try:
        while block := body.read(1 << 20):
            if _MARK in tail + block[: len(_MARK)] or _MARK in block:
                return True
            tail = block[-keep:]
        return False
    finally:
        body.seek(0)


class _Copier:
    """Copies linked objects into one job's input folder, each once."""

    def __init__(self, s3: S3Access, folder: S3Uri) -> None:
        self.s3 = s3
        self.folder = folder
        self.copies: dict[str, str] = {}

    def target(self, uri: str, record_id: str) -> str:
        if uri.startswith(str(self.folder)):
            return uri  # already beside the JSONL
        found = self.copies.get(uri)
        if found is None:
            found = self.copies[uri] = self._copy(uri, record_id)
        return found

    def _copy(self, uri: str, record_id: str) -> str:
        def refuse(why: str) -> ValidationError:
            message = f"linked object {uri} cannot be put beside the job's inputs: {why}"
            return ValidationError(message, [Problem(why, record_id=record_id, field="s3Location")])

        try:
            source = S3Uri.parse(uri)
        except ValueError as err:
            raise refuse(str(err)) from None
        if source.bucket != self.folder.bucket:
            raise refuse(
                f"it is in bucket {source.bucket}, not the job's input bucket "
                f"{self.folder.bucket} (Bedrock reads linked content only from the job's input "
                "folder; copy it into the input bucket first)"
            )
        name = source.key.rsplit("/", 1)[-1]
        digest = hashlib.sha256(uri.encode()).hexdigest()[:12]
        dest = self.folder.join(MEDIA_FOLDER, f"{digest}-{name}")
        head = self.s3.head(source)
        if head is None:
            raise refuse("it does not exist")
        there = self.s3.head(dest)
        same = there is not None and all(there.get(k) == head.get(k) for k in ("ETag", "ContentLength"))  # fmt: skip
        if not same:
            try:
                self.s3._call(  # the same owner checks and error translation as every call
                    "CopyObject",
                    self.s3.client.copy_object,
                    Bucket=dest.bucket,
                    Key=dest.key,
                    CopySource={"Bucket": source.bucket, "Key": source.key},
                )
            except ServiceError as err:
                raise refuse(f"the copy failed ({err.code})") from None
            log.debug("copied %s to %s", uri, dest)
        return str(dest)


def _relocate(node: Any, copier: _Copier, record_id: str) -> Any:
    if isinstance(node, dict):
        out = {k: _relocate(v, copier, record_id) for k, v in node.items()}
        loc = out.get("s3Location")
        if isinstance(loc, dict) and isinstance(loc.get("uri"), str):
            out["s3Location"] = {**loc, "uri": copier.target(loc["uri"], record_id)}
        return out
    if isinstance(node, list):
        return [_relocate(v, copier, record_id) for v in node]
    return node


def with_linked_content(
    s3: S3Access, data: IO[bytes], folder: S3Uri, size: int, sha256: str
) -> tuple[int, str]:
    """Copy the objects the records of ``data`` (an input file about to be uploaded into
    ``folder``) link into ``folder`` and rewrite ``data`` to point at the copies; returns its
    (size, SHA-256), unchanged when no record links anything."""
    if not mentions_links(data):
        return size, sha256
    copier = _Copier(s3, folder)
    digest = hashlib.sha256()
    total = 0
    with tempfile.TemporaryFile(prefix="bedrock-batch-media-") as out:
        data.seek(0)
        for raw in data:
            line = raw
            if _MARK in raw:
                record = decode(raw)
                rid = str(record.get("recordId", ""))
                record["modelInput"] = _relocate(record.get("modelInput"), copier, rid)
                line = encode_line(record)
            out.write(line)
            digest.update(line)
            total += len(line)
        out.seek(0)
        data.seek(0)
        data.truncate()
        shutil.copyfileobj(out, data)
    data.flush()
    if copier.copies:
        log.info("copied %d linked object(s) into %s", len(copier.copies), folder)
    return total, digest.hexdigest()

"""``S3Access``: the one object through which the client talks to S3.

Every call here:

- is translated into the library's errors (:func:`~bedrock_batch._errors.translate_client_error`);
  "no such object" is an explicit ``None`` or :data:`MISSING` where the caller expects it, never
  a silent skip;
- carries ``ExpectedBucketOwner`` when the batch names a bucket owner;
- closes the response bodies it opens, even when the caller stops reading early;
- is counted by operation in :attr:`S3Access.calls` (benchmarks and tests read it).

Writes can be conditional (``IfNoneMatch="*"`` to create only, ``IfMatch=etag`` to replace
only what was read): a lost race raises :class:`PreconditionFailed`. Uploads go through boto3's
managed transfer from a file path; when one fails, the multipart uploads it left are aborted.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

import attrs
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from .._errors import NOT_FOUND_CODES, ServiceError, translate_client_error
from ._codec import decode, iter_lines
from ._s3uri import S3Uri

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_s3 import S3Client

__all__ = ["SINGLE_PUT_MAX", "PreconditionFailed", "S3Access", "StoredObject", "server_time"]

log = logging.getLogger("bedrock_batch")

_CHUNK = 1 << 20
#: Files up to this size are uploaded by one PutObject of their bytes; larger ones by boto3's
#: parallel multipart transfer. Tuned on moto (Local Bedrock), where a multipart completion
#: costs far more than on S3; on real S3 a single PUT cannot be retried by part, so a lower
#: ``TransferConfig(multipart_threshold=...)`` (which sets this) trades calls for resilience.
SINGLE_PUT_MAX = 64 << 20


class PreconditionFailed(ServiceError):
    """A conditional write lost: the object exists (create-only) or changed since it was read."""


@attrs.frozen
class StoredObject:
    """An object as read, with S3's own times (POSIX seconds): when it was last written
    (``Last-Modified``) and, when the answer said (its ``Date`` header), S3's time of the read."""

    data: bytes
    etag: str
    modified: float
    now: float | None


def server_time(resp: Mapping[str, Any], header: str = "date") -> float | None:
    """S3's clock as an answer reports it (its ``Date`` header, or another date header)."""
    headers = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    value = headers.get(header)
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(str(value)).timestamp()
    except (TypeError, ValueError):
        return None


class S3Access:
    """All S3 reads and writes of one batch (see the module docstring)."""

    def __init__(
        self,
        client: S3Client,
        *,
        bucket_owner: str | None = None,
        transfer_config: TransferConfig | None = None,
        upload_extra_args: Mapping[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.bucket_owner = bucket_owner
        self.transfer_config = transfer_config
        self.upload_extra_args = dict(upload_extra_args or {})
        #: S3 calls made, by operation.
        self.calls: Counter[str] = Counter()

    @property
    def single_put_max(self) -> int:
        """The largest file sent by one PutObject: the transfer config's
        ``multipart_threshold`` when one was given, else :data:`SINGLE_PUT_MAX` (64 MiB)."""
        config = self.transfer_config
        return SINGLE_PUT_MAX if config is None else int(config.multipart_threshold)

    def _owner(self) -> dict[str, Any]:
        return {"ExpectedBucketOwner": self.bucket_owner} if self.bucket_owner else {}

    def _call(self, operation: str, method: Any, **kwargs: Any) -> Any:
        self.calls[operation] += 1
        with translate_client_error(operation):
            return method(**kwargs, **self._owner())

    # -- reads -----------------------------------------------------------------------------

    def get(self, uri: S3Uri) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when there is no such object."""
        try:
            resp = self._call("GetObject", self.client.get_object, Bucket=uri.bucket, Key=uri.key)
        except ServiceError as err:
            if err.code in NOT_FOUND_CODES:
                return None
            raise
        with contextlib.closing(resp["Body"]) as body, translate_client_error("GetObject"):
            return body.read(), str(resp.get("ETag", ""))

    def read(self, uri: S3Uri) -> StoredObject | None:
        """The object with its S3 times (:class:`StoredObject`), or None when there is none."""
        try:
            resp = self._call("GetObject", self.client.get_object, Bucket=uri.bucket, Key=uri.key)
        except ServiceError as err:
            if err.code in NOT_FOUND_CODES:
                return None
            raise
        with contextlib.closing(resp["Body"]) as body, translate_client_error("GetObject"):
            data = body.read()
        modified = resp["LastModified"].timestamp()
        return StoredObject(data, str(resp.get("ETag", "")), modified, server_time(resp))

    def get_json(self, uri: S3Uri) -> tuple[Any, str] | None:
        """The parsed JSON object and its ETag, or None; ``ValueError`` when it is not JSON."""
        found = self.get(uri)
        if found is None:
            return None
        data, etag = found
        return decode(data), etag

    def head(self, uri: S3Uri) -> dict[str, Any] | None:
        """HeadObject's answer, or None when there is no such object."""
        try:
            resp: dict[str, Any] = self._call(
                "HeadObject", self.client.head_object, Bucket=uri.bucket, Key=uri.key
            )
        except ServiceError as err:
            if err.code in NOT_FOUND_CODES:
                return None
            raise
        return resp

    def exists(self, uri: S3Uri) -> bool:
        """Whether the object exists."""
        return self.head(uri) is not None

    def same_object(self, uri: S3Uri, sha256: str, size: int) -> bool:
        """Whether the object there has this SHA-256 (our metadata) and size."""
        head = self.head(uri)
        return bool(
            head is not None
            and head.get("Metadata", {}).get("sha256") == sha256
            and head.get("ContentLength") == size
        )

    def list(self, prefix: S3Uri, *, suffix: str = "") -> Iterator[tuple[str, int]]:
        """``(key, size)`` of every object under a prefix (all pages), optionally by suffix."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=prefix.bucket, Prefix=prefix.key, **self._owner())
        with translate_client_error("ListObjectsV2"):
            for page in pages:
                self.calls["ListObjectsV2"] += 1
                for obj in page.get("Contents", []):
                    if obj["Key"].endswith(suffix):
                        yield obj["Key"], int(obj["Size"])

    def lines(self, uri: S3Uri, *, chunk_size: int = _CHUNK) -> Iterator[tuple[int, bytes]]:
        """Stream an object's lines (split on ``\\n`` only); the body is always closed.

        Raises :class:`ServiceError` (``NoSuchKey`` included) when it cannot be read.
        """
        resp = self._call("GetObject", self.client.get_object, Bucket=uri.bucket, Key=uri.key)
        with contextlib.closing(resp["Body"]) as body, translate_client_error("GetObject"):
            yield from iter_lines(body.iter_chunks(chunk_size))

    # -- writes ----------------------------------------------------------------------------

    def put(
        self,
        uri: S3Uri,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        """PutObject; returns the new ETag. A conditional write that loses raises
        :class:`PreconditionFailed`."""
        return self.put_timed(
            uri, data, content_type=content_type, metadata=metadata,
            if_none_match=if_none_match, if_match=if_match,
        )[0]  # fmt: skip

    def put_timed(
        self,
        uri: S3Uri,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> tuple[str, float | None]:
        """:meth:`put`, also returning S3's time of the write when the answer says it (its
        ``Date``, else its ``Last-Modified`` header), else None."""
        kwargs: dict[str, Any] = {
            "Bucket": uri.bucket,
            "Key": uri.key,
            "Body": data,
            "ContentType": content_type,
        }
        if metadata:
            kwargs["Metadata"] = dict(metadata)
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        try:
            resp = self._call("PutObject", self.client.put_object, **kwargs)
        except ServiceError as err:
            lost = err.code in ("PreconditionFailed", "ConditionalRequestConflict") or (
                if_match is not None and err.code in NOT_FOUND_CODES
            )
            if lost:
                raise PreconditionFailed(
                    str(err.args[0]) if err.args else "precondition failed",
                    code="PreconditionFailed",
                    operation="PutObject",
                    status=err.status,
                    request_id=err.request_id,
                ) from err
            raise
        when = server_time(resp) or server_time(resp, "last-modified")
        return str(resp.get("ETag", "")), when

    def upload_bytes(
        self, uri: S3Uri, data: bytes | IO[bytes], *, metadata: Mapping[str, str]
    ) -> None:
        """One PutObject of ready bytes (or a seekable file of them), with the same extra
        arguments as :meth:`upload_file` (for files up to the single-PUT threshold: no
        multipart, no transfer threads)."""
        extra = {**self.upload_extra_args, "Metadata": dict(metadata)}
        self._call(
            "PutObject", self.client.put_object, Bucket=uri.bucket, Key=uri.key, Body=data, **extra
        )

    def upload_file(self, path: str, uri: S3Uri, *, metadata: Mapping[str, str]) -> None:
        """Upload a local file (multipart when large, through boto3's managed transfer).

        A failed upload leaves no incomplete multipart upload behind.
        """
        extra = {**self.upload_extra_args, **self._owner(), "Metadata": dict(metadata)}
        self.calls["Upload"] += 1
        try:
            with translate_client_error("PutObject"):
                try:
                    self.client.upload_file(
                        path, uri.bucket, uri.key, ExtraArgs=extra, Config=self.transfer_config
                    )
                except S3UploadFailedError as err:  # boto3 wraps the ClientError
                    cause = err.__cause__ or err.__context__
                    if isinstance(cause, (ClientError, BotoCoreError)):
                        raise cause from err
                    raise ServiceError(
                        str(err), code="UploadFailed", operation="PutObject"
                    ) from err
        except ServiceError:
            self.abort_incomplete_uploads(uri)
            raise

    def abort_incomplete_uploads(self, uri: S3Uri) -> int:
        """Abort every incomplete multipart upload of this key; returns how many (best effort)."""
        aborted = 0
        try:
            resp = self._call(
                "ListMultipartUploads",
                self.client.list_multipart_uploads,
                Bucket=uri.bucket,
                Prefix=uri.key,
            )
            for upload in resp.get("Uploads", []):
                if upload.get("Key") != uri.key:
                    continue
                self._call(
                    "AbortMultipartUpload",
                    self.client.abort_multipart_upload,
                    Bucket=uri.bucket,
                    Key=uri.key,
                    UploadId=upload["UploadId"],
                )
                aborted += 1
        except ServiceError as err:  # cleanup must not hide the upload's own error
            if err.code == "NoSuchBucket":  # no bucket, no upload left behind in it
                log.debug("no incomplete uploads to abort: %s", err)
            else:
                log.warning("could not abort incomplete uploads of %s: %s", uri, err)
        return aborted

    def delete(self, uri: S3Uri) -> None:
        """DeleteObject (no error when it is already gone)."""
        self._call("DeleteObject", self.client.delete_object, Bucket=uri.bucket, Key=uri.key)

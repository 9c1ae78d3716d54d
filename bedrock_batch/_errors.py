"""The exception tree of ``bedrock_batch``.

Everything the library raises on purpose derives from :class:`BatchError`::

    BatchError
    ├── ValidationError (also ValueError)      bad input, found before anything is paid for
    │   └── QuotaError                          the job would break a per-model quota
    ├── ServiceError                            an AWS call failed (wraps botocore's ClientError)
    ├── JobFailedError                          the job ended Failed
    │   ├── JobExpiredError                     the job ended Expired (never left Scheduled)
    │   └── JobStoppedError                     the job ended Stopped
    ├── PollTimeoutError (also TimeoutError)    ``wait()`` gave up before the job finished
    └── StateError                              the job handle is missing or inconsistent

``botocore.exceptions.ClientError`` is translated into :class:`ServiceError` at exactly one
boundary, :func:`translate_client_error`, which keeps the error code, the request id and the
original exception as ``__cause__``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
from botocore.exceptions import ClientError

__all__ = [
    "NOT_FOUND_CODES",
    "BatchError",
    "JobExpiredError",
    "JobFailedError",
    "JobStoppedError",
    "PollTimeoutError",
    "Problem",
    "QuotaError",
    "ServiceError",
    "StateError",
    "ValidationError",
    "translate_client_error",
]


#: Error codes S3 uses for "no such object" (HeadObject answers with the bare status "404").
NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class BatchError(Exception):
    """Root of every error ``bedrock_batch`` raises on purpose."""


@attrs.frozen
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    ``record_id`` and ``line`` (1-based, in the source JSONL file or in the order records were
    added) point at the offending record; ``field`` names the job parameter or record field.
    """

    message: str
    record_id: str | None = None
    line: int | None = None
    field: str | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record_id is not None:
            where.append(f"record {self.record_id!r}")
        if self.field:
            where.append(self.field)
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ValidationError(BatchError, ValueError):
    """Input that Bedrock would refuse or fail on; raised before any upload or job creation.

    ``problems`` lists every offending record or parameter (at most ``MAX_SHOWN`` are spelled out
    in the message; all of them stay on the attribute).
    """

    MAX_SHOWN = 20

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems: list[Problem] = list(problems)
        text = message
        if self.problems:
            shown = "\n".join(f"  - {p}" for p in self.problems[: self.MAX_SHOWN])
            more = len(self.problems) - self.MAX_SHOWN
            text = f"{message}\n{shown}" + (f"\n  ... and {more} more" if more > 0 else "")
        super().__init__(text)
        self.summary = message


class QuotaError(ValidationError):
    """The job would break one of the model's batch quotas (records or bytes)."""

    def __init__(
        self, message: str, problems: Sequence[Problem] = (), *, quota: str = "", limit: float = 0
    ) -> None:
        super().__init__(message, problems)
        self.quota = quota
        self.limit = limit


class ServiceError(BatchError):
    """An AWS API call failed.

    Carries the service's error ``code`` (e.g. ``ThrottlingException``), the HTTP ``status``, the
    ``request_id`` and the ``operation``; the original :class:`botocore.exceptions.ClientError` is
    the ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        operation: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        base = super().__str__()
        rid = f", request id {self.request_id}" if self.request_id else ""
        return f"{self.operation} failed with {self.code}{rid}: {base}"


class JobFailedError(BatchError):
    """The batch job reached a terminal status other than Completed / PartiallyCompleted."""

    def __init__(self, job_arn: str, status: str, message: str | None) -> None:
        self.job_arn = job_arn
        self.status = status
        self.message = message or ""
        detail = f": {self.message}" if self.message else ""
        super().__init__(f"batch job {job_arn} ended {status}{detail}")


class JobExpiredError(JobFailedError):
    """The job was still Scheduled when its timeout ran out (status Expired)."""


class JobStoppedError(JobFailedError):
    """The job was stopped (status Stopped); records processed before the stop keep outputs."""


class PollTimeoutError(BatchError, TimeoutError):
    """``wait()`` ran out of time; the job itself keeps running on Bedrock."""

    def __init__(self, job_arn: str, status: str, waited: float) -> None:
        self.job_arn = job_arn
        self.status = status
        self.waited = waited
        super().__init__(
            f"gave up waiting for {job_arn} after {waited:.0f}s (last status {status}); "
            f"the job keeps running: BatchJob.attach({job_arn!r}) to pick it up again"
        )


class StateError(BatchError):
    """A job handle or its persisted state is missing or does not match."""


def _client_error_parts(err: ClientError) -> tuple[str, str, int | None, str | None]:
    response: dict[str, Any] = dict(err.response or {})
    error = response.get("Error", {}) or {}
    meta = response.get("ResponseMetadata", {}) or {}
    code = str(error.get("Code") or "Unknown")
    message = str(error.get("Message") or err)
    status = meta.get("HTTPStatusCode")
    request_id = meta.get("RequestId")
    return code, message, status if isinstance(status, int) else None, request_id


@contextlib.contextmanager
def translate_client_error(operation: str) -> Iterator[None]:
    """Translate botocore's ``ClientError`` raised inside the block into :class:`ServiceError`."""
    try:
        yield
    except ClientError as err:
        code, message, status, request_id = _client_error_parts(err)
        raise ServiceError(
            message, code=code, operation=operation, status=status, request_id=request_id
        ) from err

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
    ├── ConfigError                             the saved defaults file cannot be used
    ├── SetupError                              ``setup`` cannot create or reuse a resource
    └── StateError                              the batch is not in a state for this call
        ├── NotFinishedError                    results asked for while the batch still runs
        └── LedgerError                         the batch's ledger in S3 is corrupt or unknown

Every botocore error is translated at exactly one boundary, :func:`translate_client_error`:
``ClientError`` and the transport/configuration errors (no credentials, no region, connection
failures, timeouts) become :class:`ServiceError`, keeping the error code, the request id and the
original exception as ``__cause__``; botocore's parameter validation becomes
:class:`ValidationError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

__all__ = [
    "NOT_FOUND_CODES",
    "TRANSIENT_CODES",
    "LedgerError",
    "BatchError",
    "NotFinishedError",
    "JobExpiredError",
    "JobFailedError",
    "JobStoppedError",
    "PollTimeoutError",
    "Problem",
    "QuotaError",
    "ServiceError",
    "SetupError",
    "StateError",
    "ValidationError",
    "service_error_from",
    "translate_client_error",
]


#: Error codes S3 uses for "no such object" (HeadObject answers with the bare status "404").
NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})

#: The one set of error codes that mean "try again later": the call did nothing. botocore's
#: standard retry mode already retried them; we only decide what happens after that.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalServerException",
        "InternalError",
        "InternalFailure",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "ConnectionError",
    }
)


class BatchError(Exception):
    """Root of every error ``bedrock_batch`` raises on purpose."""


@attrs.frozen
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    ``record_id`` and ``line`` (1-based, in the source JSONL file or in the order records were
    added) point at the offending record; ``field`` names the job parameter or record field.
    ``record_id`` is the caller's id (None when the record had none, or it could not be read:
    a refused record is never given a generated id). ``key`` is the caller's key of a refused
    record, when it could be read and persisted (``on_invalid="skip"``).
    """

    message: str
    record_id: str | None = None
    line: int | None = None
    field: str | None = None
    source: str | None = None
    key: Any = attrs.field(default=None, eq=False)

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


class BudgetError(ValidationError):
    """The batch could cost more than ``max_cost_usd`` (or its cost cannot be bounded):
    raised before anything is uploaded, created or invoked.

    ``bound`` is the most the refused step could cost (None when it cannot be bounded),
    ``spent`` what the batch has already spent (retries), ``cap`` the ceiling, and
    ``prices_as_of`` the date of the price table used.
    """

    def __init__(
        self,
        message: str,
        *,
        cap: float,
        bound: float | None = None,
        spent: float = 0.0,
        prices_as_of: str | None = None,
    ) -> None:
        super().__init__(message)
        self.cap = cap
        self.bound = bound
        self.spent = spent
        self.prices_as_of = prices_as_of


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

    @property
    def transient(self) -> bool:
        """True when trying again later can succeed (throttling, 5xx, a lost connection)."""
        return self.code in TRANSIENT_CODES or (self.status is not None and self.status >= 500)


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
    """The batch is not in a state for this call (not submitted, already submitted, running...)."""


class NotFinishedError(StateError):
    """The batch has not finished: its results (or its summary) would show records that are
    still being answered as ``missing``. ``partial=True`` reads what there is so far.

    Carries the batch's ``status`` and its record counters (None when Bedrock has not reported
    them yet).
    """

    def __init__(self, status: str, processed: int | None = None, total: int | None = None) -> None:
        self.status = status
        self.processed = processed
        self.total = total
        so_far = (
            f"{processed or 0} of {total} records answered so far"
            if total
            else "no records answered yet"
        )
        super().__init__(f"the batch is {status}: {so_far}; pass partial=True to read them")


class LedgerError(StateError):
    """The batch's ledger in S3 cannot be read: corrupt JSON, an unknown format version, or a
    shape this version does not understand. ``uri`` names the object."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri = uri
        self.reason = reason
        super().__init__(f"the batch ledger {uri} cannot be used: {reason}")


class ConfigError(BatchError):
    """The saved configuration file (``bedrock-batch setup``'s defaults) cannot be used: not
    JSON, a newer format version, or a malformed entry. ``path`` names the file."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"the bedrock_batch configuration {path} cannot be used: {reason}")


class SetupError(BatchError):
    """``bedrock_batch.setup()`` cannot create or reuse a resource: a permission it lacks
    (``action`` names the IAM action, e.g. ``iam:CreateRole``), or a bucket name owned by
    another account."""

    def __init__(self, message: str, *, action: str | None = None) -> None:
        self.action = action
        super().__init__(message)


def _client_error_parts(err: ClientError) -> tuple[str, str, int | None, str | None]:
    response: dict[str, Any] = dict(err.response or {})
    error = response.get("Error", {}) or {}
    meta = response.get("ResponseMetadata", {}) or {}
    code = str(error.get("Code") or "Unknown")
    message = str(error.get("Message") or err)
    status = meta.get("HTTPStatusCode")
    request_id = meta.get("RequestId")
    return code, message, status if isinstance(status, int) else None, request_id


_BOTOCORE_HINTS = {
    "NoCredentialsError": "no AWS credentials were found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID "
    "and AWS_SECRET_ACCESS_KEY, or pass a boto3 session)",
    "NoRegionError": "no AWS region is configured (pass a session with region_name, or set "
    "AWS_DEFAULT_REGION)",
    "ProfileNotFound": "the AWS profile does not exist in your AWS config",
    "PartialCredentialsError": "the AWS credentials are incomplete",
}


def _transport_code(err: BotoCoreError) -> str:
    name = type(err).__name__
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return "ConnectionError"
    if name.endswith("ConnectionError") or "Timeout" in name:
        return "ConnectionError"
    return name


def service_error_from(err: BaseException, operation: str) -> BatchError:
    """The library's error for a botocore exception (see :func:`translate_client_error`)."""
    if isinstance(err, ClientError):
        code, message, status, request_id = _client_error_parts(err)
        return ServiceError(
            message, code=code, operation=operation, status=status, request_id=request_id
        )
    if isinstance(err, ParamValidationError):
        return ValidationError(f"{operation}: invalid request parameters: {err}")
    assert isinstance(err, BotoCoreError)
    name = type(err).__name__
    message = _BOTOCORE_HINTS.get(name, str(err))
    return ServiceError(message, code=_transport_code(err), operation=operation)


@contextlib.contextmanager
def translate_client_error(operation: str) -> Iterator[None]:
    """Translate every botocore error raised inside the block into the library's errors.

    ``ClientError`` and botocore's transport and configuration errors become
    :class:`ServiceError` (connection failures and timeouts with the code ``ConnectionError``);
    botocore's own parameter validation becomes :class:`ValidationError`.
    """
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        raise service_error_from(err, operation) from err

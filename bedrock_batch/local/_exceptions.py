"""The AWS errors Local Bedrock answers with: one class per error code.

Each carries the HTTP status and the code AWS puts in ``x-amzn-ErrorType``; the body is
``{"message": ...}`` as in every Bedrock error shape (moto's ``exceptions.py`` has the same
cut)::

    ServiceException
    ├── ValidationException               400
    ├── ConflictException                 400
    ├── ServiceQuotaExceededException     400
    ├── TooManyTagsException              400
    ├── AccessDeniedException             403
    ├── ResourceNotFoundException         404
    ├── UnknownOperationException         404
    ├── NoSuchResourceException           400  (Service Quotas)
    ├── IllegalArgumentException          400  (Service Quotas)
    ├── ThrottlingException               429
    └── InternalServerException           500
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDeniedException",
    "AnswerLost",
    "ConflictException",
    "IllegalArgumentException",
    "InternalServerException",
    "NoSuchResourceException",
    "ResourceNotFoundException",
    "ServiceException",
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "TooManyTagsException",
    "UnknownOperationException",
    "ValidationException",
]


class ServiceException(Exception):
    """An AWS error answer. Subclasses fix ``code`` and ``status``."""

    code: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationException(ServiceException):
    """The request breaks a rule of the service model or of the service."""

    code = "ValidationException"


class ConflictException(ServiceException):
    """The request conflicts with the resource's state (or a reused idempotency token)."""

    code = "ConflictException"


class ServiceQuotaExceededException(ServiceException):
    """Too many active jobs for the model."""

    code = "ServiceQuotaExceededException"


class TooManyTagsException(ServiceException):
    """More than 200 tags on a resource."""

    code = "TooManyTagsException"


class AccessDeniedException(ServiceException):
    """The caller may not do this (passing a role of another account)."""

    code = "AccessDeniedException"
    status = 403


class ResourceNotFoundException(ServiceException):
    """No such job in this account and region."""

    code = "ResourceNotFoundException"
    status = 404


class UnknownOperationException(ServiceException):
    """A request Local Bedrock does not implement."""

    code = "UnknownOperationException"
    status = 404


class NoSuchResourceException(ServiceException):
    """Service Quotas: no such service or quota."""

    code = "NoSuchResourceException"


class IllegalArgumentException(ServiceException):
    """Service Quotas: a malformed argument (e.g. a bad NextToken)."""

    code = "IllegalArgumentException"


class ThrottlingException(ServiceException):
    """Too many requests (injected)."""

    code = "ThrottlingException"
    status = 429


class InternalServerException(ServiceException):
    """A server-side failure (injected)."""

    code = "InternalServerException"
    status = 500


class AnswerLost(Exception):
    """The operation took effect but its answer never reaches the client (an injected fault):
    the in-process transport raises a read timeout, a served emulator drops the connection."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"the answer of {operation} was lost (injected after it took effect)")
        self.operation = operation

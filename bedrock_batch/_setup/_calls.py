"""One AWS call of ``setup``: a permission it lacks becomes a :class:`SetupError` naming the IAM
action, every other botocore error the library's :class:`ServiceError`."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .._errors import SetupError, service_error_from

__all__ = ["ACCESS_DENIED", "WRITE_OPERATIONS", "aws_call", "error_code", "iam_action"]

#: Error codes that mean "this identity may not do that".
ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AllAccessDisabled"}
)
#: The IAM action of each S3 operation whose name is not its action's.
_S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
}
#: Every operation ``setup`` may make that changes something (``--dry-run`` makes none).
WRITE_OPERATIONS = frozenset(
    {
        "CreateBucket",
        "PutPublicAccessBlock",
        "PutBucketEncryption",
        "PutBucketLifecycleConfiguration",
        "CreateRole",
        "PutRolePolicy",
        "UpdateAssumeRolePolicy",
    }
)


def iam_action(service: str, operation: str) -> str:
    """The IAM action an operation needs (``iam:CreateRole``, ``s3:ListBucket`` for HeadBucket)."""
    if service == "s3":
        return _S3_ACTIONS.get(operation, f"s3:{operation}")
    return f"{service}:{operation}"


def error_code(err: ClientError) -> str:
    """The error code of a ClientError (HEAD answers carry only the status, e.g. ``"403"``)."""
    return str((err.response or {}).get("Error", {}).get("Code") or "")


def aws_call(client: Any, operation: str, *, expect: tuple[str, ...] = (), **kwargs: Any) -> Any:
    """``client.<operation>(**kwargs)`` (operation in botocore's CamelCase) with setup's errors.

    A ClientError whose code is in ``expect`` is raised as it is (the caller handles it, e.g.
    ``NoSuchEntity``); a permission error becomes :class:`SetupError`; the rest
    :class:`ServiceError`."""
    method = getattr(client, _snake(operation))
    try:
        return method(**kwargs)
    except ClientError as err:
        code = error_code(err)
        if code in ACCESS_DENIED or (code == "403" and operation != "HeadBucket"):
            service = client.meta.service_model.endpoint_prefix
            action = iam_action(service, operation)
            raise SetupError(
                f"setup needs {action} ({code} on {operation}): ask an administrator for it, "
                "or run setup with credentials that have it",
                action=action,
            ) from None
        if code in expect:
            raise
        raise service_error_from(err, operation) from err
    except BotoCoreError as err:
        raise service_error_from(err, operation) from err


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)

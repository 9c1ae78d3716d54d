"""The S3 bucket of ``setup``: created private and encrypted, or reused only when this account
owns it (``HeadBucket`` with ``ExpectedBucketOwner``); an existing bucket is never changed,
(no lifecycle rule: see ``docs/setup.md`` for why inputs are not expired)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .._errors import SetupError
from ._calls import aws_call, error_code
from ._steps import CREATED, FOUND, Step

__all__ = ["ensure_bucket"]

_PRIVATE = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
_SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def _exists(s3: Any, name: str, account: str) -> dict[str, Any] | None:
    """HeadBucket's answer when this account owns the bucket, None when there is none; another
    owner's bucket is an error."""
    try:
        answer: dict[str, Any] = aws_call(
            s3, "HeadBucket", expect=("403", "404", "NoSuchBucket"), Bucket=name,
            ExpectedBucketOwner=account,
        )  # fmt: skip
        return answer
    except ClientError as err:
        if error_code(err) in ("404", "NoSuchBucket"):
            return None
        raise SetupError(
            f"the S3 bucket {name} exists but account {account} does not own it (or these "
            "credentials lack s3:ListBucket on it): setup never uses another account's bucket; "
            "choose another name with --bucket",
            action="s3:ListBucket",
        ) from None


def _public_access_note(s3: Any, name: str, account: str) -> str:
    try:
        conf = aws_call(
            s3, "GetPublicAccessBlock", expect=("NoSuchPublicAccessBlockConfiguration",),
            Bucket=name, ExpectedBucketOwner=account,
        )["PublicAccessBlockConfiguration"]  # fmt: skip
    except ClientError:
        conf = {}
    if all(conf.get(k) for k in _PRIVATE):
        return ""
    return "public access is not fully blocked on it; setup does not change an existing bucket"


def ensure_bucket(
    s3: Any, name: str, *, account: str, region: str, dry_run: bool,
) -> list[Step]:  # fmt: skip
    """Create or find the bucket; the steps say which."""
    found = _exists(s3, name, account)
    if found is None:
        return _create(s3, name, account, region, dry_run)
    steps: list[Step] = []
    notes = []
    where = found.get("BucketRegion") or (
        found.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    )
    if where and where != region:
        notes.append(f"it is in {where}, not {region}: jobs in {region} may be slower or fail")
    note = _public_access_note(s3, name, account)
    if note:
        notes.append(note)
    steps.append(Step("bucket", name, FOUND, "; ".join(notes)))
    return steps


def _create(
    s3: Any, name: str, account: str, region: str, dry_run: bool
) -> list[Step]:  # fmt: skip
    detail = "public access blocked, default encryption SSE-S3"
    if dry_run:
        return [Step("bucket", name, "would create", detail)]
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        aws_call(s3, "CreateBucket", expect=("BucketAlreadyExists", "BucketAlreadyOwnedByYou"), **kwargs)  # fmt: skip
    except ClientError as err:
        if error_code(err) == "BucketAlreadyExists":
            raise SetupError(
                f"the S3 bucket name {name} is taken by another account (bucket names are "
                "global): choose another with --bucket"
            ) from None
    owner: dict[str, Any] = {"Bucket": name, "ExpectedBucketOwner": account}
    aws_call(s3, "PutPublicAccessBlock", PublicAccessBlockConfiguration=_PRIVATE, **owner)
    aws_call(s3, "PutBucketEncryption", ServerSideEncryptionConfiguration=_SSE_S3, **owner)
    return [Step("bucket", name, CREATED, detail)]

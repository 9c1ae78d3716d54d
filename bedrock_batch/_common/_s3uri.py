"""``s3://bucket/key`` URIs, validated against the pattern Bedrock's API enforces."""

from __future__ import annotations

import re

import attrs

__all__ = ["S3_URI_PATTERN", "S3Uri"]

#: From botocore's service model (S3Uri); Bedrock refuses anything else.
S3_URI_PATTERN = re.compile(
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
)


def _why(bucket: str) -> str:
    """What is wrong with a URI the pattern refused, bucket first."""
    if not 3 <= len(bucket) <= 63:
        return f"a bucket name is 3 to 63 characters long, and {bucket!r} has {len(bucket)}"
    if not re.fullmatch(r"[a-z0-9][-.a-z0-9]*[a-z0-9]", bucket):
        return (
            f"the bucket {bucket!r} may hold only lower-case letters, digits, dots and hyphens, "
            "and starts and ends with a letter or digit"
        )
    return "key characters are A-Z a-z 0-9 - ! _ * ' ( ) . and / (no empty segment, no space)"


@attrs.frozen
class S3Uri:
    """A bucket and a key (or key prefix)."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        """Parse ``s3://bucket/key``; raises ``ValueError`` when Bedrock would refuse the URI."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ValueError(f"not an S3 URI (expected s3://bucket/prefix): {uri!r}")
        rest = uri[len("s3://") :]
        bucket, _, key = rest.partition("/")
        if len(uri) > 1024 or not S3_URI_PATTERN.fullmatch(uri):
            why = "longer than 1,024 characters" if len(uri) > 1024 else _why(bucket)
            raise ValueError(f"S3 URI {uri!r} does not match Bedrock's pattern: {why}")
        return cls(bucket, key)

    @property
    def prefix(self) -> str:
        """The key as a folder prefix: empty, or ending in exactly one ``/``."""
        return self.key.rstrip("/") + "/" if self.key.strip("/") else ""

    def join(self, *parts: str) -> S3Uri:
        """A child URI: ``s3://b/a/`` joined with ``x``, ``y.jsonl`` is ``s3://b/a/x/y.jsonl``."""
        tail = "/".join(p.strip("/") for p in parts if p.strip("/"))
        return S3Uri(self.bucket, self.prefix + tail)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

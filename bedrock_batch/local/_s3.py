"""S3 locations as the emulator reads them from requests (``s3://bucket/key``)."""

from __future__ import annotations

import attrs

__all__ = ["S3Location", "split_s3_uri"]


@attrs.frozen
class S3Location:
    """A bucket and a key (or key prefix)."""

    bucket: str
    key: str

    def join(self, name: str) -> S3Location:
        """The location ``name`` below this one, whether or not the key ends with ``/``."""
        base = self.key.rstrip("/")
        return S3Location(self.bucket, f"{base}/{name}" if base else name)


def split_s3_uri(uri: str) -> S3Location:
    """Split ``s3://bucket/key``; raises ValueError for anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in S3 URI: {uri!r}")
    return S3Location(bucket, key)

"""S3's clock, moved forward: moto stamps every object it stores (``Last-Modified``) with
``moto.s3.models.utcnow``; :class:`S3Clock` adds an offset to it, so a test can let S3's time pass
(a process stalled past a claim's TTL) without sleeping and without touching the local clock."""

from __future__ import annotations

import datetime as dt

import moto.s3.models
import pytest


class S3Clock:
    """S3's time as moto reports it, ``offset`` seconds ahead of the real time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = moto.s3.models.utcnow
        monkeypatch.setattr(
            moto.s3.models, "utcnow", lambda: real() + dt.timedelta(seconds=self.offset)
        )

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on S3's clock."""
        self.offset += seconds

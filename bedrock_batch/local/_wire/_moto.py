"""moto's process-wide state, as Local Bedrock sees it: whether ``mock_aws`` is on, and dropping
the data of served S3 when the last server of the process stops."""

from __future__ import annotations

import threading

__all__ = ["moto_is_mocking", "served", "unserved"]


class _Live:
    """The servers of this process whose moto app is answering (moto's state is per process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0


_LIVE = _Live()


def moto_is_mocking() -> bool:
    """Whether moto's ``mock_aws`` intercepts AWS calls in this process right now."""
    try:
        from moto.core.models import botocore_stubber
    except ImportError:
        return False
    return bool(getattr(botocore_stubber, "enabled", False))


def served() -> None:
    """A server of this process started answering with moto's app."""
    with _LIVE.lock:
        _LIVE.count += 1


def unserved() -> None:
    """A server stopped. moto's backends are process-wide: servers running at the same time
    share their S3, and the last one to stop drops its data (as an in-process emulator does on
    leaving), unless ``mock_aws`` is on (an in-process emulator's data lives there too)."""
    with _LIVE.lock:
        _LIVE.count = max(0, _LIVE.count - 1)
        if _LIVE.count or moto_is_mocking():
            return
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()

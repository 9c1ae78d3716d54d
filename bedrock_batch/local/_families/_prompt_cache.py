"""The emulator's prompt cache store (the rules are in :mod:`._cache`)."""

from __future__ import annotations

import hashlib
import threading

__all__ = ["PromptCache"]


class PromptCache:
    """The cached prefixes seen so far, by digest."""

    def __init__(self, min_tokens: int = 1024) -> None:
        self.min_tokens = min_tokens
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def account(self, prefix: tuple[str, int] | None) -> tuple[int, int]:
        """(cache-read tokens, cache-write tokens) of a request whose cached prefix is
        ``prefix`` (its canonical JSON and its tokens; None: no marker)."""
        if prefix is None or prefix[1] < self.min_tokens:
            return 0, 0
        key = hashlib.blake2b(prefix[0].encode("utf-8"), digest_size=16).digest()
        with self._lock:
            if key in self._seen:
                return prefix[1], 0
            self._seen.add(key)
        return 0, prefix[1]

"""Claims on on-demand slices: fenced, judged by S3's clock, taken over early only from the dead.

A process answers a slice of an on-demand run only while it holds the slice's claim, an object
``claims/sNNNNN.json`` beside the run's inputs::

    {"owner": <the runner's id>, "fence": n, "boot": <boot id>, "pidns": <pid namespace>,
     "pid": <pid>, "start": <the pid's start time, /proc/<pid>/stat>, "host": <hostname>}

- **Fenced.** A claim is created with ``IfNoneMatch="*"`` (fence 1) and taken over only with
  ``IfMatch`` the ETag read, with the next fence: of two processes racing, one wins. The holder
  is told by the ETag: a claimant checks that the claim is still the object it wrote — before
  its first call, then before a call whenever :data:`CLAIM_CHECK_CALLS` calls were made since
  the last check or either the monotonic or the wall clock says :data:`CLAIM_CHECK_SECONDS`
  passed (a stall — SIGSTOP, a long GC, a suspended laptop — shows on one of them) — and stops
  answering the slice the moment the check fails. Its answers not saved yet are dropped (the
  new holder asks for them), and it never marks the slice done.
- **Judged by S3's clock.** A claim may be taken over when it was not rewritten for the run's
  ``claim_ttl`` seconds *by S3's clock*: its ``Last-Modified`` against S3's time of the read
  (the answer's ``Date`` header, or the time of a write of our own). No local clock is compared
  with the claim, so a clock hours ahead does not expire a live claim. The holder rewrites its
  claim at a check once ``claim_ttl / 3`` passed since the last rewrite.
- **Dead owners.** A claim whose owner is *provably* dead is taken over at once: the same boot
  id (``/proc/sys/kernel/random/boot_id``) and pid namespace as ours, and no live process with
  the owner's pid and start time (pids are reused; hostnames repeat in containers, so they
  prove nothing). Otherwise the claimant logs how long the claim has left and leaves the slice
  to its owner until then.

The promise this makes: after a takeover, the former holder makes at most
``CLAIM_CHECK_CALLS + concurrency`` more calls for the slice (those before its next check and
those in flight), and only those in flight when its stall shows on a clock. A call cannot be
fenced at Bedrock: a holder stalled between its check and its call still makes that call, and
the new holder, which did not see its answer saved, asks for the record too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import attrs

from .._common._codec import decode, encode
from .._common._s3 import PreconditionFailed, S3Access, StoredObject
from .._common._s3uri import S3Uri

__all__ = ["CLAIM_CHECK_CALLS", "CLAIM_CHECK_SECONDS", "Claims", "Held", "ProcessIdentity"]

log = logging.getLogger("bedrock_batch")

#: A claimant checks its claim before a call once this many calls were made since its last
#: check ...
CLAIM_CHECK_CALLS = 8
#: ... or once this many seconds passed on either its monotonic or its wall clock.
CLAIM_CHECK_SECONDS = 1.0

_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _start_time(pid: int) -> int | None:
    """The start time of a live process (clock ticks after boot), None when there is none
    (or only a zombie: it is dead, not reaped yet)."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None or ")" not in stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@attrs.frozen
class ProcessIdentity:
    """Who holds a claim, precisely enough to tell on the same machine that it died."""

    boot: str | None
    pidns: str | None
    pid: int
    start: int | None
    host: str

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity:
        """The identity of a process of this machine (and pid namespace)."""
        boot = _read(_BOOT_ID)
        return cls(
            boot.strip() if boot else None, _pid_namespace(), pid, _start_time(pid),
            socket.gethostname(),
        )  # fmt: skip

    @classmethod
    def current(cls) -> ProcessIdentity:
        """This process's identity."""
        return cls.of(os.getpid())

    def as_json(self) -> dict[str, Any]:
        """Its fields, for a claim object."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ProcessIdentity | None:
        """Read back from a claim object (None when it carries none, or a malformed one)."""
        try:
            return cls(
                data.get("boot"), data.get("pidns"), int(data["pid"]),
                None if data.get("start") is None else int(data["start"]), str(data.get("host")),
            )  # fmt: skip
        except (AttributeError, KeyError, TypeError, ValueError):
            return None

    def provably_dead(self) -> bool:
        """True only when this process can prove the owner is gone: same boot and pid namespace,
        and no live process with its pid and start time."""
        here = ProcessIdentity.of(self.pid)
        if None in (self.boot, self.pidns, self.start, here.boot, here.pidns):
            return False
        if (self.boot, self.pidns) != (here.boot, here.pidns):
            return False
        return here.start != self.start


@attrs.define
class Held:
    """A claim this process holds (and checks)."""

    uri: S3Uri
    etag: str
    fence: int
    body: bytes
    #: When it was last rewritten (monotonic, wall) and last checked (monotonic, wall).
    written: tuple[float, float]
    checked: tuple[float, float]
    calls: int = 0
    lost: bool = False


class Claims:
    """Claims a runner makes and checks (see the module docstring).

    Args:
        s3: the batch's S3 access.
        owner: the runner's id (unique per runner).
        ttl: seconds, by S3's clock, after which an unrefreshed claim may be taken over.
        clock: the wall clock (only to notice stalls; expiry is judged by S3's clock).
        identity: this process (tests may claim on behalf of another).
    """

    def __init__(
        self,
        s3: S3Access,
        *,
        owner: str,
        ttl: float,
        clock: Callable[[], float] = time.time,
        identity: ProcessIdentity | None = None,
    ) -> None:
        self.s3 = s3
        self.owner = owner
        self.ttl = ttl
        self.clock = clock
        self._identity = identity
        self._current: ProcessIdentity | None = None
        #: Seconds until the soonest claim found held by a live owner may be taken over (the
        #: longest a resumed run waits for it), since the last :meth:`reset`.
        self.wait_hint = 0.0
        self._told: set[tuple[str, str]] = set()  # claims whose wait was logged (once each)

    @property
    def identity(self) -> ProcessIdentity:
        """The process the claims name: the one making them (read again after a fork), unless
        one was given."""
        if self._identity is not None:
            return self._identity
        if self._current is None or self._current.pid != os.getpid():
            self._current = ProcessIdentity.current()
        return self._current

    def reset(self) -> None:
        """Forget the waits noted so far."""
        self.wait_hint = 0.0

    def _body(self, fence: int) -> bytes:
        return encode({"owner": self.owner, "fence": fence, **self.identity.as_json()})

    def _held(self, uri: S3Uri, etag: str, fence: int, body: bytes) -> Held:
        now = (time.monotonic(), self.clock())
        return Held(uri, etag, fence, body, now, now)

    def claim(self, uri: S3Uri) -> Held | None:
        """Claim a slice; None when a live owner (or a faster claimant) holds it."""
        first = self._body(1)
        with contextlib.suppress(PreconditionFailed):
            return self._held(uri, self.s3.put(uri, first, if_none_match=True, **_JSON), 1, first)
        found = self.s3.read(uri)
        if found is None:  # released meanwhile: try once more
            try:
                return self._held(uri, self.s3.put(uri, first, if_none_match=True, **_JSON), 1, first)  # fmt: skip
            except PreconditionFailed:
                return None
        try:
            data = decode(found.data)
            owner, fence = data.get("owner"), int(data.get("fence", 0))
        except (ValueError, AttributeError, TypeError):
            data, owner, fence = None, None, 0
        if owner == self.owner:  # ours already (an earlier call of this runner)
            return self._held(uri, found.etag, fence, found.data)
        holder = ProcessIdentity.from_json(data)
        dead = holder is not None and holder.provably_dead()
        age = self._age(uri, found)
        if not dead and age <= self.ttl:
            left = self.ttl - age
            who = f"pid {holder.pid} on {holder.host}" if holder else "an unknown process"
            if (str(uri), found.etag) not in self._told:
                self._told.add((str(uri), found.etag))
                log.info(
                    "%s is claimed by %s; it may be taken over in %.0f s (by S3's clock) unless "
                    "its owner refreshes it", uri, who, left,
                )  # fmt: skip
            self.wait_hint = left if self.wait_hint <= 0 else min(self.wait_hint, left)
            return None
        body = self._body(fence + 1)
        try:
            etag = self.s3.put(uri, body, if_match=found.etag, **_JSON)
        except PreconditionFailed:
            return None
        why = "its owner's process is gone" if dead else f"not refreshed for {age:.0f} s"
        log.warning("took over %s (fence %d): %s", uri, fence + 1, why)
        return self._held(uri, etag, fence + 1, body)

    def _age(self, uri: S3Uri, found: StoredObject) -> float:
        """Seconds since the claim was last written, by S3's clock."""
        now = found.now
        if now is None:  # the read did not say S3's time: a write of our own does
            probe = S3Uri(uri.bucket, uri.key.rsplit("/", 1)[0] + f"/clock-{self.owner[:12]}")
            _, now = self.s3.put_timed(probe, b"")
            if now is None:
                written = self.s3.read(probe)
                now = written.modified if written is not None else found.modified
        return now - found.modified

    def due(self, held: Held) -> bool:
        """Whether the claim must be checked before the next call (the bound)."""
        mono, wall = held.checked
        return (
            held.calls >= CLAIM_CHECK_CALLS
            or time.monotonic() - mono >= CLAIM_CHECK_SECONDS
            or abs(self.clock() - wall) >= CLAIM_CHECK_SECONDS
        )

    def still_held(self, held: Held) -> bool:
        """Asked before each call: checks the claim when :meth:`due`; False once it is lost."""
        if not held.lost and self.due(held):
            self.check(held)
        held.calls += 1
        return not held.lost

    def check(self, held: Held) -> bool:
        """Check the claim now (rewriting it when ``ttl / 3`` passed since the last write);
        False, and ``held.lost``, when another process took it over."""
        if held.lost:
            return False
        mono, wall = time.monotonic(), self.clock()
        refresh = max(mono - held.written[0], abs(wall - held.written[1])) >= self.ttl / 3
        if refresh:
            try:
                held.etag = self.s3.put(held.uri, held.body, if_match=held.etag, **_JSON)
                held.written = (mono, wall)
            except PreconditionFailed:
                held.lost = True
        else:
            head = self.s3.head(held.uri)
            held.lost = head is None or str(head.get("ETag", "")) != held.etag
        if held.lost:
            log.warning("%s was taken over by another process: no more calls for it", held.uri)
        held.checked, held.calls = (mono, wall), 0
        return not held.lost

    def keep_alive(self, held: Held) -> None:
        """Rewrite the claim if it is due for it (while calls take long)."""
        if (
            not held.lost
            and max(time.monotonic() - held.written[0], abs(self.clock() - held.written[1]))
            >= self.ttl / 3
        ):
            self.check(held)

    def release(self, held: Held) -> None:
        """Delete the claim (the slice is done or left for others), if it is still ours."""
        if self.check(held):
            self.s3.delete(held.uri)


_JSON: dict[str, Any] = {"content_type": "application/json"}

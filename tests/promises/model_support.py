"""What the model-based test (``test_model_based.py``) needs beside Local Bedrock's own knobs:
actions run from inside a botocore call of one handle (a crash, a lost answer, another handle
acting), a count of the answers each record was paid for, and a wall-clock jump."""

from __future__ import annotations

import datetime
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
from botocore.exceptions import ReadTimeoutError

from bedrock_batch._common._codec import decode

from ..support import prompt_of

__all__ = ["Armed", "Crash", "Hooks", "PaidAnswers", "WallClock", "lose_answer"]


class Crash(BaseException):
    """The process dies here. A BaseException, so no ``except Exception`` of the library sees
    it; the handle whose call raised it is discarded (its in-memory state is gone) and a fresh
    handle continues on the same batch."""


def lose_answer() -> None:
    """The call took effect but its answer never arrived (raised after botocore's retries)."""
    raise ReadTimeoutError(endpoint_url="https://lost-answer.invalid")


@attrs.define
class Armed:
    """An action to run inside the ``skip + 1``-th call of ``operation`` (``phase``: ``before``
    it is sent or ``after`` its answer arrived) whose S3 key, if any, ``key`` accepts."""

    phase: str
    operation: str
    action: Callable[[], None]
    skip: int = 0
    key: Callable[[str], bool] = lambda _: True
    fired: bool = False


class Hooks:
    """Runs :class:`Armed` actions from inside the calls of the given clients (one handle's
    clients: another handle's calls are never hooked). One action at a time; while it runs,
    the other calls of these clients wait (the whole process is paused inside the call)."""

    def __init__(self, *clients: Any) -> None:
        self.armed: list[Armed] = []
        self._idle = threading.Condition()
        self._busy = False
        self._firing: int | None = None
        for client in clients:
            events = client.meta.events
            service = client.meta.service_model.endpoint_prefix
            prefix = "bedrock-runtime" if service == "bedrock-runtime" else service
            events.register_first(f"before-call.{prefix}", self._before)
            events.register(f"after-call.{prefix}", self._after)

    def arm(self, armed: Armed) -> Armed:
        self.armed.append(armed)
        return armed

    def clear(self) -> None:
        with self._idle:
            self.armed.clear()

    def _before(
        self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        context["mbt_key"] = str(params.get("url_path", ""))
        self._fire("before", model.name, context["mbt_key"])

    def _after(self, model: Any, context: dict[str, Any], http_response: Any, **_: Any) -> None:
        if getattr(http_response, "status_code", 500) < 300:
            self._fire("after", model.name, str(context.get("mbt_key", "")))

    def _fire(self, phase: str, operation: str, key: str) -> None:
        with self._idle:
            # While an action runs, the handle's other threads stand still (the process is
            # stalled inside that call), except the action's own thread.
            while self._busy and self._firing != threading.get_ident():
                self._idle.wait()
            if self._busy:
                return
            for armed in self.armed:
                if armed.phase == phase and armed.operation == operation and armed.key(key):
                    if armed.skip > 0:
                        armed.skip -= 1
                        continue
                    self.armed.remove(armed)
                    armed.fired = self._busy = True
                    self._firing = threading.get_ident()
                    break
            else:
                return
        try:
            armed.action()
        finally:
            with self._idle:
                self._busy = False
                self._firing = None
                self._idle.notify_all()


class PaidAnswers:
    """Answers a bedrock-runtime client *received* for each prompt (each one was paid for), and
    the InvokeModel calls it made (sent or not)."""

    def __init__(self, client: Any) -> None:
        self.by_prompt: Counter[str] = Counter()
        self.calls = 0
        self._lock = threading.Lock()
        events = client.meta.events
        events.register("before-call.bedrock-runtime.InvokeModel", self._before)
        events.register_last("after-call.bedrock-runtime.InvokeModel", self._after)

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        context["mbt_prompt"] = prompt_of(decode(body)) if isinstance(body, (bytes, str)) else ""
        with self._lock:
            self.calls += 1

    def _after(self, context: dict[str, Any], http_response: Any, **_: Any) -> None:
        if getattr(http_response, "status_code", 500) == 200:
            with self._lock:
                self.by_prompt[str(context.get("mbt_prompt", ""))] += 1


class WallClock:
    """Jumps of the wall clock, as a stalled process or a clock running ahead sees them.

    Every clock an on-demand claim can be judged by moves: the claim clock of each on-demand
    runner made after the jump (the default of ``OnDemandRunner(clock=...)``; a runner made
    before keeps its clock — the stalled owner, or a process whose clock is behind) and S3's
    own clock (moto's, which stamps ``Last-Modified``), for code that judges claims by S3's
    time.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self._undo: list[Callable[[], None]] = []
        self._defaults: dict[str, Any] = {}

    def clock(self, offset: float) -> Callable[[], float]:
        """A wall clock ``offset`` seconds ahead."""
        import time

        return lambda: time.time() + offset

    def _utcnow(self) -> datetime.datetime:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        return now + datetime.timedelta(seconds=self.offset)

    def install(self) -> None:
        """Take over the clocks (until :meth:`uninstall`)."""
        import moto.core.utils
        import moto.s3.models

        from bedrock_batch._lifecycle._ondemand import OnDemandRunner

        saved = (moto.s3.models.utcnow, moto.core.utils.utcnow)
        moto.s3.models.utcnow = moto.core.utils.utcnow = self._utcnow
        defaults = self._defaults = OnDemandRunner.__init__.__kwdefaults__ or {}
        saved_clock = defaults.get("clock")

        def undo() -> None:
            moto.s3.models.utcnow, moto.core.utils.utcnow = saved
            if "clock" in defaults:
                defaults["clock"] = saved_clock

        self._undo.append(undo)

    def uninstall(self) -> None:
        """Give the clocks back."""
        while self._undo:
            self._undo.pop()()

    def jump(self, seconds: float) -> None:
        """Move the clocks of S3 and of the runners made from now on ``seconds`` ahead."""
        self.offset += seconds
        if "clock" in self._defaults:
            self._defaults["clock"] = self.clock(self.offset)

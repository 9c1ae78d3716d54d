"""Test helpers that act at botocore's boundary: fault injection into S3 calls and a count of the
bedrock-runtime calls each record cost. Both hook a boto3 session's events, so they reach every
client the session creates afterwards (BatchJob creates its clients lazily)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs


@attrs.define
class _Http:
    status_code: int
    headers: dict[str, str] = attrs.field(factory=dict)
    content: bytes = b""


@attrs.define
class _Rule:
    operation: str
    when: Callable[[dict[str, Any]], bool]
    times: int
    code: str
    status: int


class S3Faults:
    """Make chosen S3 calls fail (the call never reaches S3), e.g.::

    faults.fail("PutObject", when=lambda p: p["Key"].endswith("bedrock-batch.json"))
    """

    def __init__(self, session: Any) -> None:
        self.rules: list[_Rule] = []
        self.injected: Counter[str] = Counter()
        self._params = threading.local()  # before-call sees the wire request, not API params
        session.events.register_first("provide-client-params.s3", self._remember)
        session.events.register_first("before-call.s3", self._before_call)

    def _remember(self, params: dict[str, Any], **_: Any) -> None:
        self._params.value = dict(params)

    def fail(
        self,
        operation: str,
        *,
        when: Callable[[dict[str, Any]], bool] = lambda _: True,
        times: int = 1,
        code: str = "InternalError",
        status: int = 500,
    ) -> None:
        """Fail the next ``times`` calls of ``operation`` whose parameters match ``when``."""
        self.rules.append(_Rule(operation, when, times, code, status))

    def clear(self) -> None:
        """Stop injecting."""
        self.rules.clear()

    def _before_call(self, model: Any, **_: Any) -> Any:
        params = getattr(self._params, "value", {})
        for rule in self.rules:
            if rule.times > 0 and rule.operation == model.name and rule.when(params):
                rule.times -= 1
                self.injected[model.name] += 1
                parsed = {
                    "Error": {"Code": rule.code, "Message": f"injected {rule.code}"},
                    "ResponseMetadata": {"HTTPStatusCode": rule.status, "RequestId": "injected"},
                }
                return _Http(rule.status), parsed
        return None


def prompt_of(body: Any) -> str:
    """The first text of a Claude (or Converse) request body."""
    messages = body.get("messages") or [{}]
    content = messages[0].get("content")
    if isinstance(content, str):
        return content
    block = content[0]
    return str(block.get("text"))


class RuntimeCalls:
    """Counts bedrock-runtime calls by prompt (what each record was paid for on demand)."""

    def __init__(self, session: Any) -> None:
        self.by_prompt: Counter[str] = Counter()
        self.hooks: list[Callable[[str], None]] = []
        for op in ("InvokeModel", "Converse"):
            session.events.register_first(f"before-call.bedrock-runtime.{op}", self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        data = json.loads(body) if isinstance(body, (bytes, str)) else params
        prompt = prompt_of(data)
        self.by_prompt[prompt] += 1
        for hook in self.hooks:
            hook(prompt)

    @property
    def total(self) -> int:
        """All calls made."""
        return sum(self.by_prompt.values())

    @property
    def paid_twice(self) -> list[str]:
        """Prompts asked more than once."""
        return [p for p, n in self.by_prompt.items() if n > 1]


class SerialS3:
    """Serialize the calls into moto's in-process S3. moto closes a key's value when the key is
    overwritten, which races with a concurrent read of the old value (getmoto/moto #5934, #5939);
    real S3 has no such race. The order of calls, and so the protocol under test, is unchanged."""

    def __init__(self, session: Any) -> None:
        self._lock = threading.RLock()
        session.events.register_first("before-call.s3", self._enter)
        session.events.register("after-call.s3", self._leave)
        session.events.register("after-call-error.s3", self._leave)

    def _enter(self, **_: Any) -> None:
        self._lock.acquire()

    def _leave(self, **_: Any) -> None:
        self._lock.release()


def cli_command() -> list[str]:
    """The installed ``bedrock-batch`` console script (``python -m bedrock_batch`` without one)."""
    import shutil
    import sys
    from pathlib import Path

    exe = shutil.which("bedrock-batch", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "bedrock_batch"]


def cli_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which the console script imports the ``bedrock_batch`` under test
    (this checkout, even when the installed package is an editable install of another)."""
    import os
    from pathlib import Path

    import bedrock_batch

    env = dict(os.environ if base is None else base)
    root = str(Path(bedrock_batch.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def cli_in_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``bedrock-batch ARGS`` run by ``main()`` in this process with exactly the environment
    ``env`` (put back afterwards), its stdout and stderr captured: a
    ``subprocess.CompletedProcess`` as a real run gives, in a fraction of the time (no
    interpreter start, no boto3 import). For a real process — signals, closed pipes, the
    console script itself — use :func:`cli_command`."""
    import contextlib
    import io
    import os

    from bedrock_batch._cli import main

    saved = dict(os.environ)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)  # has .buffer
    err = io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse: usage errors and --help
                code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out.flush()
    stdout = out.buffer.getvalue().decode()  # type: ignore[attr-defined]
    return subprocess.CompletedProcess(["bedrock-batch", *args], code, stdout, err.getvalue())


class RecordedBackoff:
    """botocore's retry backoff recorded instead of slept (``delays``: the seconds it asked
    for), until :meth:`undo`. Its retries still happen, at once: the emulator's clock is not the
    wall clock, so the seconds slept only made the suite wait (~7 s a run)."""

    def __init__(self) -> None:
        import types

        import botocore.endpoint

        self.delays: list[float] = []
        self._module: Any = botocore.endpoint
        self._saved = self._module.time
        self._module.time = types.SimpleNamespace(sleep=self.delays.append)

    def undo(self) -> None:
        self._module.time = self._saved

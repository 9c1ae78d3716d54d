"""Helpers for the benchmarks: a Local Bedrock server in its own process, timing and memory.

Ratios, not absolute times, are the result: each case is measured against a raw baseline in
the same run, because these machines are noisy.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import boto3

CREDS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.05)


@contextlib.contextmanager
def _process(cmd: list[str], port: int) -> Iterator[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server(*args: str) -> contextlib.AbstractContextManager[str]:
    """`bedrock-batch local serve` in a subprocess, so its memory is not counted as ours."""
    port = free_port()
    return _process(
        [sys.executable, "-m", "bedrock_batch._cli", "local", "serve", "--port", str(port), *args],
        port,
    )


def moto_server() -> contextlib.AbstractContextManager[str]:
    """moto's own S3 server in a subprocess."""
    port = free_port()
    return _process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port)


def client(url: str, name: str) -> Any:
    return boto3.session.Session().client(name, endpoint_url=url, **CREDS)  # type: ignore[call-overload]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak_mib(fn: Callable[[], Any]) -> float:
    """Peak Python heap allocated while ``fn`` runs (tracemalloc), in MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def report(name: str, rows: list[dict[str, Any]]) -> None:
    out_dir = os.path.join(os.path.dirname(__file__), "results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
        json.dump(rows, fh, indent=1)
    keys = list(rows[0])
    widths = [max(len(k), *(len(f"{r[k]}") for r in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  ".join(f"{r[k]}".ljust(w) for k, w in zip(keys, widths, strict=True)))

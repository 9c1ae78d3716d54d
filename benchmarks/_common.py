"""Helpers for the benchmarks: a Local Bedrock server in its own process, clients, and how a case
reports what it measured.

Each case runs in a fresh process (``python bench_x.py CASE ...``) and prints one JSON line with
its figures: CPU seconds of this process only (``time.process_time``, no tracing), wall seconds,
and the process's peak resident set size (``VmHWM``), so "memory flat in N" is read per
process, not from a Python-heap tracer that misses what was allocated before it started.
Ratios, not absolute times, are the result: each case is compared with a raw baseline measured
in the same run, because these machines are noisy.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE = "arn:aws:iam::123456789012:role/Bench"
CREDS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}
#: The line a case prints its figures after (anything before it is the case's own chatter).
MARK = "@@bench "


def prompt(i: int) -> str:
    """The benchmark's Claude prompt: a short mixed-script question, as in the demo."""
    return f"日本の文化について質問 {i}: お茶の作法は?"


def claude_body(i: int) -> dict[str, Any]:
    """The body ``add_prompt(prompt(i), max_tokens=300)`` builds for Claude, by hand."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt(i)}]}],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    """Block until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


#: The process id of each server started here, by URL (for its CPU time: :func:`proc_cpu`).
SERVER_PIDS: dict[str, int] = {}


@contextlib.contextmanager
def _process(cmd: list[str], port: int) -> Iterator[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port)
        SERVER_PIDS[url] = proc.pid
        yield url
    finally:
        SERVER_PIDS.pop(url, None)
        proc.terminate()
        proc.wait(timeout=30)


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far, from
    ``/proc/<pid>/stat``; 0.0 where there is no ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)


def server(*args: str) -> contextlib.AbstractContextManager[str]:
    """`bedrock-batch local serve` in a subprocess, so its CPU and memory are not ours."""
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
    import boto3

    return boto3.session.Session().client(name, endpoint_url=url, **CREDS)  # type: ignore[call-overload]


def rss_mib() -> float:
    """This process's peak resident set size so far, in MiB: ``VmHWM``, not ``ru_maxrss``
    (a child process inherits its parent's ``ru_maxrss`` across fork and exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """CPU and wall seconds of this process since the clock was made (or last ``lap``)."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def lap(self) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        out = (cpu - self.cpu, wall - self.wall)
        self.cpu, self.wall = cpu, wall
        return out


def measured(fn: Callable[[], Any]) -> dict[str, float]:
    """Run ``fn`` once: its CPU and wall seconds, and the process's peak RSS afterwards."""
    clock = Clock()
    fn()
    cpu, wall = clock.lap()
    return {"cpu_s": cpu, "wall_s": wall, "rss_mib": rss_mib()}


def emit(figures: dict[str, Any]) -> None:
    """Print a case's figures for ``run.py`` (one JSON line after :data:`MARK`)."""
    sys.stdout.write(MARK + json.dumps(figures) + "\n")
    sys.stdout.flush()


def run_case(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``script CASE ...`` in a fresh process; its figures."""
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run(
        [sys.executable, os.path.join(here, script), *args],
        capture_output=True,
        text=True,
        cwd=here,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return dict(json.loads(line[len(MARK) :]))
    raise RuntimeError(f"{script} {' '.join(args)} printed no figures:\n{proc.stdout[-2000:]}")


def peak_mib(fn: Callable[[], Any]) -> float:
    """Peak Python heap allocated while ``fn`` runs (tracemalloc), in MiB: for a server's own
    memory in-process (bench_emulator); client figures use :func:`rss_mib` per process."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def report(name: str, rows: list[dict[str, Any]]) -> None:
    """Print rows as a table and keep them in ``results/NAME.json``."""
    out_dir = os.path.join(os.path.dirname(__file__), "results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
        json.dump(rows, fh, indent=1)
    keys = list(rows[0])
    widths = [max(len(k), *(len(f"{r[k]}") for r in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  ".join(f"{r[k]}".ljust(w) for k, w in zip(keys, widths, strict=True)))

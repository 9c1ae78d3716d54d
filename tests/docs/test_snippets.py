"""The README's and the testing page's server snippets, run as written against a fresh
``bedrock-batch local serve`` (only the port is substituted: the test's server takes any free
one)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support import cli_command, cli_env

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def server_snippets(doc: str) -> tuple[str, str]:
    """The block that starts the server and the block after it that uses it."""
    blocks = FENCE.findall((ROOT / doc).read_text(encoding="utf-8"))
    start = next(i for i, b in enumerate(blocks) if "bedrock-batch local serve" in b)
    return blocks[start], blocks[start + 1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh server started as the docs say, on a free port: (endpoint, banner)."""
    start, _ = server_snippets("README.md")
    command = start.split("#")[0].split()
    assert command == ["bedrock-batch", "local", "serve"]
    env = cli_env({k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
    proc = subprocess.Popen(
        [*cli_command(), *command[1:], "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = "".join(proc.stdout.readline() for _ in range(6))
        endpoint = re.search(r"export AWS_ENDPOINT_URL=(\S+)", banner)
        assert endpoint, banner
        yield endpoint.group(1), banner
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.mark.parametrize("doc", ["README.md", "docs/testing.md"])
def test_server_snippets_run_as_written(doc: str, served: tuple[str, str], tmp_path: Path) -> None:
    endpoint, banner = served
    port = endpoint.rsplit(":", 1)[1]
    # the banner's export lines are the snippet's (but for the port)
    exports = [line.strip() for line in banner.splitlines() if line.strip().startswith("export")]
    _, use = server_snippets(doc)
    snippet_exports = [line for line in use.splitlines() if line.startswith("export")]
    assert [e.replace(f":{port}", ":4599") for e in exports] == snippet_exports
    script = use.replace("127.0.0.1:4599", f"127.0.0.1:{port}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True,
        env=cli_env(env), cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[]" in proc.stdout  # no jobs yet on a fresh server

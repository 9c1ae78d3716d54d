"""What the in-process CLI tests share: the served emulator's environment (``env``) and
``cli(capsys, *argv)``, ``bedrock-batch ARGV`` run by ``main()`` in this process."""

from __future__ import annotations

from typing import Any

import pytest

from bedrock_batch._cli import main

from ..conftest import endpoint_env


@pytest.fixture
def env(module_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The module's Local Bedrock server as the process's AWS endpoint and credentials (no
    profile, no other region): what a user's shell would export for ``local serve``."""
    environ = endpoint_env(str(module_server.endpoint_url))
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):  # fmt: skip
        monkeypatch.setenv(name, environ[name])
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    return environ


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``bedrock-batch ARGV`` in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err

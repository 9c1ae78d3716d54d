"""The CLI's sessions: every command run in one process reads botocore's models through one
loader (per ``AWS_DATA_PATH``), and boto3's search path is not added again by each session."""

from __future__ import annotations

import argparse

import pytest

from bedrock_batch._cli._commands import profile_session


def _loader(region: str | None = "us-east-1") -> object:
    session = profile_session(argparse.Namespace(region=region, profile=None))
    return session._session.get_component("data_loader")


def test_commands_in_one_process_share_one_loader_without_growing_its_paths() -> None:
    first = _loader()
    for _ in range(5):
        assert _loader() is first
    paths = first.search_paths  # type: ignore[attr-defined]
    assert len(paths) == len(set(paths)), paths
    assert any(path.endswith("boto3/data") for path in paths), paths


def test_another_data_path_gets_its_own_loader(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    default = _loader()
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    other = _loader()
    assert other is not default
    assert str(tmp_path) in other.search_paths  # type: ignore[attr-defined]

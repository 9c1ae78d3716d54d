"""The saved-defaults file: keyed by profile, account and region, private, versioned."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch import ConfigError
from bedrock_batch._setup._config import (
    CONFIG_ENV,
    SavedDefaults,
    config_path,
    find_saved,
    load_saved,
    save_defaults,
)


def entry(
    account: str = "123456789012", region: str = "us-east-1", profile: str = "default"
) -> SavedDefaults:
    return SavedDefaults(
        profile=profile, account=account, region=region,
        role_arn=f"arn:aws:iam::{account}:role/bb", input_uri="s3://b/in/",
        output_uri="s3://b/out/", bucket="b",
    )  # fmt: skip


def test_path_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "x.json"))
    assert config_path() == tmp_path / "x.json"
    monkeypatch.delenv(CONFIG_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "bedrock-batch" / "config.json"


def test_saved_file_is_private_and_holds_no_secret(tmp_path: Path) -> None:
    path = save_defaults(entry(), tmp_path / "d" / "config.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "secret" not in text.lower() and "AKIA" not in text
    assert load_saved(path)[0].role_arn == entry().role_arn


def test_another_account_region_or_profile_is_never_used(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    save_defaults(entry(), path)
    assert find_saved("123456789012", "us-east-1", None, path) is not None
    assert find_saved("123456789012", "us-west-2", None, path) is None
    assert find_saved("999999999999", "us-east-1", None, path) is None
    assert find_saved("123456789012", "us-east-1", "work", path) is None


@given(st.lists(st.tuples(st.sampled_from(["1", "2"]), st.sampled_from(["r1", "r2"]),
                          st.sampled_from(["default", "p"])), max_size=8))  # fmt: skip
def test_one_entry_per_key_last_write_wins(keys: list[tuple[str, str, str]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.json"
        last: dict[tuple[str, str, str], str] = {}
        for n, (acct, region, profile) in enumerate(keys):
            e = entry(acct, region, profile)
            e = SavedDefaults(**{**e.to_json(), "bucket": f"b{n}"})
            save_defaults(e, path)
            last[(profile, acct, region)] = f"b{n}"
        got = {e.key: e.bucket for e in load_saved(path)}
        assert got == last


@pytest.mark.parametrize(
    ("content", "reason"),
    [("{", "not JSON"), ('{"version": 99, "entries": []}', "format version 99"),
     ('{"version": 1, "entries": [{"profile": "x"}]}', "lacks"), ("[]", "entries")],
)  # fmt: skip
def test_unusable_file_is_a_config_error(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=reason):
        load_saved(path)
    assert json.dumps(str(path))  # the path is named

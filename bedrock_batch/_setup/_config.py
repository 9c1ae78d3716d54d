"""Saved defaults: what ``bedrock-batch setup`` chose, keyed by profile, account and region.

One small JSON file under the user's configuration directory (``$BEDROCK_BATCH_CONFIG``, else
``$XDG_CONFIG_HOME/bedrock-batch/config.json``, else ``~/.config/bedrock-batch/config.json``;
``%APPDATA%\\bedrock-batch\\config.json`` on Windows), readable by the user only. It holds no
secret: a role ARN, input and output URIs, the bucket and the region, one entry per
``(profile, account, region)``. An entry for another account or region is never used.

The file::

    {"version": 1, "entries": [{"profile": "default", "account": "123456789012",
      "region": "us-east-1", "role_arn": "...", "input_uri": "s3://...", "output_uri": "s3://...",
      "bucket": "...", "saved_at": "2026-12-03T10:00:00Z"}]}
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from .._errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "CONFIG_VERSION",
    "ENV_INPUT_URI",
    "ENV_OUTPUT_URI",
    "ENV_ROLE_ARN",
    "SavedDefaults",
    "config_path",
    "find_saved",
    "load_saved",
    "save_defaults",
]

#: Environment variable naming the configuration file (overrides the default location).
CONFIG_ENV = "BEDROCK_BATCH_CONFIG"
#: Environment variables that give a job's defaults (between explicit arguments and the file).
ENV_ROLE_ARN = "BEDROCK_BATCH_ROLE_ARN"
ENV_INPUT_URI = "BEDROCK_BATCH_INPUT_URI"
ENV_OUTPUT_URI = "BEDROCK_BATCH_OUTPUT_URI"

CONFIG_VERSION = 1
DEFAULT_PROFILE = "default"


@attrs.frozen
class SavedDefaults:
    """One saved entry: the choices ``setup`` made for a profile, account and region."""

    profile: str
    account: str
    region: str
    role_arn: str
    input_uri: str
    output_uri: str
    bucket: str
    saved_at: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """``(profile, account, region)``: at most one entry per key."""
        return (self.profile, self.account, self.region)

    def to_json(self) -> dict[str, str]:
        """The entry as stored."""
        return attrs.asdict(self)


def config_path() -> Path:
    """Where the configuration file lives (it may not exist)."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "bedrock-batch" / "config.json"


_FIELDS = tuple(a.name for a in attrs.fields(SavedDefaults))
_REQUIRED = tuple(n for n in _FIELDS if n != "saved_at")


def _entry(raw: Any, path: Path, index: int) -> SavedDefaults:
    if not isinstance(raw, dict):
        raise ConfigError(str(path), f"entry {index} is not an object")
    missing = [n for n in _REQUIRED if not isinstance(raw.get(n), str) or not raw.get(n)]
    if missing:
        raise ConfigError(str(path), f"entry {index} lacks {', '.join(missing)}")
    return SavedDefaults(**{n: str(raw.get(n, "")) for n in _FIELDS})


def load_saved(path: Path | None = None) -> list[SavedDefaults]:
    """Every saved entry; ``[]`` when the file does not exist. Raises :class:`ConfigError`
    when it exists but cannot be read (bad JSON, a newer version, a malformed entry)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as err:
        raise ConfigError(str(path), f"cannot be read ({err.strerror or err})") from None
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise ConfigError(str(path), f"is not JSON ({err})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise ConfigError(str(path), 'has no "entries" list')
    version = doc.get("version")
    if version != CONFIG_VERSION:
        raise ConfigError(
            str(path), f"has format version {version!r}; this bedrock_batch reads {CONFIG_VERSION}"
        )
    return [_entry(raw, path, i) for i, raw in enumerate(doc["entries"])]


def find_saved(
    account: str, region: str, profile: str | None = None, path: Path | None = None
) -> SavedDefaults | None:
    """The entry for exactly this profile, account and region, or None (never another's)."""
    key = (profile or DEFAULT_PROFILE, account, region)
    for entry in load_saved(path):
        if entry.key == key:
            return entry
    return None


def save_defaults(entry: SavedDefaults, path: Path | None = None) -> Path:
    """Store ``entry`` (replacing the one with the same key), atomically, mode 0600."""
    path = path or config_path()
    kept = [e for e in load_saved(path) if e.key != entry.key]
    if not entry.saved_at:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry = attrs.evolve(entry, saved_at=stamp)
    entries = sorted([*kept, entry], key=lambda e: e.key)
    doc = {"version": CONFIG_VERSION, "entries": [e.to_json() for e in entries]}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

"""Importing the package, or any of its subpackages (Local Bedrock's included), loads no optional
heavy dependency: pandas, pyarrow, polars, dask and moto come only with the calls that need them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bedrock_batch"
HEAVY = ("pandas", "pyarrow", "polars", "dask", "moto", "numpy")
SUBPACKAGES = sorted(
    ".".join(p.parent.relative_to(PACKAGE.parent).parts) for p in PACKAGE.rglob("__init__.py")
)


def _loaded_after(module: str) -> list[str]:
    code = (
        f"import sys, json, {module}; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=PACKAGE.parent,
    )  # fmt: skip
    return [m for m in json.loads(out.stdout) if m in HEAVY]


def test_every_subpackage_is_found() -> None:
    assert {"bedrock_batch", "bedrock_batch._reader", "bedrock_batch.local._wire"} <= set(
        SUBPACKAGES
    )
    assert len(SUBPACKAGES) >= 12


@pytest.mark.parametrize("module", SUBPACKAGES)
def test_a_subpackage_imports_nothing_heavy(module: str) -> None:
    assert _loaded_after(module) == []


def test_the_checker_sees_a_heavy_import() -> None:
    assert "pandas" in _loaded_after("pandas")

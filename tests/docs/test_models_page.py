"""The "Supported models" page (``docs/models.md``) is what ``docs/models_page.py`` renders from
the catalogue, and it is in the docs' table of contents."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from bedrock_batch._catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "models.md"


def _renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("models_page", ROOT / "docs" / "models_page.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_page_is_what_the_catalogue_renders() -> None:
    rendered = _renderer().render()
    committed = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    assert committed == rendered, (
        "docs/models.md is out of date with the catalogue: regenerate it with "
        "`python docs/models_page.py`"
    )


def test_every_catalogue_row_has_its_facts_on_the_page() -> None:
    rows = {
        m.group(1): line
        for line in PAGE.read_text(encoding="utf-8").splitlines()
        if (m := re.match(r"^\| [^|]+ \| `([^`]+)` \|", line))
    }
    assert set(rows) == set(CATALOG)
    for model_id, line in rows.items():
        info = CATALOG[model_id]
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == info.display_name
        assert cells[2] == f"`{info.family}`"
        assert cells[3] == info.batch_support
        assert cells[5] == info.default_invocation
        assert ("(required)" in cells[4]) == info.requires_profile
        for prefix in info.profiles or ():
            assert f"`{prefix}`" in cells[4]
        assert (cells[6] == "UNVERIFIED") == (info.native_prompt is None)
        if info.native_structured_outputs and not info.is_embedding:
            assert "native" in cells[7] or "strict" in cells[7], line


def test_the_page_is_in_the_table_of_contents() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    toctree = index.split("```{toctree}", 1)[1].split("```", 1)[0]
    assert "models" in toctree.split()
    assert PAGE.read_text(encoding="utf-8").startswith("# Supported models\n")

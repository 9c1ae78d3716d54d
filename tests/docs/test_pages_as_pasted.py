"""Every docs page's examples run as pasted (issue 20): a page's ``testcode`` blocks, in order,
as one script in a fresh interpreter — no ``docs/conf.py`` set-up, no imports but the page's
own — against the Local Bedrock each block starts in-process, and each block prints what the
``testoutput`` after it says (compared as Sphinx's doctest does: ``...`` matches anything).

One subprocess per page. This replaces Sphinx's ``doctest`` builder run, whose global set-up
hid the imports a reader pasting a block would miss."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..support import cli_env

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EVAL_RST = re.compile(r"^```\{eval-rst\}\n(.*?)^```", re.S | re.M)
DIRECTIVE = re.compile(r"^\.\. (testcode|testoutput)::.*\n((?:(?:[ \t]+.*)?\n)*)", re.M)
#: Printed between blocks, so each block's output is checked against its own testoutput.
MARK = "----8<---- end of a docs block ----8<----"


def blocks(page: Path) -> list[tuple[str, str | None]]:
    """The page's (code, expected output or None) pairs, in order."""
    found: list[tuple[str, str | None]] = []
    for rst in EVAL_RST.findall(page.read_text(encoding="utf-8")):
        for kind, body in DIRECTIVE.findall(rst):
            lines = [line for line in body.splitlines() if not line.strip().startswith(":")]
            text = textwrap.dedent("\n".join(lines)).strip("\n") + "\n"
            if kind == "testcode":
                found.append((text, None))
            elif found and found[-1][1] is None:
                found[-1] = (found[-1][0], text)
    return found


PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts and blocks(p))


def test_the_pages_with_examples_are_found() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"quickstart.md", "testing.md", "howto/structured.md"} <= names, names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_a_page_runs_as_pasted(page: Path, tmp_path: Path) -> None:
    pairs = blocks(page)
    script = f"\nprint({MARK!r})\n".join(code for code, _ in pairs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_BATCH_"))}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=cli_env(env),
        cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{page.name} fails when pasted:\n{proc.stderr[-3000:]}"
    outputs = proc.stdout.split(MARK + "\n")
    assert len(outputs) == len(pairs), proc.stdout[-2000:]
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL
    for n, ((code, expected), got) in enumerate(zip(pairs, outputs, strict=True), 1):
        if expected is not None:
            assert checker.check_output(expected, got, flags), (
                f"{page.name}, block {n}: expected\n{expected}\ngot\n{got}\ncode:\n{code}"
            )

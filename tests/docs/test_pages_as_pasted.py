"""Every docs page's examples run as pasted (issue 20): a page's ``testcode`` blocks, in order,
as one script in a fresh interpreter — no ``docs/conf.py`` set-up, no imports but the page's
own — against the Local Bedrock each block starts in-process, and each block prints what the
``testoutput`` after it says (compared as Sphinx's doctest does: ``...`` matches anything).

One process per page, forked from a fork server that has imported boto3, moto, pandas and the
library (:mod:`.pages_preload`): no interpreter start or import time per page, while the page's
code still runs in a fresh ``__main__`` namespace with exactly its own environment. This
replaces Sphinx's ``doctest`` builder run, whose global set-up hid the imports a reader pasting
a block would miss."""

from __future__ import annotations

import doctest
import multiprocessing
import os
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from ..support import cli_env
from . import pages_runner

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


class Pasted(NamedTuple):
    """What a pasted page did: as ``subprocess.CompletedProcess`` gives it."""

    returncode: int | None
    stdout: str
    stderr: str


PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts and blocks(p))


def test_the_pages_with_examples_are_found() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"quickstart.md", "testing.md", "howto/structured.md"} <= names, names


@pytest.fixture(scope="module")
def forks() -> Iterator[Any]:
    """A fork server that has imported what the pages import (:mod:`.pages_preload`)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([f"{__package__}.pages_preload"])
    yield ctx
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # type: ignore[attr-defined]  # its imports are large
    ctx.set_forkserver_preload([])


def run_pasted(forks: Any, script: str, env: dict[str, str], cwd: Path) -> Pasted:
    """``python -c script`` in ``cwd`` with exactly ``env``, in a child of the fork server."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    proc = forks.Process(target=pages_runner.run, args=(script, str(cwd), env, str(out), str(err)))
    proc.start()
    proc.join(timeout=300)
    if proc.exitcode is None:
        proc.kill()
        proc.join()
    return Pasted(proc.exitcode, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_a_page_runs_as_pasted(page: Path, tmp_path: Path, forks: Any) -> None:
    pairs = blocks(page)
    script = f"\nprint({MARK!r})\n".join(code for code, _ in pairs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_BATCH_"))}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    work = tmp_path / "work"
    work.mkdir()
    proc = run_pasted(forks, script, cli_env(env), work)
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

"""The docs-pages test's child: one page's script, run in a process forked from a warm fork
server (:mod:`tests.docs.pages_preload`) as ``python -c SCRIPT`` would run it — its own
environment, working directory, ``__main__`` namespace and output files."""

from __future__ import annotations

import atexit
import os
import sys
import traceback
import types


def run(script: str, cwd: str, env: dict[str, str], out: str, err: str) -> None:
    """Run ``script``; stdout to ``out``, stderr to ``err``; exit 1 with a traceback on error."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = ["-c"]
    code = 0
    try:
        main = types.ModuleType("__main__")  # as -c has it: classes defined by the page are
        sys.modules["__main__"] = main  # found through sys.modules (pydantic resolves names so)
        exec(compile(script, "<string>", "exec"), main.__dict__)
    except SystemExit as stop:  # as the interpreter: a message is printed and exits 1
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, int | None):
            print(stop.code, file=sys.stderr)
    except BaseException:  # what the interpreter would print
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    if code:
        sys.exit(code)

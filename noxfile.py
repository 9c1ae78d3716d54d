"""Development sessions: tests, lint, typing, docs, benchmarks."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typing", "docs"]
nox.options.default_venv_backend = "venv"


def install(session: nox.Session, *args: str) -> None:
    """pip >= 25.1 understands dependency groups (--group); a fresh venv's may not."""
    session.install("-q", "-U", "pip")
    session.install("-q", *args)


@nox.session(python=["3.10", "3.11", "3.12", "3.13"])
def tests(session: nox.Session) -> None:
    """The test suite against Local Bedrock (no AWS account needed)."""
    install(session, "-e", ".[local]", "--group", "test")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    install(session, "--group", "lint")
    session.run("ruff", "check", "bedrock_batch", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "bedrock_batch")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on the package and on the typed public-API file."""
    install(session, "-e", ".[local,progress,pandas,arrow]", "--group", "typing")
    session.run("mypy", "--strict", "bedrock_batch")
    session.run("mypy", "--strict", "tests/typing/api.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs with warnings as errors, and run their doctests against Local Bedrock."""
    install(session, "-e", ".[local,pandas,arrow]", "--group", "docs")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "doctest", "docs", "docs/_build/doctest"
    )


@nox.session
def benchmarks(session: nox.Session) -> None:
    """Benchmarks: ratios against raw baselines measured in the same run."""
    install(session, "-e", ".[local,pandas,arrow,fast]")
    session.run("python", "benchmarks/run.py", *session.posargs)

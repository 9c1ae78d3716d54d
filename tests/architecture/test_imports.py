"""No import cycles anywhere in the package, of any kind.

Every module of ``bedrock_batch`` (the core and ``local/``) is read with :mod:`ast`, and every
import counts: at module level, inside a function (lazy) and under ``if TYPE_CHECKING:``
(type-only). A lazy or type-only import that closes a cycle is still a design inversion (the
lower module knows the higher one), so it fails here as a run-time one would.

The graph is between modules: ``from pkg import name`` is an edge to ``pkg.name`` when that is
a module of the package (``from . import x``), else to ``pkg`` itself. Importing a submodule
does not count as importing the packages above it (their ``__init__`` would otherwise close a
cycle with every module below them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs

PACKAGE = Path(__file__).resolve().parents[2] / "bedrock_batch"


@attrs.frozen
class Edge:
    """One import of a module of the package by another, and where it sits."""

    source: str
    target: str
    line: int
    kind: str  # "module level", "in a function" or "TYPE_CHECKING"

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}, {self.kind})"


def module_names(root: Path) -> dict[str, Path]:
    """Every module under the package directory ``root``, by dotted name (a package by its
    own name, for its ``__init__.py``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _kind(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    kind = "module level"
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return "TYPE_CHECKING"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            kind = "in a function"
    return kind


def _origin(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module ``from X import ...`` names, resolved (relative imports against ``module``)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph(root: Path) -> list[Edge]:
    """Every import between modules of the package at ``root``, of every kind."""
    modules = module_names(root)
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _resolved(node, module, is_package, modules):
                edges.append(Edge(module, target, node.lineno, _kind(node, parents)))
    return edges


def _resolved(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]
) -> set[str]:
    """The package's modules an import statement imports."""
    if isinstance(node, ast.Import):
        found = {alias.name for alias in node.names}
    else:
        origin = _origin(node, module, is_package)
        # ``from pkg import name``: the submodule pkg.name when there is one, else pkg itself
        found = {f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names}  # fmt: skip
    return {t for t in found if t in modules and t != module}


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(edges: list[Edge]) -> list[str]:
    """Each cycle with the imports that tie it, for the failure message."""
    lines = []
    for component in cycles(edges):
        members = set(component)
        lines.append("cycle: " + ", ".join(component))
        lines += [f"  {e}" for e in edges if e.source in members and e.target in members]
    return lines


def test_no_import_cycles_in_the_package() -> None:
    problems = describe(import_graph(PACKAGE))
    assert problems == [], "\n".join(problems)


def test_the_graph_sees_the_core_and_the_emulator() -> None:
    edges = import_graph(PACKAGE)
    sources = {e.source for e in edges}
    assert "bedrock_batch._job" in sources
    assert "bedrock_batch.local._emulator" in sources
    assert "bedrock_batch._cli._main" in sources


def _package(root: Path, files: dict[str, str]) -> Path:
    package = root / "probe"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {p.parent for p in package.rglob("*.py")} | {package}:
        (folder / "__init__.py").touch()
    return package


def test_the_checker_catches_a_cycle_of_each_kind(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            # run-time: both at module level
            "_a.py": "from ._b import B\nA = 1\n",
            "_b.py": "from ._a import A\nB = 2\n",
            # lazy: one side inside a function
            "_c.py": "from ._d import D\nC = 1\n",
            "_d.py": "D = 2\n\ndef f() -> int:\n    from ._c import C\n    return C\n",
            # type-only: one side under TYPE_CHECKING
            "_e.py": "from ._f import F\nE = 1\n",
            "_f.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from ._e import E\nF = 2\n"
            ),
            # ``from . import x`` names the module x; across a subpackage and absolute
            "sub/_g.py": "from .. import _h\nG = 1\n",
            "_h.py": "import probe.sub._g\nH = 2\n",
            # no cycle: a chain
            "_i.py": "from ._j import J\n",
            "_j.py": "J = 1\n",
        },
    )
    edges = import_graph(package)
    assert cycles(edges) == [
        ["probe._a", "probe._b"],
        ["probe._c", "probe._d"],
        ["probe._e", "probe._f"],
        ["probe._h", "probe.sub._g"],
    ]
    kinds = {(e.source, e.target): e.kind for e in edges}
    assert kinds[("probe._d", "probe._c")] == "in a function"
    assert kinds[("probe._f", "probe._e")] == "TYPE_CHECKING"
    assert kinds[("probe._a", "probe._b")] == "module level"
    assert ("probe._i", "probe._j") in kinds
    assert all(e.target != "probe" for e in edges)  # a package is not imported by its modules


def test_a_package_init_that_imports_back_is_a_cycle(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {"_x.py": "from . import VERSION\n", "__init__.py": "from ._x import *\nVERSION = 1\n"},
    )
    assert cycles(import_graph(package)) == [["probe", "probe._x"]]


def _part(module: str) -> str:
    """The subpackage (or top-level module) a module belongs to: ``bedrock_batch._reader``,
    ``bedrock_batch.local._wire``, ``bedrock_batch._job``..."""
    parts = module.split(".")
    depth = 3 if len(parts) > 2 and parts[1] == "local" else 2
    return ".".join(parts[:depth])


def test_no_cycles_between_subpackages() -> None:
    """The parts layer as the data flow: no two subpackages import each other, even through
    different modules (each module-level graph may be acyclic while its packages are not)."""
    edges = [
        Edge(_part(e.source), _part(e.target), e.line, e.kind)
        for e in import_graph(PACKAGE)
        if _part(e.source) != _part(e.target)
        and _part(e.target) not in ("bedrock_batch", "bedrock_batch.local")  # the facades
        and _part(e.source) not in ("bedrock_batch", "bedrock_batch.local")
    ]
    assert {e.source for e in edges} >= {"bedrock_batch._ledger", "bedrock_batch.local._wire"}
    problems = describe(edges)
    assert problems == [], "\n".join(problems)


def test_the_package_check_sees_a_package_cycle() -> None:
    edges = [
        Edge("p._a", "p._b", 1, "module level"),
        Edge("p._b", "p._a", 1, "in a function"),
    ]
    assert cycles(edges) == [["p._a", "p._b"]]

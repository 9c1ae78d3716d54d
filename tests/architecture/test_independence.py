"""Local Bedrock stands on its own: it imports no logic from the client, and the client never
imports it (except the CLI, lazily). No import cycles of any kind inside the emulator (run-time,
function-level or TYPE_CHECKING), in any of its subfolders."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "bedrock_batch"
LOCAL = PACKAGE / "local"
#: Pure data the emulator may share with the client: the model list and quota defaults.
ALLOWED_FROM_CORE = {
    "bedrock_batch._catalog": {"CATALOG", "ModelInfo", "QUOTA_NAME_TEMPLATES"},
    "bedrock_batch._batch._quotas": {"Quotas"},
}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join([*base, *([node.module] if node.module else [])])


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _in_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return True
    return False


def imports(path: Path, module: str | None = None) -> list[tuple[str, set[str], bool, bool]]:
    """(module imported, names, inside a function, under TYPE_CHECKING) of every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    module = module or _module_name(path)
    if path.name == "__init__.py":
        module += ".__init__"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(
                    (
                        alias.name,
                        {"*"},
                        _in_function(node, parents),
                        _type_checking_only(node, parents),
                    )
                )
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            names = {alias.name for alias in node.names}
            found.append(
                (target, names, _in_function(node, parents), _type_checking_only(node, parents))
            )
    return found


def test_the_emulator_imports_only_data_from_the_core() -> None:
    offences = []
    for path in sorted(LOCAL.rglob("*.py")):
        for target, names, _, _ in imports(path):
            for name in names:
                full = target if name == "*" else f"{target}.{name}"
                if not target.startswith("bedrock_batch") or target.startswith(
                    "bedrock_batch.local"
                ):
                    if target == "bedrock_batch" and not full.startswith("bedrock_batch.local"):
                        offences.append(f"{path.name}: {full}")
                    continue
                if name not in ALLOWED_FROM_CORE.get(target, set()):
                    offences.append(f"{path.name}: {full}")
    assert offences == []


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    probe = tmp_path / "_probe.py"
    probe.write_text("from .._schemas import check_model_input\nfrom .._catalog import CATALOG\n")
    found = imports(probe, "bedrock_batch.local._probe")
    bad = [
        f"{t}.{n}"
        for t, names, _, _ in found
        for n in names
        if n not in ALLOWED_FROM_CORE.get(t, set())
    ]
    assert bad == ["bedrock_batch._schemas.check_model_input"]


def test_the_core_imports_the_emulator_only_lazily_from_the_cli() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if LOCAL in path.parents:
            continue
        for target, _, in_function, _ in imports(path):
            if target.startswith("bedrock_batch.local") and not (
                path.parent.name == "_cli" and in_function
            ):
                offences.append(f"{path.name}: {target}")
    assert offences == []


def test_no_import_cycles_inside_the_emulator() -> None:
    graph: dict[str, set[str]] = {}
    for path in LOCAL.rglob("*.py"):
        name = _module_name(path)
        graph[name] = set()
        for target, names, _, _ in imports(path):  # run-time, in-function and type-only alike
            for candidate in [target, *(f"{target}.{n}" for n in names)]:
                if candidate.startswith("bedrock_batch.local."):
                    graph[name].add(candidate)
    graph = {k: {t for t in v if t in graph} for k, v in graph.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend([*stack[stack.index(nxt) :], nxt])
                return True
            if nxt not in state and visit(nxt, [*stack, nxt]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if node not in state and visit(node, [node]):
            break
    assert cycle == []


def test_no_module_is_too_long() -> None:
    for path in LOCAL.rglob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, path.name

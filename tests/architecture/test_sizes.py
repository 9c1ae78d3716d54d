"""No class much over ~400 lines (the developer guide): a class that grows past the bound has
taken on a second job — split it before it lands."""

from __future__ import annotations

import ast
from pathlib import Path

import bedrock_batch

#: ~400 lines and a little slack for docstrings; a class past this fails the suite.
MAX_CLASS_LINES = 430

ROOT = Path(bedrock_batch.__file__).parent


def class_sizes(root: Path) -> dict[str, int]:
    """``{"module.py:Class": lines}`` of every class under ``root`` (nested ones included)."""
    sizes = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                sizes[f"{path.relative_to(root)}:{node.name}"] = node.end_lineno - node.lineno + 1
    return sizes


def test_no_class_is_much_over_four_hundred_lines() -> None:
    sizes = class_sizes(ROOT)
    assert len(sizes) > 100  # the walk found the package's classes
    assert {name: n for name, n in sizes.items() if n > MAX_CLASS_LINES} == {}


def test_the_size_check_sees_a_big_class(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_CLASS_LINES + 5))
    (tmp_path / "big.py").write_text(f"class Big:\n{body}\n")
    assert class_sizes(tmp_path)["big.py:Big"] > MAX_CLASS_LINES

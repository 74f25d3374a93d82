"""The packages' import graph has no cycles (issue 18): a module and the modules it imports,
at the top or inside a function, never lead back to it. A cycle makes the import order matter
and hides which module owns a name; this keeps one from coming back unnoticed."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nst_core", "plugin", "gimp_plugin", "bench", "nst_installer")


def modules(package: str) -> Dict[str, Path]:
    """Dotted module name → file, for every module of ``package`` (sub-packages included)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, known: Dict[str, Path]) -> Set[str]:
    """The modules of the same package that the module ``name`` imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from . import jobs` imports a module, `from .jobs import pad` a name
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {target for target in targets if target in known and target != name}


def cycles(package: str) -> List[tuple]:
    """Every strongly connected group of more than one module (Tarjan), as sorted tuples."""
    known = modules(package)
    graph = {name: imported(name, path, known) for name, path in known.items()}
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for name in graph:
        if name not in index:
            visit(name)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package):
    found = list(cycles(package))
    assert not found, "modules that import each other: " + "; ".join(" ↔ ".join(group) for group in found)


def test_cycle_finder_sees_a_lazy_import(tmp_path, monkeypatch):
    """The finder itself: a cycle closed by an import inside a function is found."""
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from .a import thing\n")
    (package / "c.py").write_text("from loop import a\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert cycles("loop") == [("loop.a", "loop.b")]

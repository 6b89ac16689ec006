"""The floors hold: no package imports one above it or beside it, and no modules import each
other in a circle (docs/architecture.md draws the floors).

Every ``import`` statement counts, including those inside functions: a lazy import is still a
dependency, and a circle through one breaks as soon as the import order changes.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# package -> the packages it may import (everything lower); nothing else of ours
FLOORS = {
    "core": set(),
    "datasets": {"core"},
    "methods": {"core", "datasets"},
    "protocols": {"core", "datasets", "methods"},
    "reports": {"core"},
    "benchmark": {"core", "datasets", "methods", "protocols", "reports"},
}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, packages=FLOORS) -> dict[str, set[str]]:
    """module -> the modules of ``packages`` it imports (absolute names, relative ones resolved)."""
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[:len(here) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                # ``from pkg import name`` may name a submodule: count it when it is one
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
            else:
                continue
            for t in targets:
                if t.split(".")[0] in packages:
                    while t and t not in modules:  # a name inside a module: its module
                        t = t.rpartition(".")[0]
                    if t and t != name:
                        deps.add(t)
        graph[name] = deps
    return graph


def uphill(graph: dict[str, set[str]], floors=FLOORS) -> list[str]:
    """Every import from a package into one it may not import."""
    out = []
    for mod, deps in sorted(graph.items()):
        pkg = mod.split(".")[0]
        for dep in sorted(deps):
            target = dep.split(".")[0]
            if target != pkg and target not in floors[pkg]:
                out.append(f"{mod} imports {dep} ({pkg} may import only {sorted(floors[pkg]) or 'nothing of ours'})")
    return out


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_package_imports_upward_or_sideways():
    assert uphill(import_graph(ROOT)) == []


def test_no_import_circle():
    assert circles(import_graph(ROOT)) == []


def test_the_checker_catches_an_uphill_import_and_a_circle(tmp_path):
    """The rules above are only worth something if they can fail: a bottom module importing
    the top, and two modules importing each other, are both reported."""
    for pkg in FLOORS:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "core" / "params.py").write_text("def f():\n    from benchmark.cli import main\n")
    (tmp_path / "benchmark" / "cli.py").write_text("from .runner import run\nmain = 1\n")
    (tmp_path / "benchmark" / "runner.py").write_text("from benchmark import cli\nrun = 1\n")
    graph = import_graph(tmp_path)
    assert uphill(graph) == ["core.params imports benchmark.cli (core may import only nothing of ours)"]
    assert circles(graph) == [["benchmark.cli", "benchmark.runner"]]

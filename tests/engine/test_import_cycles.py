"""Modules that import each other, even inside a function, are one unit to read and to change (issue 14).

The engine's import graph is read from the source (every ``import`` statement, at module
level or deferred inside a function), and its strongly connected components are the
import circles.  The compiler and the model (``compile_graph`` lives beside ``CompiledModel``),
the data readers (shared column parsing in ``engine.data.columns``, file readers above the
fitted transform) and the exporters (shared helpers in ``engine.export.common``) must stay
out of every circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: module names (or package prefixes ending in ".") that no import circle may contain
OPENED = ("engine.compile", "engine.model", "engine.memory", "engine.data.", "engine.export.", "engine.export")


def module_names(root: Path, package: str) -> dict[str, Path]:
    out = {}
    for p in (root / package).rglob("*.py"):
        parts = list(p.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """``module -> modules of the package it imports`` (a parent package imported implicitly is not an edge)."""
    mods = module_names(root, package)

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from pkg import sub" imports the submodule; "from pkg import name" the package
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                           for a in node.names]
            for t in targets:
                o = owner(t)
                if o is not None and o != m:
                    graph[m].add(o)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def _opened(name: str) -> bool:
    return any(name.startswith(p) if p.endswith(".") else name == p for p in OPENED)


def test_compiler_data_and_export_are_in_no_import_circle():
    bad = [c for c in circles(import_graph(ROOT, "engine")) if any(_opened(m) for m in c)]
    assert not bad, f"import circles: {bad}"


def test_a_circle_through_a_deferred_import_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import g\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from pkg import a  # deferred: still a circle\n    return a\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    assert circles(import_graph(tmp_path, "pkg")) == [["pkg.a", "pkg.b"]]

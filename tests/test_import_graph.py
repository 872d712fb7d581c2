"""Every module imports, and the project's import graph has no cycle -- counting imports inside
functions, which hide a cycle from Python but not from a reader (services -> tasks -> services)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("digest", "accounts", "paperboy")


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or not node.module:
        return []
    # ``from a.b import c`` imports the module a.b.c when there is one, else the names of a.b.
    return [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports anywhere in its body. Importing ``a.b.c`` also runs the
    ``__init__`` of ``a`` and ``a.b``, so those count too, except the importer's own packages."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        own = set(_ancestors(name))
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported(node, modules):
                for module in [*_ancestors(target), target]:
                    if module in modules and module != name and module not in own:
                        graph[name].add(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_of_the_project_imports():
    for name in project_modules():
        if name in {"paperboy.wsgi", "paperboy.asgi"}:
            continue  # each builds an application object; importing the settings is enough here
        importlib.import_module(name)


def test_the_import_graph_has_no_cycle_even_through_imports_inside_functions():
    graph = import_graph(project_modules())
    assert sum(len(targets) for targets in graph.values()) > 100  # the graph was really read
    assert cycles(graph) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, []),
    ],
)
def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle(graph, expected):
    assert cycles(graph) == expected


def test_a_function_level_import_counts_as_an_edge(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from digest.tasks.delivery import deliveries_send_chunk_task\n")
    empty = tmp_path / "empty.py"
    empty.write_text("")
    graph = import_graph({"digest.m": module, "digest.tasks.delivery": empty, "digest.tasks": empty})
    assert "digest.tasks.delivery" in graph["digest.m"] and "digest.tasks" in graph["digest.m"]


def test_no_project_import_is_guarded_by_except_importerror():
    guarded = []
    for name, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Try):
                continue
            catches = any("ImportError" in ast.unparse(h.type or ast.Name("BaseException")) for h in node.handlers)
            imports = [n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))]
            project = [
                n for n in imports if any(ast.unparse(n).startswith((f"from {p}", f"import {p}")) for p in PACKAGES)
            ]
            if catches and project:
                guarded.append(f"{name}:{node.lineno}")
    assert guarded == []

"""The connector's modules import one way: no cycles, and the pure modules (planning, packing,
paging, shaping, ...) reach no I/O. Read from the source with ``ast`` (nothing is imported, the
emulator least of all), so a lazy import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import databuddy_source

PACKAGE = "databuddy_source"
ROOT = Path(databuddy_source.__file__).parent
LEFT_OUT = ("emulator",)  # the fake API server: its own distribution, not the connector

# No I/O: functions of their arguments (tested from small fixtures, no HTTP).
PURE = {
    "settings",
    "errors",
    "slices",
    "catalog",
    "contract",
    "planning",
    "packing",
    "paging",
    "triage",
    "shaping",
    "arrow_answers",
    "run_state",
    "custom_reports",
}
# What sends requests (and what they are sent through): the pure modules never reach them.
IO = {"transport", "client", "query_api", "rpc_api", "fetching", "discovery", "resources"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the connector (the emulator left out)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        if name.split(".")[1:2] and name.split(".")[1] in LEFT_OUT:
            continue
        out[name] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, typing_only: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement, anywhere in the module, and whether it is for type checking."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, typing_only
        elif isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), typing_only)
        else:
            yield from _imports(node, typing_only)


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, bool]]:
    """``(module, typing_only)`` for each module ``name`` imports: in-package modules by
    their full names, others by their top-level name (``httpx``)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node, typing_only in _imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                yield (target if target in known else target.split(".")[0]), typing_only
            continue
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
        else:
            target = node.module or ""
        if not target.startswith(PACKAGE):
            yield target.split(".")[0], typing_only
            continue
        for alias in node.names:  # ``from . import settings`` imports a module
            sub = f"{target}.{alias.name}"
            yield (sub if sub in known else target), typing_only


def graph(*, typing: bool) -> dict[str, set[str]]:
    """Module -> what it imports (with the imports made only for type checking, or not)."""
    known = modules()
    return {
        name: {t for t, only in imported(name, path, known) if typing or not only}
        for name, path in known.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles among the package's modules, each as a path from a module back to it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def reach(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def short(name: str) -> str:
    return name.removeprefix(f"{PACKAGE}.")


# transport <- API surfaces <- (client) ; slices <- planning <- packing <- paging <- fetching
FETCH_PATH = [
    "transport",
    "query_api",
    "rpc_api",
    "client",
    "slices",
    "planning",
    "packing",
    "paging",
    "fetching",
]


def test_the_walk_sees_the_fetch_path() -> None:
    edges = graph(typing=False)
    missing = {m for m in FETCH_PATH if f"{PACKAGE}.{m}" not in edges}
    assert not missing, f"modules of the fetch path not found: {sorted(missing)}"
    assert f"{PACKAGE}.transport" in edges[f"{PACKAGE}.client"]
    assert "httpx" in edges[f"{PACKAGE}.transport"]
    assert f"{PACKAGE}.packing" in edges[f"{PACKAGE}.fetching"]


def test_the_connector_has_no_import_cycles() -> None:
    found = cycles(graph(typing=True))
    assert not found, "import cycles: " + "; ".join(" -> ".join(map(short, c)) for c in found)


def test_the_transport_never_imports_what_builds_on_it() -> None:
    edges = graph(typing=True)
    below = reach(edges, f"{PACKAGE}.transport")
    above = {"client", "query_api", "rpc_api", "packing", "paging", "fetching", "resources"}
    assert not {short(m) for m in below} & above


def test_pure_modules_reach_no_io() -> None:
    runtime = graph(typing=False)
    every = graph(typing=True)
    for name in sorted(PURE):
        module = f"{PACKAGE}.{name}"
        if module not in every:  # renamed or gone: nothing to check
            continue
        reached = reach(runtime, module)
        assert "httpx" not in reached, f"{name} imports httpx (through {sorted(reached)})"
        assert not {short(m) for m in reached} & IO, f"{name} reaches I/O: {sorted(reached)}"
        typed = {short(m) for m in every[module]} & IO
        assert not typed, f"{name} imports {typed}, even if for type checking only"

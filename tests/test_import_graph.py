"""The layering of the code base, read from the source (stdlib ``ast``; nothing is imported).

docs/layering.md: ``ticker_project`` is the top of the graph and wires things only; the apps
(accounts, subscriptions, streaming, greeks, simulator) sit below it without cycles between
them; the leaves (contract, infra, kite_wire, market_model) import no app. No app imports the
simulator and the simulator imports no app. The pure cores import neither Django nor Redis,
directly or through anything they import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
TOP: Final = "ticker_project"
APPS: Final = frozenset({"accounts", "subscriptions", "streaming", "greeks", "chain", "simulator"})
LEAVES: Final = frozenset({"contract", "infra", "kite_wire", "market_model"})
PACKAGES: Final = APPS | LEAVES | {TOP}
# Each pure core is a module or a package (every module under it).
PURE_CORES: Final = (
    "greeks.engine",
    "greeks.history.intervals",
    "greeks.history.pricing",
    "greeks.history.records",
    "greeks.history.validate",
    "kite_wire",
    "contract",
    "streaming.pipeline",
    "market_model",
    "chain.analytics",
    "chain.columns",
)
FRAMEWORKS: Final = frozenset(
    {"django", "redis", "rest_framework", "celery", "kiteconnect", "drf_spectacular"}
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def sources() -> Mapping[str, Path]:
    """Every first-party module (name -> file), migrations included."""
    found: dict[str, Path] = {}
    for package in sorted(PACKAGES):
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, node.module] if node.module else anchor)
    # ``from pkg import sub`` imports the submodule when there is one.
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name for name in names if name in sources()] or [base]


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module ``module`` imports anywhere in its body (functions included)."""
    path = sources()[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, path, node))
    return frozenset(found)


def top(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


def within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _first_party(name: str) -> str | None:
    """The first-party module ``name`` refers to (itself or its nearest enclosing module)."""
    while name:
        if name in sources():
            return name
        name = name.rpartition(".")[0]
    return None


def violations(rule: str, pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{rule}: {importer} imports {imported}" for importer, imported in pairs]


def edges() -> list[tuple[str, str]]:
    return [(module, imported) for module in sources() for imported in imports_of(module)]


def test_the_graph_is_read_from_every_package() -> None:
    # The test is only as good as its reading: every package is found and its imports parsed.
    assert {top(m) for m in sources()} == PACKAGES
    assert "contract.names" in imports_of("streaming.worker")
    assert "market_model.market" in imports_of("simulator.server")


def test_no_app_or_leaf_imports_the_project_package() -> None:
    # ticker_project is the top: it wires the apps; apps read settings via django.conf only.
    bad = [(m, i) for m, i in edges() if top(m) != TOP and top(i) == TOP]
    assert violations("below ticker_project", bad) == []


def test_no_app_imports_the_simulator_and_the_simulator_imports_no_app() -> None:
    into = [(m, i) for m, i in edges() if top(m) != "simulator" and top(i) == "simulator"]
    # The project package may wire the simulator in (run_demo starts it); nothing else may.
    into = [(m, i) for m, i in into if top(m) != TOP]
    out = [
        (m, i)
        for m, i in edges()
        if top(m) == "simulator"
        and (top(i) in APPS | {TOP})
        and top(i) != "simulator"
        and not within(i, PURE_CORES)
    ]
    assert violations("into the simulator", into) + violations("out of the simulator", out) == []


def test_leaves_import_no_app() -> None:
    bad = [
        (m, i)
        for m, i in edges()
        if top(m) in LEAVES and top(i) in APPS | {TOP} and not within(i, PURE_CORES)
    ]
    assert violations("leaf", bad) == []


def _closure(module: str) -> dict[str, str]:
    """Every module reachable from ``module`` -> the first-party module that imports it."""
    seen: dict[str, str] = {}
    expanded = {module}
    todo = [module]
    while todo:
        current = todo.pop()
        for imported in imports_of(current):
            seen.setdefault(imported, current)
            resolved = _first_party(imported)
            if resolved is not None and resolved not in expanded:
                expanded.add(resolved)
                todo.append(resolved)
    return seen


def test_the_closure_follows_first_party_imports() -> None:
    # streaming.worker imports redis itself and, through streaming.control, contract.control.
    reached = _closure("streaming.worker")
    assert reached["redis.asyncio"] == "streaming.worker"
    assert reached["contract.control"] == "streaming.control"


def test_pure_cores_import_neither_django_nor_redis_even_indirectly() -> None:
    cores = [m for m in sources() if within(m, PURE_CORES)]
    assert len(cores) >= len(PURE_CORES)
    bad: list[tuple[str, str]] = []
    for core in cores:
        for imported, via in _closure(core).items():
            if top(imported) in FRAMEWORKS:
                bad.append((core, f"{imported} (via {via})"))
    assert violations("pure core", sorted(set(bad))) == []


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for m, i in edges():
        if top(i) in PACKAGES and top(i) != top(m):
            graph[top(m)].add(top(i))
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle's node list found by depth-first search (one per back edge)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycles_between_packages() -> None:
    assert cycles(_package_graph()) == []

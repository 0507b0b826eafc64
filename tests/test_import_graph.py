"""The layering of the code base, read from the source (stdlib ``ast``; nothing is imported).

docs/layering.md: ``ticker_project`` is the top of the graph and wires things only; the apps
(accounts, subscriptions, streaming, greeks, simulator) sit below it without cycles between
them; the leaves (contract, infra, kite_wire, market_model) import no app. No app imports the
simulator and the simulator imports no app. The pure cores import neither Django nor Redis,
directly or through anything they import.

The last checks run the imports instead of reading them: a streaming worker (``run_account``)
must not load kiteconnect, Twisted, autobahn or scipy, which cost it ~40 MB of RSS (docs/fleet.md,
"Benchmark"); the paths they came by were Django's start-up (admin autodiscovery, task modules
imported by ``AppConfig.ready``), the system checks (the URLconf) and structlog, so only a real
process shows them.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

import pytest

from streaming.config import EXIT_USAGE
from tests.database_url import migrated_database_url

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


# What a streaming worker process imports: Django's start-up, its command, and the packages it
# streams with (their modules import at the top, nothing later).
WORKER_MODULES: Final = (
    "streaming.management.commands.run_account",
    "streaming.worker",
    "streaming.feed",
    "streaming.pipeline",
    "streaming.publish",
)
NOT_IN_A_WORKER: Final = ("kiteconnect", "twisted", "autobahn", "scipy")
_PROBE: Final = """
import importlib, json, pkgutil, sys
import django
django.setup()
from celery import current_app
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        importlib.import_module(info.name)
worker = sorted(name for name, module in sys.modules.items() if module is not None)
finalized_by_worker_imports = current_app.finalized
tasks = sorted(current_app.tasks)  # what a process that enqueues by name sees
from django.contrib import admin
from django.urls import get_resolver
admin_before_urls = len(admin.site._registry)
get_resolver().url_patterns  # what the web process does on its first request
print(json.dumps({
    "worker": worker,
    "finalized_by_worker_imports": finalized_by_worker_imports,
    "tasks": tasks,
    "admin_before_urls": admin_before_urls,
    "admin_after_urls": len(admin.site._registry),
}))
"""


@cache
def _worker_process_imports() -> dict[str, Any]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ticker_project.settings"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *WORKER_MODULES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


def test_a_streaming_worker_loads_neither_kiteconnect_twisted_nor_scipy() -> None:
    facts = _worker_process_imports()
    assert "streaming.pipeline.enrich" in facts["worker"]  # the probe did import the worker
    assert "greeks.engine" in facts["worker"]
    loaded = [name for name in facts["worker"] if top(name) in NOT_IN_A_WORKER]
    assert loaded == []


@pytest.mark.django_db
def test_the_run_account_command_loads_neither_kiteconnect_twisted_nor_scipy() -> None:
    # The command as the fleet starts it, through manage.py (system checks included), on the
    # test database; account 0 does not exist, so it exits once everything is imported.
    database_url = migrated_database_url()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "manage.py", "run_account", "0"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == EXIT_USAGE, done.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "streaming.worker" in imported
    assert "greeks.engine" in imported
    # structlog.twisted is looked up and refused (ticker_project/__init__.py), never run.
    loaded = sorted(name for name in imported if top(name) in NOT_IN_A_WORKER)
    assert loaded == []


def test_tasks_and_admin_still_register_where_they_are_used() -> None:
    # The tasks register when the registry is first read (ticker_project/celery.py), the admin
    # when the URLconf loads (ticker_project/urls.py): neither at Django's start-up.
    facts = _worker_process_imports()
    task_modules = ("subscriptions.tasks", "greeks.tasks", "accounts.tasks")
    assert [name for name in facts["worker"] if within(name, task_modules)] == []
    assert not facts["finalized_by_worker_imports"]
    assert {
        "subscriptions.tasks.assign_subscriptions",
        "greeks.tasks.backfill_instruments",
        "accounts.tasks.check_account_sessions",
    } <= set(facts["tasks"])
    assert facts["admin_before_urls"] == 0
    assert facts["admin_after_urls"] > 10

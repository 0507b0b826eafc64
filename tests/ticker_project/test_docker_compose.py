"""docker/compose.yml runs every process of the product, with commands that really exist.

No Docker engine runs here, so each service's command is checked against the project itself:
a ``manage.py`` command must exist and accept its arguments (its own parser), a Celery command
must name the project's app and only queues the project routes to, gunicorn must name an
importable WSGI application.
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, get_commands, load_command_class

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yml"
EXPECTED_SERVICES = {
    "postgres", "redis", "web", "fleet", "celery-worker", "celery-beat", "flower", "simulator",
}  # fmt: skip
APP_SERVICES = EXPECTED_SERVICES - {"postgres", "redis"}


def _spec() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _command_lines(command: list[str]) -> list[list[str]]:
    """The program invocations of one service (``sh -c "a && exec b"`` gives two)."""
    if command[:2] == ["sh", "-c"]:
        parts = [shlex.split(part) for part in command[2].split("&&")]
        return [part[1:] if part[0] == "exec" else part for part in parts]
    return [command]


def _check_manage(argv: list[str]) -> str:
    assert argv[:2] == ["python", "manage.py"], argv
    name, arguments = argv[2], argv[3:]
    commands = get_commands()
    assert name in commands, f"manage.py {name} does not exist"
    command = load_command_class(commands[name], name)
    command.create_parser("manage.py", name).parse_args(arguments)  # CommandError when wrong
    return name


def _check_celery(argv: list[str]) -> str:
    assert argv[:3] == ["celery", "-A", "ticker_project"], argv
    importlib.import_module("ticker_project.celery")
    sub = argv[3]
    assert sub in {"worker", "beat", "flower"}, argv
    if "-Q" in argv:
        queues = set(argv[argv.index("-Q") + 1].split(","))
        assert queues <= set(settings.CONTROL_PLANE_QUEUES), queues
        routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
        assert routed <= queues, f"routed queues {routed - queues} have no worker"
    if sub == "flower":
        importlib.import_module("flower")
    return f"celery {sub}"


def _check_gunicorn(argv: list[str]) -> str:
    module, _, attribute = argv[1].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    return "gunicorn"


def test_compose_runs_every_process_with_real_commands() -> None:
    services = _spec()["services"]
    assert set(services) == EXPECTED_SERVICES
    ran: dict[str, list[str]] = {}
    for name in sorted(APP_SERVICES):
        assert "profiles" not in services[name], f"{name} must run by default"
        checked = []
        for argv in _command_lines(services[name]["command"]):
            program = argv[0]
            if program == "python":
                checked.append(_check_manage(argv))
            elif program == "celery":
                checked.append(_check_celery(argv))
            elif program == "gunicorn":
                checked.append(_check_gunicorn(argv))
            else:
                pytest.fail(f"{name} runs {program}, which the project does not provide")
        ran[name] = checked
    assert ran["fleet"] == ["run_fleet"]
    assert ran["web"] == ["migrate", "setup_periodic_tasks", "gunicorn"]
    assert ran["celery-worker"] == ["celery worker"]
    assert ran["celery-beat"] == ["celery beat"]
    assert ran["flower"] == ["celery flower"]
    assert ran["simulator"] == ["run_simulator"]
    # The fleet scales: no fixed container name or published host port to collide on.
    assert "container_name" not in services["fleet"] and "ports" not in services["fleet"]


def test_a_misspelled_command_is_caught() -> None:
    with pytest.raises(AssertionError, match="run_flet does not exist"):
        _check_manage(["python", "manage.py", "run_flet"])
    with pytest.raises(CommandError, match="unrecognized arguments: --max-acounts"):
        _check_manage(["python", "manage.py", "run_fleet", "--max-acounts", "2"])


def test_compose_config_accepts_the_file_when_the_tool_is_installed() -> None:
    tool = shutil.which("docker-compose")
    env = {
        **os.environ,
        "POSTGRES_PASSWORD": "x",
        "SECRET_KEY": "x",
        "CREDENTIALS_KEYS": "x",
        "FLOWER_BASIC_AUTH": "u:p",
    }
    if tool is None:
        # Not a skip: without the tool the checks above are the whole check.
        assert COMPOSE.exists()
        return
    result = subprocess.run(
        [tool, "-f", str(COMPOSE), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr

"""docker/compose.yml runs only real commands of this project, with arguments they accept.

Every service's command is parsed: ``python manage.py NAME ARGS`` must name a management command
Django knows (``get_commands``) and ``ARGS`` must parse with that command's own parser; Celery
sub-commands must exist in Celery's CLI for the project's app and parse with their own options
(``-Q`` naming only queues the settings route to, and all of them); gunicorn's application must
import and its options parse with gunicorn's parser. Docker is not available here, so the file
is checked as YAML; ``docker compose config`` runs too when the tool is installed.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import CommandError, get_commands, load_command_class
from flower.options import options as flower_options
from gunicorn.config import Config as GunicornConfig  # type: ignore[import-untyped]

from ticker_project.celery import app as celery_app

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yml"
EXPECTED_SERVICES = {
    "postgres", "redis", "web", "fleet", "celery-worker", "celery-beat", "flower", "simulator",
}  # fmt: skip
# Images' own programs (not the project's): allowed as they are.
THIRD_PARTY = {"redis-server"}
SAMPLE_ENV = {"FLOWER_BASIC_AUTH": "user:password"}


def _spec() -> dict[str, Any]:
    spec = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(spec, dict)
    return spec


def _interpolate(text: str) -> str:
    """Compose's ``${VAR:?message}`` / ``${VAR:-default}`` with sample values (test only)."""

    def value(match: re.Match[str]) -> str:
        name, _, rest = match.group(1).partition(":")
        return SAMPLE_ENV.get(name, rest[1:] if rest.startswith("-") else "x")

    return re.sub(r"\$\{([^}]*)\}", value, text)


def command_lines(command: list[str]) -> list[list[str]]:
    """The programs a service's command runs (``sh -c "a && exec b"`` is two)."""
    words = [_interpolate(word) for word in command]
    if words[:2] == ["sh", "-c"]:
        assert len(words) == 3, words
        lines = [shlex.split(part) for part in words[2].split("&&")]
        return [line[1:] if line[:1] == ["exec"] else line for line in lines]
    return [words]


def _check_manage(args: list[str]) -> str:
    assert args[:2] == ["python", "manage.py"], args
    name, rest = args[2], args[3:]
    commands = get_commands()
    assert name in commands, f"compose runs `manage.py {name}`, which does not exist"
    command = load_command_class(commands[name], name)
    parser = command.create_parser("manage.py", name)
    try:
        parser.parse_args(rest)
    except (SystemExit, CommandError) as exc:  # Django's parser raises CommandError
        pytest.fail(f"`manage.py {name} {shlex.join(rest)}` does not parse ({exc})")
    return name


def _check_celery(args: list[str]) -> str:
    assert args[:3] == ["celery", "-A", "ticker_project"], args
    sub, rest = args[3], args[4:]
    assert sub in celery_cli.commands, f"celery has no `{sub}` command"
    obj = CLIContext(app=celery_app, no_color=True, workdir=None, quiet=True)
    context = celery_cli.commands[sub].make_context(sub, list(rest), obj=obj)
    if sub == "worker":
        queues = set(context.params["queues"] or [])
        routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
        assert queues == set(settings.CONTROL_PLANE_QUEUES) >= routed, queues
    if sub == "flower":  # flower passes its options on to tornado
        for option in context.params["tornado_argv"]:
            name, _, value = option.removeprefix("--").partition("=")
            assert name in flower_options and value, f"flower has no option {option!r}"
    return sub


def _check_gunicorn(args: list[str]) -> str:
    parsed = GunicornConfig().parser().parse_args(args[1:])
    (target,) = parsed.args
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    return "gunicorn"


def check_line(args: list[str]) -> str:
    if args[0] == "python":
        return _check_manage(args)
    if args[0] == "celery":
        return _check_celery(args)
    if args[0] == "gunicorn":
        return _check_gunicorn(args)
    assert args[0] in THIRD_PARTY, f"compose runs an unknown program {args[0]!r}"
    return args[0]


def test_every_service_and_what_it_runs() -> None:
    services = _spec()["services"]
    assert set(services) == EXPECTED_SERVICES
    ran = {
        name: [check_line(line) for line in command_lines(svc["command"])]
        for name, svc in services.items()
        if "command" in svc
    }
    assert ran == {
        "redis": ["redis-server"],
        "web": ["migrate", "setup_periodic_tasks", "gunicorn"],
        "fleet": ["run_fleet"],
        "celery-worker": ["worker"],
        "celery-beat": ["beat"],
        "flower": ["flower"],
        "simulator": ["run_simulator"],
    }


def test_the_fleet_scales_and_beat_does_not() -> None:
    services = _spec()["services"]
    fleet = services["fleet"]
    # `--scale fleet=N` needs no fixed container name or host port, and no opt-in profile.
    assert "container_name" not in fleet and "ports" not in fleet and "profiles" not in fleet
    assert fleet["init"] is True and "stop_grace_period" in fleet
    assert services["celery-beat"]["deploy"]["replicas"] == 1


@pytest.mark.parametrize(
    "command",
    [
        ["python", "manage.py", "no_such_command"],
        ["python", "manage.py", "run_fleet", "--no-such-flag"],
        ["celery", "-A", "ticker_project", "worker", "--no-such-flag"],
        ["celery", "-A", "ticker_project", "worker", "-Q", "default"],
        ["celery", "-A", "ticker_project", "flower", "--no_such_option=1"],
        ["uvicorn", "app"],
    ],
)
def test_the_check_rejects_what_does_not_exist(command: list[str]) -> None:
    with pytest.raises((AssertionError, pytest.fail.Exception, click.UsageError)):
        check_line(command)


def test_compose_config_accepts_the_file_when_the_tool_is_installed() -> None:
    tool = shutil.which("docker-compose")
    env = {
        **os.environ, "POSTGRES_PASSWORD": "x", "SECRET_KEY": "x", "CREDENTIALS_KEYS": "x",
        "FLOWER_BASIC_AUTH": "u:p",
    }  # fmt: skip
    if tool is None:
        # Not a skip: without the tool the parsing tests above are the whole check.
        assert COMPOSE.exists()
        return
    result = subprocess.run(
        [tool, "-f", str(COMPOSE), "config", "--quiet"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

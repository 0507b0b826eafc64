"""``manage.py run_demo``: the whole service on one machine, on embedded defaults.

Starts (as child processes) the embedded Redis when REDIS_URL is unset, and the web server;
migrates; creates the demo admin user; prints the URLs and the login. Ctrl-C (or SIGTERM) stops
everything it started; if one child dies the demo stops the rest and says which one.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from ticker_project.embedded_redis import start_embedded_redis

log = structlog.get_logger(__name__)

DEMO_USERNAME = "admin"
# Printed on start; the demo binds to localhost and its data lives under var/ only.
DEMO_PASSWORD = "admin-demo"  # noqa: S105


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


class Command(BaseCommand):
    help = "Run the demo: embedded Redis, web server (and the rest of the fleet as it lands)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        self._children: list[Child] = []
        self._stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._start(options["host"], options["port"])
            self._watch()
        finally:
            self._stop_all()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("demo_stopping", signal=signal.Signals(signum).name)
        self._stopping = True

    def _spawn(self, name: str, argv: list[str]) -> Child:
        child = Child(name, subprocess.Popen(argv))  # noqa: S603 (our own argv)
        self._children.append(child)
        log.info("demo_process_started", process=name, pid=child.process.pid)
        return child

    def _start(self, host: str, port: int) -> None:
        var_dir = Path(settings.BASE_DIR) / "var"
        if settings.REDIS_EMBEDDED:
            process = start_embedded_redis(
                socket_path=var_dir / "redis.sock", data_dir=var_dir / "redis"
            )
            self._children.append(Child("embedded-redis", process))
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_demo_user()
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self._spawn("web", [*manage, "runserver", f"{host}:{port}", "--noreload"])
        base = f"http://{host}:{port}"
        self.stdout.write(
            self.style.SUCCESS("\nTicker fleet demo is starting.\n")
            + f"  Admin:        {base}/admin/   (login {DEMO_USERNAME} / {DEMO_PASSWORD})\n"
            + f"  API docs:     {base}/api/docs/\n"
            + f"  Health:       {base}/api/health/\n"
            + f"  Redis:        {settings.REDIS_URL}\n"
            + "  Stop with Ctrl-C.\n"
        )

    def _ensure_demo_user(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=DEMO_USERNAME).exists():
            user_model.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)
            log.info("demo_user_created", username=DEMO_USERNAME)

    def _watch(self) -> None:
        while not self._stopping:
            for child in self._children:
                code = child.process.poll()
                if code is not None:
                    log.error("demo_process_exited", process=child.name, returncode=code)
                    self.stderr.write(f"{child.name} exited with {code}; stopping the demo.")
                    return
            time.sleep(0.5)

    def _stop_all(self) -> None:
        # Reverse start order: clients first, Redis last.
        for child in reversed(self._children):
            if child.process.poll() is None:
                child.process.terminate()
        for child in reversed(self._children):
            try:
                child.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("demo_process_killed", process=child.name)
                child.process.kill()
                child.process.wait()
        log.info("demo_stopped")

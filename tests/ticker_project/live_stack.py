"""A throwaway PostgreSQL and a gunicorn serving the project, both started (and stopped) by the
test itself, never the shared servers.

``ThrowawayPostgres``: ``initdb``/``pg_ctl`` from /usr/lib/postgresql/*/bin on a free port (as the
``postgres`` user when the tests run as root: initdb refuses root), loaded with a dump of the
tests' migrated database so no migration runs. ``LiveServer``: gunicorn with the environment given.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from tests.streaming.helpers import REPO_ROOT, free_port, wait_for


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found under /usr/lib/postgresql/*/bin")
    return found[-1]


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ticker-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        subprocess.run(
            _as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def url(self, name: str = "ticker") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                          "-l", str(self.root / "log"), "start"]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                          "stop"]),
            check=False, capture_output=True, timeout=60,
        )  # fmt: skip

    def load_copy_of(self, source_url: str, *, name: str = "ticker") -> None:
        """Create ``name`` holding a copy (schema and rows) of the database at ``source_url``."""
        subprocess.run(
            ["psql", self.url("postgres"), "-q", "-c", f"CREATE DATABASE {name}"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        dump = subprocess.run(
            [_pg_bin("pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            ["psql", self.url(name), "-q", "-v", "ON_ERROR_STOP=1"],
            input=dump.stdout, check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class LiveServer:
    """``gunicorn ticker_project.wsgi`` on a free port with ``env``; ``url`` is its root."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="ticker-gunicorn-", suffix=".log")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "ticker_project.wsgi:application",
             "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "4",
             "--timeout", "60"],
            cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self._answers, timeout=60)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {self.logs()}")
        try:
            requests.get(f"{self.url}/metrics", timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            return False
        return True

    def logs(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


def live_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_FORMAT="console",
               DB_CONN_MAX_AGE="60", **extra)  # fmt: skip
    return env

"""Pytest fixtures that run the Kite simulator as a real ``manage.py run_simulator`` subprocess.

Use from any test (once tests/conftest.py lists ``pytest_plugins = ["tests.simulator_fixtures"]``):

- ``kite_simulator`` (session scope): a shared simulator; tests that inject faults must undo them
  (``handle.control.clear()``) or use ``simulator_factory``.
- ``simulator_factory`` (function scope): ``simulator_factory("--redirect-url", url, ...)``
  starts a private simulator with extra command-line options; all are stopped at teardown.

Each yields a `SimulatorHandle`: ``api_root``, ``ws_root``, ``control_root``, ``accounts``
(`SimAccountCredentials`: api_key, api_secret, access_token, user_id) and ``control``
(`SimulatorControl`: ``fault(action, **options)``, ``clear()``, ``state(epoch=, tokens=)``).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SimAccountCredentials:
    api_key: str
    api_secret: str
    access_token: str
    user_id: str


class SimulatorControl:
    """Client for the simulator's ``/_sim`` control endpoint (stdlib only)."""

    def __init__(self, control_root: str) -> None:
        self.control_root = control_root

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback URL built by the fixture
            f"{self.control_root}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())["data"]

    def fault(self, action: str, **options: Any) -> dict[str, Any]:
        """``drop``, ``stall``, ``malformed``, ``expire_tokens``, ``refuse_connects``, ``slow``."""
        return self._call("POST", "/faults", {"action": action, **options})

    def clear(self) -> None:
        self.fault("clear")

    def state(self, *, epoch: float | None = None, tokens: tuple[int, ...] = ()) -> dict[str, Any]:
        """Connections, faults, virtual ``now``; with tokens, Kite-shaped quotes at ``epoch``."""
        query = "&".join([*(f"token={t}" for t in tokens), *([f"epoch={epoch}"] if epoch else [])])
        return self._call("GET", "/state" + (f"?{query}" if query else ""))


@dataclass(frozen=True)
class SimulatorHandle:
    api_root: str
    ws_root: str
    control_root: str
    accounts: tuple[SimAccountCredentials, ...]
    control: SimulatorControl
    process: subprocess.Popen[str]


@contextmanager
def launch_simulator(*extra_args: str) -> Iterator[SimulatorHandle]:
    """Run ``manage.py run_simulator`` on ephemeral ports; SIGTERM it (expecting exit 0) after."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_simulator", "--host", "127.0.0.1", "--port", "0",
             *extra_args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=os.environ.copy(),
        )  # fmt: skip
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT_SECONDS)
            line = process.stdout.readline() if ready else ""
            if not line:
                stderr.seek(0)
                raise RuntimeError(f"simulator did not start: {stderr.read()[-2000:]}")
            info = json.loads(line)
            yield SimulatorHandle(
                api_root=info["api_root"],
                ws_root=info["ws_root"],
                control_root=info["control_root"],
                accounts=tuple(SimAccountCredentials(**a) for a in info["accounts"]),
                control=SimulatorControl(info["control_root"]),
                process=process,
            )
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process.returncode != 0:
            stderr.seek(0)
            raise RuntimeError(f"simulator exited {process.returncode}: {stderr.read()[-2000:]}")


@pytest.fixture(scope="session")
def kite_simulator() -> Iterator[SimulatorHandle]:
    """One simulator for the session (3 accounts, seed 1, Kite's rate limits on)."""
    with launch_simulator("--accounts", "3", "--seed", "1") as handle:
        yield handle


@pytest.fixture
def simulator_factory() -> Iterator[Callable[..., SimulatorHandle]]:
    """Start private simulators with extra options; stopped at the end of the test."""
    stack: list[Any] = []

    def start(*extra_args: str) -> SimulatorHandle:
        manager = launch_simulator(*extra_args)
        handle = manager.__enter__()
        stack.append(manager)
        return handle

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)

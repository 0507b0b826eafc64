"""Test helpers for ``manage.py run_fleet`` as a real process tree (simulator, PG, Redis)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from django.conf import settings

from contract.fleet import (
    WorkerRecord,
    account_lease_key,
    decode_lease_holder,
    decode_worker,
    fleet_worker_key,
)
from tests.streaming.helpers import REPO_ROOT, wait_for, worker_env


def fleet_env(*, redis_url: str, **extra: str) -> dict[str, str]:
    """Short timings so that faults play out in seconds (production defaults in docs/fleet.md)."""
    return worker_env(
        redis_url=redis_url,
        STREAMING_HEARTBEAT_SECONDS="1",
        STREAMING_LEASE_TTL_SECONDS="3",
        FLEET_RECONCILE_SECONDS="2",
        FLEET_CLAIM_PATIENCE_SECONDS="2",
        FLEET_STARTUP_GRACE_SECONDS="20",
        FLEET_RESTART_INITIAL_SECONDS="0.2",
        FLEET_RESTART_MAX_SECONDS="2",
        FLEET_GRACE_SECONDS="4",
        **extra,
    )


@dataclass
class FleetProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], Any], *, timeout: float = 30.0) -> Any:
        try:
            return wait_for(condition, timeout=timeout, interval=0.1)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; fleet exit={self.process.poll()}\n{self.logs()[-6000:]}"
            ) from None

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextmanager
def run_fleet(env: dict[str, str], *args: str) -> Iterator[FleetProcess]:
    """``manage.py run_fleet`` as a subprocess; SIGKILLed at exit if still running."""
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as log_file:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_fleet", *args],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        fleet = FleetProcess(process, Path(log_file.name))
        try:
            yield fleet
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def worker_record(client: redis.Redis, account_id: int) -> WorkerRecord | None:
    raw = client.get(fleet_worker_key(settings.TICKER_CHANNEL_PREFIX, account_id))
    return decode_worker(raw) if raw else None


def record_field(client: redis.Redis, account_id: int, name: str) -> Any:
    record = worker_record(client, account_id)
    return getattr(record, name) if record is not None else None


def running_pid(client: redis.Redis, account_id: int) -> int | None:
    """The pid of the account's child once the fleet reports it running (heartbeat fresh)."""
    record = worker_record(client, account_id)
    return record.pid if record is not None and record.state == "running" else None


def lease_pid(client: redis.Redis, account_id: int) -> int | None:
    raw = client.get(account_lease_key(settings.TICKER_CHANNEL_PREFIX, account_id))
    return decode_lease_holder(raw).pid if raw else None


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return status != "Z"

"""Test helpers for ``manage.py run_fleet`` as a real process tree (simulator, PG, Redis)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.streaming.helpers import WorkerProcess, run_manage, worker_env


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


@contextmanager
def run_fleet(env: dict[str, str], *args: str) -> Iterator[WorkerProcess]:
    """``manage.py run_fleet`` as a subprocess; SIGKILLed at exit if still running."""
    with run_manage(env, "run_fleet", *args) as fleet:
        yield fleet


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

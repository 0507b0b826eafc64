"""Test helpers: load the simulator's instruments into the registry, run a worker subprocess,
read what it published, start a throwaway redis-server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from subscriptions.kite_dump import DumpSource
from subscriptions.models import Instrument, Subscription, Underlying
from subscriptions.services.instruments import instruments_refresh
from tests.accounts.factories import AccountFactory
from tests.database_url import migrated_database_url
from tests.simulator_fixtures import SimAccountCredentials, SimulatorHandle

REPO_ROOT = Path(__file__).resolve().parents[2]
NIFTY_INDEX = 256265
BANKNIFTY_INDEX = 260105


def load_simulator_instruments(sim: SimulatorHandle) -> list[Instrument]:
    """The simulator's /instruments dump, loaded by the control plane's own refresh service."""
    credentials = sim.accounts[0]
    source = DumpSource(
        account_name="test-loader", api_root=sim.api_root, api_key=credentials.api_key,
        access_token=credentials.access_token, timeout_seconds=10.0,
    )  # fmt: skip
    report = instruments_refresh(sources=[source], now=timezone.now())
    assert report.bad_rows == [], report.bad_rows
    Underlying.objects.get_or_create(
        name="NIFTY", defaults={"index_token": NIFTY_INDEX, "index_tradingsymbol": "NIFTY 50",
                                "strike_step": 50},
    )  # fmt: skip
    Underlying.objects.get_or_create(
        name="BANKNIFTY", defaults={"index_token": BANKNIFTY_INDEX,
                                    "index_tradingsymbol": "NIFTY BANK", "strike_step": 100},
    )  # fmt: skip
    return list(Instrument.objects.all())


def simulator_account(
    sim: SimulatorHandle, credentials: SimAccountCredentials, *, access_token: str | None = None
) -> Account:
    # bulk_create: the control plane's post_save signals (assignment tasks) stay out of it.
    account = AccountFactory.build(
        api_key=credentials.api_key,
        api_secret=credentials.api_secret,
        access_token=access_token if access_token is not None else credentials.access_token,
        ws_root_override=sim.ws_root,
        api_root_override=sim.api_root,
    )
    (created,) = Account.objects.bulk_create([account])
    return created


def subscribe(account: Account, instruments: list[Instrument], mode: str = "full") -> None:
    Subscription.objects.bulk_create(
        [Subscription(instrument=i, account=account, mode=mode) for i in instruments]
    )


def options_near_money(instruments: list[Instrument], *, name: str = "NIFTY", count: int = 40):
    options = [i for i in instruments if i.name == name and i.instrument_type in ("CE", "PE")]
    expiries = sorted({i.expiry for i in options if i.expiry is not None})
    chosen = [i for i in options if i.expiry in expiries[1:3]]
    chosen.sort(key=lambda i: abs(i.strike - 24000))
    return chosen[:count]


def worker_env(*, redis_url: str, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = os.environ.copy()
    env.update(
        DATABASE_URL=migrated_database_url(),
        REDIS_URL=redis_url,
        TICKER_CHANNEL_PREFIX=settings.TICKER_CHANNEL_PREFIX,
        STREAMING_FEED_IS_MOCK="1",
        STREAMING_MOCK_MODE="off",
        STREAMING_HEARTBEAT_SECONDS="0.5",
        STREAMING_WATCHDOG_SECONDS="3",
        STREAMING_RECONNECT_INITIAL_SECONDS="0.2",
        STREAMING_RECONNECT_MAX_SECONDS="1",
        STREAMING_RECONCILE_SECONDS="300",
        DB_CONN_MAX_AGE="0",
    )
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f"//{db['USER']}@", f"//{db['USER']}:{db['PASSWORD']}@"
        )
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], Any], *, timeout: float = 30.0) -> Any:
        """``wait_for`` that shows the worker's log tail when the condition is not met."""
        try:
            return wait_for(condition, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; exit={self.process.poll()}\n{self.logs()[-4000:]}"
            ) from None

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextmanager
def run_manage(env: dict[str, str], *argv: str) -> Iterator[WorkerProcess]:
    """``manage.py ARGV`` as a subprocess logging to a file; killed at exit if still running."""
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as log_file:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *argv],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        worker = WorkerProcess(process, Path(log_file.name))
        try:
            yield worker
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@contextmanager
def run_worker(account_id: int, env: dict[str, str], *args: str) -> Iterator[WorkerProcess]:
    """``manage.py run_account ID`` as a subprocess; killed at exit if still running."""
    with run_manage(env, "run_account", str(account_id), *args) as worker:
        yield worker


def wait_for(condition: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def heartbeat(client: redis.Redis, account_id: int) -> Any:
    raw = client.get(f"{settings.TICKER_CHANNEL_PREFIX}:heartbeat:{account_id}")
    return orjson.loads(raw) if raw else None


def stream_messages(client: redis.Redis, channel: str) -> list[dict[str, Any]]:
    entries: Any = client.xrange(f"{settings.TICKER_CHANNEL_PREFIX}:{channel}:stream")
    # One entry per published batch, holding that batch's messages as a JSON array.
    return [message for _id, fields in entries for message in orjson.loads(fields[b"data"])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayRedis:
    """``redis-server --port P --save "" --appendonly no`` that a test can kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        try:
            wait_for(lambda: _pings(client), timeout=10)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False

"""``manage.py run_demo``: the whole product on one machine, on embedded defaults.

In order: the embedded Redis (when REDIS_URL is unset); migrations, the demo admin user and the
default beat schedule; the Kite simulator, with one demo account per simulated Kite account
wired to it; an instrument refresh, a strike rebalance and an assignment; then the web server,
a Celery worker and beat, and the worker fleet (``run_fleet``), which runs and guards one
streaming worker per demo account. It waits for the first priced option tick on Redis and
prints it. Ctrl-C (or SIGTERM) stops everything it started; if one of its own children dies
(the fleet, not a worker: the fleet restarts those) the demo stops the rest and says which.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

import orjson
import redis
import structlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from accounts.services.account import SecretsUpdate, account_create, account_enable, account_update
from accounts.wiring import configured_cipher
from contract.messages import IV
from contract.names import STREAM_DATA_FIELD, options_channel, options_stream, underlying_channel
from infra.redis_factory import build_redis
from ticker_project.embedded_redis import start_embedded_redis

log = structlog.get_logger(__name__)

DEMO_USERNAME = "admin"
# Printed on start; the demo binds to localhost and its data lives under VAR_DIR only.
DEMO_PASSWORD = "admin-demo"  # noqa: S105
SIMULATOR_START_SECONDS = 30.0
FIRST_TICK_SECONDS = 60.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


class Command(BaseCommand):
    help = "Run the demo: simulator, web, Celery, one streaming worker per demo account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--accounts", type=int, default=3, help="simulated Kite accounts")
        parser.add_argument(
            "--fleet-metrics-port", type=int, default=9101,
            help="the fleet's Prometheus endpoint (the workers' metrics too; 0: off)",
        )  # fmt: skip
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        self._children: list[Child] = []
        self._stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._start(options)
            self._watch()
        finally:
            self._stop_all()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("demo_stopping", signal=signal.Signals(signum).name)
        self._stopping = True

    # --- start -------------------------------------------------------------------------------
    def _start(self, options: dict[str, Any]) -> None:
        var_dir = Path(settings.VAR_DIR)
        if settings.REDIS_EMBEDDED:
            process = start_embedded_redis(
                socket_path=var_dir / "redis.sock", data_dir=var_dir / "redis"
            )
            self._children.append(Child("embedded-redis", process))
        call_command("migrate", interactive=False, verbosity=0)
        call_command("setup_periodic_tasks", verbosity=0)
        self._ensure_demo_user()

        base = f"http://{options['host']}:{options['port']}"
        simulator = self._start_simulator(
            accounts=options["accounts"],
            seed=options["seed"],
            redirect_url=f"{base}/accounts/kite/callback/",
        )
        accounts = self._wire_accounts(simulator)
        self.stdout.write("Refreshing instruments, rebalancing strikes, assigning accounts ...")
        call_command("refresh_instruments", stdout=self.stdout, stderr=self.stderr)
        call_command("rebalance_strikes", stdout=self.stdout, stderr=self.stderr)
        call_command("assign_subscriptions", stdout=self.stdout, stderr=self.stderr)

        self._spawn("web", ["runserver", f"{options['host']}:{options['port']}", "--noreload"])
        self._spawn_raw(
            "celery-worker",
            [sys.executable, "-m", "celery", "-A", "ticker_project", "worker", "-l", "WARNING",
             "-P", "threads", "-c", "2", "-Q", ",".join(settings.CONTROL_PLANE_QUEUES)],
        )  # fmt: skip
        self._spawn_raw(
            "celery-beat",
            [sys.executable, "-m", "celery", "-A", "ticker_project", "beat", "-l", "WARNING"],
        )
        # Simulator-backed: every message says is_mock; the feed is the simulator itself.
        self._spawn(
            "fleet",
            [
                "run_fleet",
                "--fleet-id",
                "demo",
                "--metrics-port",
                str(options["fleet_metrics_port"]),
            ],
            env={"STREAMING_FEED_IS_MOCK": "1", "STREAMING_MOCK_MODE": "off"},
        )
        self._print_summary(base, simulator, accounts, options["fleet_metrics_port"])
        self._report_first_tick()

    def _ensure_demo_user(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=DEMO_USERNAME).exists():
            user_model.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)
            log.info("demo_user_created", username=DEMO_USERNAME)

    def _manage(self) -> list[str]:
        return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]

    def _spawn(self, name: str, argv: list[str], *, env: dict[str, str] | None = None) -> Child:
        return self._spawn_raw(name, [*self._manage(), *argv], env=env)

    def _spawn_raw(
        self,
        name: str,
        argv: list[str],
        *,
        stdout: int | None = None,
        env: dict[str, str] | None = None,
    ) -> Child:
        full_env = {**os.environ, **env} if env else None
        child = Child(name, subprocess.Popen(argv, stdout=stdout, env=full_env))  # noqa: S603
        self._children.append(child)
        log.info("demo_process_started", process=name, pid=child.process.pid)
        return child

    def _start_simulator(self, *, accounts: int, seed: int, redirect_url: str) -> dict[str, Any]:
        """Start ``run_simulator`` and read the one JSON line it prints (roots and accounts)."""
        child = self._spawn_raw(
            "simulator",
            [*self._manage(), "run_simulator", "--host", "127.0.0.1", "--port", "0",
             "--accounts", str(accounts), "--seed", str(seed), "--redirect-url", redirect_url],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        stream = child.process.stdout
        if stream is None:
            raise CommandError("simulator started without a stdout pipe")
        line = self._read_line(stream, SIMULATOR_START_SECONDS)
        if not line:
            raise CommandError(f"the simulator printed nothing in {SIMULATOR_START_SECONDS:.0f}s")
        # Keep draining its stdout so a later write can never block it on a full pipe.
        threading.Thread(target=self._drain, args=(stream,), daemon=True).start()
        try:
            info: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"the simulator's first line is not JSON: {line[:200]!r}") from exc
        return info

    @staticmethod
    def _read_line(stream: IO[bytes], timeout_seconds: float) -> bytes:
        ready, _, _ = select.select([stream], [], [], timeout_seconds)
        return stream.readline() if ready else b""

    @staticmethod
    def _drain(stream: IO[bytes]) -> None:
        for _line in stream:
            continue

    def _wire_accounts(self, simulator: dict[str, Any]) -> list[Account]:
        """One demo account per simulated Kite account, pointed at the simulator, logged in."""
        cipher = configured_cipher()
        wired: list[Account] = []
        for number, credentials in enumerate(simulator["accounts"], start=1):
            name = f"demo-{number}"
            secrets = SecretsUpdate(
                api_key=credentials["api_key"],
                api_secret=credentials["api_secret"],
                access_token=credentials["access_token"],
            )
            fields = {
                "broker_user_id": credentials["user_id"],
                "api_root_override": simulator["api_root"],
                "ws_root_override": simulator["ws_root"],
                "login_url_override": f"{simulator['api_root']}/connect/login",
            }
            existing = Account.objects.filter(name=name).first()
            if existing is None:
                account = account_create(cipher=cipher, name=name, secrets=secrets, **fields)
            else:
                account = account_update(account=existing, cipher=cipher, secrets=secrets, **fields)
                account = account_enable(account=account)
            wired.append(account)
        return wired

    def _print_summary(
        self, base: str, simulator: dict[str, Any], accounts: list[Account], metrics_port: int
    ) -> None:
        names = ", ".join(a.name for a in accounts)
        prefix = settings.TICKER_CHANNEL_PREFIX
        self.stdout.write(
            self.style.SUCCESS("\nTicker fleet demo is running.\n")
            + f"  Admin:      {base}/admin/   (login {DEMO_USERNAME} / {DEMO_PASSWORD})\n"
            + f"  Chain:      {base}/admin/chain/NIFTY/  and  {base}/admin/chain/BANKNIFTY/\n"
            + f"  Chain API:  {base}/api/v1/chain/?underlying=NIFTY  (and /api/v1/chain/term/)\n"
            + f"  API docs:   {base}/api/docs/\n"
            + f"  Health:     {base}/api/health/\n"
            + f"  Quotes:     {base}/api/v1/quotes/?tokens=256265 (log in first)\n"
            + f"  Simulator:  {simulator['api_root']} (Kite REST), {simulator['ws_root']} (ticks)\n"
            + f"  Accounts:   {names}, one streaming worker each, run by the fleet\n"
            + f"  Fleet:      {base}/api/v1/fleet/ (workers, restarts, leases); "
            + (f"metrics http://127.0.0.1:{metrics_port}/metrics\n" if metrics_port else "\n")
            + "  Failover:   kill a worker (pkill -9 -f 'run_account 2'): the fleet restarts it\n"
            + f"  Redis:      {settings.REDIS_URL}, channels {options_channel(prefix)} and "
            + f"{underlying_channel(prefix)}\n"
            + "  Ticks:      make tail   (in another terminal)\n"
            + "  Stop with Ctrl-C.\n"
        )

    def _report_first_tick(self) -> None:
        """Wait (bounded) for the first option tick on the replay stream and show it."""
        stream = options_stream(settings.TICKER_CHANNEL_PREFIX)
        client = build_redis(settings.REDIS_URL, timeout_seconds=5.0)
        deadline = time.monotonic() + FIRST_TICK_SECONDS
        try:
            while time.monotonic() < deadline and not self._stopping:
                entries: Any = client.xrevrange(stream, count=1)
                if entries:
                    priced = [
                        m
                        for m in orjson.loads(entries[0][1][STREAM_DATA_FIELD.encode()])
                        if m.get(IV)
                    ]
                    if priced:
                        # The one nearest the money says the most about the pricing.
                        tick = min(priced, key=lambda m: abs(abs(m["delta"]) - 0.5))
                        self.stdout.write(
                            self.style.SUCCESS("First priced option tick: ")
                            + f"{tick['tradingsymbol']} price {tick['price']} "
                            + f"iv {tick['iv']:.4f} delta {tick['delta']:.4f} "
                            + f"theta {tick['theta']:.4f} vega {tick['vega']:.4f}"
                        )
                        return
                time.sleep(0.5)
        except redis.exceptions.RedisError as exc:
            log.warning("demo_first_tick_unreadable", error_type=type(exc).__name__)
            return
        finally:
            client.close()
        if not self._stopping:
            self.stderr.write(f"No priced option tick within {FIRST_TICK_SECONDS:.0f}s.")

    # --- watch and stop ---------------------------------------------------------------------
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
        # Reverse start order: workers first, the simulator next, Redis last.
        for child in reversed(self._children):
            if child.process.poll() is None:
                child.process.terminate()
        for child in reversed(self._children):
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log.warning("demo_process_killed", process=child.name)
                child.process.kill()
                child.process.wait()
        log.info("demo_stopped")

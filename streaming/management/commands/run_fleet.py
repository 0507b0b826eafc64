"""``manage.py run_fleet``: supervise one ``run_account`` child per account (docs/fleet.md).

Runs until SIGTERM/SIGINT, then drains every child within ``--grace`` seconds, frees their
leases and exits 0. Several fleets (hosts, or ``docker compose up --scale fleet=N``) share the
accounts through the accounts' leases in Redis.
"""

from __future__ import annotations

import os
import socket
import uuid
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contract.names import heartbeat_key
from infra.redis_factory import build_redis
from streaming.fleet import wiring
from streaming.fleet.metrics_export import FleetMetrics
from streaming.fleet.supervisor import FleetConfig, FleetDependencies, FleetSupervisor
from streaming.heartbeat import heartbeat_ttl_seconds


class Command(BaseCommand):
    help = "Run the worker fleet: one supervised run_account child per account (until SIGTERM)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--max-accounts", type=int, default=settings.FLEET_MAX_ACCOUNTS or None,
            help="hold at most N accounts (default FLEET_MAX_ACCOUNTS; unset: no limit)",
        )  # fmt: skip
        parser.add_argument(
            "--fleet-id", default=None,
            help="this fleet's id in leases and records (default: host-pid-random)",
        )  # fmt: skip
        parser.add_argument(
            "--grace", type=float, default=settings.FLEET_GRACE_SECONDS,
            help="seconds a child may take to drain before SIGKILL (default 10)",
        )  # fmt: skip
        parser.add_argument(
            "--metrics-port", type=int, default=settings.FLEET_METRICS_PORT,
            help="serve this host's metrics (the fleet's and its children's) on this port (0: off)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        if options["max_accounts"] is not None and options["max_accounts"] < 1:
            raise CommandError("--max-accounts must be at least 1")
        if options["grace"] <= 0:
            raise CommandError("--grace must be positive")
        host, pid = socket.gethostname(), os.getpid()
        fleet_id = options["fleet_id"] or f"{host}-{pid}-{uuid.uuid4().hex[:6]}"
        prefix = settings.TICKER_CHANNEL_PREFIX
        config = FleetConfig(
            fleet_id=fleet_id, host=host, pid=pid, prefix=prefix,
            max_accounts=options["max_accounts"],
            reconcile_seconds=settings.FLEET_RECONCILE_SECONDS,
            claim_seconds=max(0.5, settings.STREAMING_LEASE_TTL_SECONDS / 3),
            claim_patience_seconds=settings.FLEET_CLAIM_PATIENCE_SECONDS,
            heartbeat_ttl_seconds=heartbeat_ttl_seconds(settings.STREAMING_HEARTBEAT_SECONDS),
            startup_grace_seconds=settings.FLEET_STARTUP_GRACE_SECONDS,
            kill_grace_seconds=options["grace"],
            restart_initial_seconds=settings.FLEET_RESTART_INITIAL_SECONDS,
            restart_max_seconds=settings.FLEET_RESTART_MAX_SECONDS,
        )  # fmt: skip
        exporter = FleetMetrics(settings.FLEET_METRICS_DIR or None)
        if options["metrics_port"]:
            exporter.serve(options["metrics_port"])
        client = build_redis(settings.REDIS_URL, timeout_seconds=2.0)
        deps = FleetDependencies(
            redis=client,
            desired_accounts=wiring.desired_accounts,
            mark_needs_login=wiring.mark_needs_login,
            run_assignment=wiring.run_assignment,
            unavailable_accounts=wiring.unavailable_accounts,
            child_argv=lambda account_id: wiring.child_argv(account_id, fleet_id),
            child_env={**wiring.child_env(), **exporter.child_env()},
            cwd=str(settings.BASE_DIR),
            heartbeat_key=lambda account_id: heartbeat_key(prefix, account_id),
            on_child_exit=exporter.child_exited,
        )
        try:
            FleetSupervisor(config, deps).run()
        finally:
            client.close()
            exporter.close()

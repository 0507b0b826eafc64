"""``manage.py run_simulator``: the Kite stand-in, until SIGTERM.

Prints ONE JSON line on stdout (api_root, ws_root, control_root, accounts) once listening, so a
parent process can read where to connect; logs go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from simulator.faults import FaultAction
from simulator.server import SimulatorOptions, start_simulator


def _fault(text: str) -> dict[str, object]:
    """``--fault NAME[:SECONDS]`` e.g. ``refuse_connects:10``, ``slow:0.3``, ``stall:5``."""
    name, _, value = text.partition(":")
    try:
        action = FaultAction(name)
    except ValueError as exc:
        raise CommandError(
            f"unknown fault {name!r}; one of {[a.value for a in FaultAction]}"
        ) from exc
    spec: dict[str, object] = {"action": str(action)}
    if value:
        spec["delay" if action is FaultAction.SLOW else "seconds"] = float(value)
    return spec


class Command(BaseCommand):
    help = "Run the Kite simulator (REST + WebSocket) until SIGTERM."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=0, help="REST/control port (0: any)")
        parser.add_argument("--ws-port", type=int, default=0, help="WebSocket port (0: any)")
        parser.add_argument("--accounts", type=int, default=3)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--redirect-url", default=None, help="where /connect/login sends users")
        parser.add_argument("--stress", action="store_true", help="send as fast as sockets take")
        parser.add_argument("--tick-interval", type=float, default=1.0, help="seconds per tick")
        parser.add_argument("--heartbeat", type=float, default=2.0, help="idle heartbeat seconds")
        parser.add_argument("--no-rate-limits", action="store_true")
        parser.add_argument("--real-time", action="store_true", help="no virtual session offset")
        parser.add_argument(
            "--virtual-start", default=None, help="ISO datetime the clock starts at (with offset)"
        )
        parser.add_argument("--fault", action="append", default=[], help="NAME[:SECONDS] at start")
        parser.add_argument("--drop-every", type=float, default=None, help="drop sockets every N s")
        parser.add_argument("--malformed-every", type=float, default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        virtual_start = (
            datetime.fromisoformat(opts["virtual_start"]) if opts["virtual_start"] else None
        )
        if virtual_start is not None and virtual_start.tzinfo is None:
            raise CommandError("--virtual-start needs a UTC offset, e.g. 2025-11-24T10:00:00+05:30")
        options = SimulatorOptions(
            host=opts["host"],
            port=opts["port"],
            ws_port=opts["ws_port"],
            accounts=opts["accounts"],
            seed=opts["seed"],
            redirect_url=opts["redirect_url"],
            stress=opts["stress"],
            tick_interval_seconds=opts["tick_interval"],
            heartbeat_seconds=opts["heartbeat"],
            rate_limits=not opts["no_rate_limits"],
            virtual_start=virtual_start,
            real_time=opts["real_time"],
            drop_every_seconds=opts["drop_every"],
            malformed_every_seconds=opts["malformed_every"],
            startup_faults=tuple(_fault(f) for f in opts["fault"]),
        )
        asyncio.run(self._serve(options))

    async def _serve(self, options: SimulatorOptions) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        running = await start_simulator(options)
        sys.stdout.write(json.dumps(running.announcement()) + "\n")
        sys.stdout.flush()
        try:
            await stop.wait()
        finally:
            await running.stop()

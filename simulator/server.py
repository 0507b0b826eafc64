"""Start and stop the simulator: REST + control on one port, the ticker WebSocket on another.

``start_simulator`` runs inside an event loop; `SimulatorThread` runs one in a background thread
(benchmarks, in-process use); ``manage.py run_simulator`` wraps it for a subprocess.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import structlog
from aiohttp import web

from market_model.clock import VirtualClock, session_start_for
from market_model.config import MarketConfig
from market_model.market import MarketModel
from simulator import control, rest, ws
from simulator.context import SimulatorContext, SimulatorSettings
from simulator.faults import FaultAction
from simulator.sessions import SessionStore

log = structlog.get_logger(__name__)

_STARTUP_TIMEOUT_SECONDS: Final = 30.0
_MAX_REQUEST_LINE: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    host: str = "127.0.0.1"
    port: int = 0
    ws_port: int = 0
    accounts: int = 3
    seed: int = 1
    redirect_url: str | None = None
    stress: bool = False
    tick_interval_seconds: float = 1.0
    heartbeat_seconds: float = 2.0
    rate_limits: bool = True
    # None: pretend the session is at 09:30 IST today (next weekday) whatever the wall time.
    virtual_start: datetime | None = None
    real_time: bool = False  # True: no offset, the wall clock is the market clock
    drop_every_seconds: float | None = None
    malformed_every_seconds: float | None = None
    startup_faults: tuple[dict[str, object], ...] = field(default=())


@dataclass
class RunningSimulator:
    api_root: str
    ws_root: str
    control_root: str
    context: SimulatorContext
    _runners: list[web.AppRunner]
    _background: list[asyncio.Task[None]]

    def announcement(self) -> dict[str, object]:
        """The start-up JSON line's content."""
        return {
            "api_root": self.api_root,
            "ws_root": self.ws_root,
            "control_root": self.control_root,
            "accounts": [
                {
                    "api_key": a.api_key,
                    "api_secret": a.api_secret,
                    "access_token": a.initial_access_token,
                    "user_id": a.user_id,
                }
                for a in self.context.sessions.accounts.values()
            ],
        }

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for conn in list(self.context.connections):
            conn.abort()
        for runner in self._runners:
            await runner.cleanup()


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def build_context(options: SimulatorOptions) -> SimulatorContext:
    if options.real_time:
        clock = VirtualClock()
    else:
        start = options.virtual_start or session_start_for(datetime.now(UTC))
        clock = VirtualClock.starting_at(start)
    settings = SimulatorSettings(
        redirect_url=options.redirect_url,
        rate_limits=options.rate_limits,
        tick_interval_seconds=options.tick_interval_seconds,
        heartbeat_seconds=options.heartbeat_seconds,
        stress=options.stress,
    )
    return SimulatorContext(
        model=MarketModel(MarketConfig(), seed=options.seed, clock=clock),
        clock=clock,
        sessions=SessionStore.create(count=options.accounts, seed=options.seed),
        settings=settings,
    )


async def _every(seconds: float, ctx: SimulatorContext, spec: dict[str, object]) -> None:
    while True:
        await asyncio.sleep(seconds)
        control.apply_fault(ctx, spec)


def _supervise(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("sim_background_failed", task=task.get_name(), exc_info=task.exception())


async def start_simulator(options: SimulatorOptions) -> RunningSimulator:
    ctx = build_context(options)
    api_app = web.Application(middlewares=[rest.kite_errors])
    api_app[rest.CONTEXT] = ctx
    rest.add_routes(api_app)
    control.add_routes(api_app)
    ws_app = web.Application()
    ws_app[ws.CONTEXT] = ctx
    ws.add_routes(ws_app)
    runners = []
    roots = []
    for app, port in ((api_app, options.port), (ws_app, options.ws_port)):
        # 1000 instruments in one query string need far more than aiohttp's 8 KiB line default.
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            max_line_size=_MAX_REQUEST_LINE,
            max_field_size=_MAX_REQUEST_LINE,
        )
        await runner.setup()
        sock = _listen(options.host, port)
        await web.SockSite(runner, sock).start()
        runners.append(runner)
        roots.append(sock.getsockname()[1])
    background: list[asyncio.Task[None]] = []
    for spec in options.startup_faults:
        control.apply_fault(ctx, spec)
    periodic: tuple[tuple[float | None, dict[str, object]], ...] = (
        (options.drop_every_seconds, {"action": str(FaultAction.DROP)}),
        (options.malformed_every_seconds, {"action": str(FaultAction.MALFORMED), "frames": 1}),
    )
    for seconds, spec in periodic:
        if seconds:
            task = asyncio.create_task(
                _every(seconds, ctx, spec), name=f"sim-fault-{spec['action']}"
            )
            task.add_done_callback(_supervise)
            background.append(task)
    api_port, ws_port = roots
    running = RunningSimulator(
        api_root=f"http://{options.host}:{api_port}",
        ws_root=f"ws://{options.host}:{ws_port}",
        control_root=f"http://{options.host}:{api_port}/_sim",
        context=ctx,
        _runners=runners,
        _background=background,
    )
    log.info("sim_started", api_root=running.api_root, ws_root=running.ws_root, seed=options.seed)
    return running


class SimulatorThread:
    """A simulator on its own event loop in a daemon thread (for in-process use)."""

    def __init__(self, options: SimulatorOptions) -> None:
        self.options = options
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="simulator")
        self.running: RunningSimulator | None = None

    def start(self) -> RunningSimulator:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start_simulator(self.options), self.loop)
        self.running = future.result(timeout=_STARTUP_TIMEOUT_SECONDS)
        return self.running

    def stop(self) -> None:
        if self.running is not None:
            asyncio.run_coroutine_threadsafe(self.running.stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

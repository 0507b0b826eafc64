"""The control endpoint tests and the demo drive the simulator through (``/_sim/...``)."""

from __future__ import annotations

import json
import time

import structlog
from aiohttp import web

from simulator.context import SimulatorContext
from simulator.faults import CandleCorruption, FaultAction, FaultState, MalformedKind
from simulator.rest import CONTEXT, KiteError, quote_of, success

log = structlog.get_logger(__name__)


HISTORY_FAULTS = frozenset({FaultAction.THROTTLE, FaultAction.CORRUPT_CANDLES})


def _apply_history_fault(
    faults: FaultState, action: FaultAction, key: str | None, spec: dict[str, object]
) -> None:
    """The historical endpoint's faults: the next ``requests`` answers are 429s or bad candles."""
    faults.api_key = key
    count = int(spec.get("requests", 1))  # type: ignore[call-overload]
    if action is FaultAction.THROTTLE:
        faults.throttle_requests = count
    else:
        faults.corrupt_candle_answers = count
        faults.candle_corruption = CandleCorruption(
            str(spec.get("kind", CandleCorruption.NULL_CLOSE))
        )


def apply_fault(ctx: SimulatorContext, spec: dict[str, object]) -> dict[str, object]:
    """Apply one fault; ``spec`` is ``{"action": ..., "api_key"?, "seconds"?, ...}``."""
    try:
        action = FaultAction(str(spec.get("action")))
    except ValueError as exc:
        raise KiteError(
            400, "InputException", f"unknown fault action {spec.get('action')!r}"
        ) from exc
    api_key = spec.get("api_key")
    key = str(api_key) if api_key else None
    seconds = float(spec.get("seconds", 3600.0))  # type: ignore[arg-type]
    faults = ctx.faults
    now = time.time()
    result: dict[str, object] = {"action": str(action)}
    if action is FaultAction.DROP:
        victims = [c for c in ctx.connections if key is None or c.api_key == key]
        for conn in victims:
            conn.abort()
        result["dropped"] = len(victims)
    elif action is FaultAction.STALL:
        faults.api_key, faults.stall_until = key, now + seconds
    elif action is FaultAction.REFUSE_CONNECTS:
        faults.api_key, faults.refuse_until = key, now + seconds
    elif action is FaultAction.SLOW:
        faults.slow_seconds = float(spec.get("delay", 0.5))  # type: ignore[arg-type]
    elif action is FaultAction.MALFORMED:
        faults.api_key = key
        faults.malformed_frames = int(spec.get("frames", 1))  # type: ignore[call-overload]
        faults.malformed_kind = MalformedKind(str(spec.get("kind", MalformedKind.UNKNOWN_LENGTH)))
    elif action is FaultAction.CORRUPT_INSTRUMENTS:
        lines = spec.get("lines", (10, 20, 30, 40))
        if not isinstance(lines, list | tuple) or not all(isinstance(n, int) for n in lines):
            raise KiteError(400, "InputException", "corrupt_instruments needs integer lines")
        faults.corrupt_lines = tuple(lines)
    elif action in HISTORY_FAULTS:
        _apply_history_fault(faults, action, key, spec)
    elif action is FaultAction.EXPIRE_TOKENS:
        result["expired"] = ctx.sessions.expire(key)
    elif action is FaultAction.CLEAR:
        faults.clear()
    faults.history.append({**spec, "at": now})
    log.info("sim_fault_applied", action=str(action), api_key_suffix=(key or "")[-4:])
    return result


async def post_fault(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        spec = json.loads(await request.text())
    except json.JSONDecodeError as exc:
        raise KiteError(400, "InputException", f"fault body is not JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise KiteError(400, "InputException", "fault body must be an object")
    return success(apply_fault(ctx, spec))


async def get_state(request: web.Request) -> web.Response:
    """Connections, faults, and optionally the model's quotes at an epoch (``?epoch=&token=``)."""
    ctx = request.app[CONTEXT]
    data: dict[str, object] = {
        "now": ctx.clock.now(),
        "connections": [c.describe() for c in ctx.connections],
        "faults": {
            "stall_until": ctx.faults.stall_until,
            "refuse_until": ctx.faults.refuse_until,
            "slow_seconds": ctx.faults.slow_seconds,
            "malformed_frames": ctx.faults.malformed_frames,
            "throttle_requests": ctx.faults.throttle_requests,
            "throttled": ctx.faults.throttled,
        },
        "rate_limits": ctx.limiter.counts(),
    }
    tokens = request.query.getall("token", [])
    if tokens:
        epoch = float(request.query.get("epoch", ctx.clock.now()))
        state = ctx.model.state_at(epoch)
        quotes = {}
        for raw in tokens:
            position = ctx.model.universe.by_token.get(int(raw))
            if position is not None:
                quotes[raw] = quote_of(ctx, state, position)
        data["quotes"] = quotes
    return success(data)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_sim/faults", post_fault)
    app.router.add_get("/_sim/state", get_state)

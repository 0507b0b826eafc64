"""Kite's ticker WebSocket: upgrade checks, subscribe/unsubscribe/mode, binary ticks, heartbeats.

One `TickerConnection` per socket. The upgrade answers 403 for a bad token and 429 for a 4th
connection of one api_key (plain HTTP, before the upgrade, as Kite does). After a subscribe the
next frame is a snapshot of the new tokens; afterwards a token is sent only when a field other
than its timestamps changed. Idle connections get a 1-byte heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Final

import numpy as np
import numpy.typing as npt
import structlog
from aiohttp import WSMsgType, web

from kite_wire.messages import (
    SUBSCRIBE_LIMIT_MESSAGE,
    MessageError,
    Mode,
    SetMode,
    Subscribe,
    Unsubscribe,
    build_error,
    parse_client_message,
)
from kite_wire.packets import HEARTBEAT, PacketKind, encode_frame, encode_packets, packet_kind
from market_model.market import MarketState
from market_model.universe import KIND_INDEX
from simulator.context import SimulatorContext
from simulator.faults import MalformedKind

log = structlog.get_logger(__name__)

CONTEXT: Final = web.AppKey("ws_context", SimulatorContext)
_MAX_MESSAGE_BYTES: Final = 1 << 20

# Bytes compared to decide "changed": everything after the u16 length except the timestamps
# (last_trade_time 44-48, exchange_timestamp 60-64 in full; 28-32 in index full).
_TIMESTAMP_BYTES: Final[dict[PacketKind, tuple[tuple[int, int], ...]]] = {
    PacketKind.INDEX_FULL: ((28, 32),),
    PacketKind.FULL: ((44, 48), (60, 64)),
}


def _compare_mask(kind: PacketKind) -> npt.NDArray[np.bool_]:
    mask = np.ones(int(kind) + 2, dtype=np.bool_)
    mask[:2] = False
    for start, end in _TIMESTAMP_BYTES.get(kind, ()):
        mask[2 + start : 2 + end] = False
    return mask


_MASKS: Final = {kind: _compare_mask(kind) for kind in PacketKind}


def state_columns(
    state: MarketState, positions: npt.NDArray[np.intp], tokens: npt.NDArray[np.int64]
) -> dict[str, npt.NDArray[np.generic]]:
    """Encoder columns for ``positions`` of the model state (kiteconnect's tick keys)."""
    cols: dict[str, npt.NDArray[np.generic]] = {"instrument_token": tokens[positions]}
    for name in (
        "last_price",
        "open",
        "high",
        "low",
        "close",
        "last_traded_quantity",
        "average_traded_price",
        "volume_traded",
        "total_buy_quantity",
        "total_sell_quantity",
        "last_trade_time",
        "oi",
        "oi_day_high",
        "oi_day_low",
        "depth_buy_price",
        "depth_buy_quantity",
        "depth_buy_orders",
        "depth_sell_price",
        "depth_sell_quantity",
        "depth_sell_orders",
    ):
        cols[name] = getattr(state, name)[positions]
    cols["exchange_timestamp"] = np.full(positions.shape[0], state.epoch, dtype=np.int64)
    cols["change"] = cols["last_price"] - cols["close"]  # type: ignore[operator]
    return cols


def malformed_frame(good: bytes, kind: MalformedKind) -> bytes:
    """Damage a good frame so a decoder must count one bad packet and keep the rest."""
    if kind is MalformedKind.TRUNCATED:
        return good[:-5]
    count = int.from_bytes(good[:2], "big")
    if kind is MalformedKind.WRONG_LENGTH:
        bogus = (184).to_bytes(2, "big") + b"\x00" * 44
    else:
        bogus = (13).to_bytes(2, "big") + b"\x07" * 13
    return (count + 1).to_bytes(2, "big") + good[2:] + bogus


class TickerConnection:
    """One client socket: its subscriptions and modes, and the loop that feeds it."""

    def __init__(
        self,
        ctx: SimulatorContext,
        ws: web.WebSocketResponse,
        api_key: str,
        transport: asyncio.BaseTransport | None,
    ) -> None:
        self.ctx = ctx
        self.ws = ws
        self._transport = transport
        self.api_key = api_key
        self.modes: dict[int, Mode] = {}
        self._dirty = True
        self._fresh: set[int] = set()  # tokens owed a snapshot
        self._groups: dict[PacketKind, npt.NDArray[np.intp]] = {}
        self._previous: dict[PacketKind, dict[int, bytes]] = {}
        self._last_send = time.monotonic()
        self.frames_sent = 0
        self.packets_sent = 0
        self.task: asyncio.Task[None] | None = None

    def describe(self) -> dict[str, object]:
        return {
            "api_key_suffix": self.api_key[-4:],
            "subscribed": len(self.modes),
            "frames_sent": self.frames_sent,
            "packets_sent": self.packets_sent,
        }

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake (client sees 1006)."""
        if isinstance(self._transport, asyncio.Transport):
            self._transport.abort()

    async def handle(self, message: str) -> None:
        try:
            parsed = parse_client_message(message)
        except MessageError as exc:
            log.warning("sim_ws_bad_message", api_key_suffix=self.api_key[-4:], raw=message[:200])
            await self.ws.send_str(build_error(f"Invalid message: {exc}"))
            return
        if isinstance(parsed, Subscribe):
            await self._subscribe(parsed.tokens)
        elif isinstance(parsed, Unsubscribe):
            for token in parsed.tokens:
                self.modes.pop(token, None)
            self._dirty = True
        elif isinstance(parsed, SetMode):
            for token in parsed.tokens:
                if token in self.modes:
                    self.modes[token] = parsed.mode
                    self._fresh.add(token)
            self._dirty = True

    async def _subscribe(self, tokens: tuple[int, ...]) -> None:
        limit = self.ctx.settings.max_tokens_per_connection
        refused = 0
        for token in tokens:
            if token not in self.modes and len(self.modes) >= limit:
                refused += 1
                continue
            self.modes[token] = Mode.QUOTE  # what the client assumes after subscribe()
            self._fresh.add(token)
        self._dirty = True
        if refused:
            log.info("sim_ws_subscribe_limit", api_key_suffix=self.api_key[-4:], refused=refused)
            await self.ws.send_str(build_error(SUBSCRIBE_LIMIT_MESSAGE))

    def _regroup(self) -> None:
        universe = self.ctx.model.universe
        grouped: dict[PacketKind, list[int]] = {}
        for token, mode in self.modes.items():
            position = universe.by_token.get(token)
            if position is None:
                continue  # Kite streams nothing for unknown tokens
            kind = packet_kind(mode, is_index=bool(universe.kind[position] == KIND_INDEX))
            grouped.setdefault(kind, []).append(position)
        self._groups = {k: np.array(sorted(v), dtype=np.intp) for k, v in grouped.items()}
        self._dirty = False

    def _changed_packets(self, state: MarketState) -> list[npt.NDArray[np.void]]:
        if self._dirty:
            self._regroup()
        tokens = self.ctx.model.universe.tokens
        parts: list[npt.NDArray[np.void]] = []
        for kind, positions in self._groups.items():
            packets = encode_packets(kind, state_columns(state, positions, tokens))
            rows = packets.view(np.uint8).reshape(len(positions), -1)
            previous = self._previous.setdefault(kind, {})
            keep = np.zeros(len(positions), dtype=np.bool_)
            mask = _MASKS[kind]
            for row, token in enumerate(tokens[positions].tolist()):
                signature = rows[row, mask].tobytes()
                if token in self._fresh or previous.get(token) != signature:
                    previous[token] = signature
                    keep[row] = True
            if keep.any():
                parts.append(packets[keep])
        self._fresh.clear()
        return parts

    async def _send_parts(self, parts: list[npt.NDArray[np.void]]) -> None:
        per_frame = self.ctx.settings.packets_per_frame
        for part in parts:
            for start in range(0, part.shape[0], per_frame):
                chunk = part[start : start + per_frame]
                frame = encode_frame(chunk)
                bad = self.ctx.faults.take_malformed(self.api_key)
                if bad is not None:
                    frame = malformed_frame(frame, bad)
                await self.ws.send_bytes(frame)
                self.frames_sent += 1
                self.packets_sent += chunk.shape[0]
                self._last_send = time.monotonic()

    async def run(self) -> None:
        """Feed the client: changed ticks every tick interval, heartbeats when idle."""
        settings = self.ctx.settings
        while not self.ws.closed:
            await asyncio.sleep(settings.tick_interval_seconds + self.ctx.faults.slow_seconds)
            if self.ctx.faults.stalled(self.api_key, time.time()):
                continue
            state = self.ctx.model.advance(self.ctx.clock.now())
            await self._send_parts(self._changed_packets(state))
            if time.monotonic() - self._last_send >= settings.heartbeat_seconds:
                await self.ws.send_bytes(HEARTBEAT)
                self._last_send = time.monotonic()

    async def run_stress(self) -> None:
        """As fast as the socket takes: every subscribed token, every frame, stamped for latency.

        Stamp (documented in docs/simulator.md): ``exchange_timestamp`` is the wall-clock
        second of the send and ``last_traded_quantity`` the microseconds within it.
        """
        tokens = self.ctx.model.universe.tokens
        while not self.ws.closed:
            if self.ctx.faults.stalled(self.api_key, time.time()):
                await asyncio.sleep(0.05)
                continue
            if self._dirty:
                self._regroup()
            if not self._groups:
                await asyncio.sleep(0.05)
                continue
            state = self.ctx.model.advance(self.ctx.clock.now())
            for kind, positions in self._groups.items():
                cols = state_columns(state, positions, tokens)
                sent_at = time.time()
                cols["exchange_timestamp"] = np.full(len(positions), int(sent_at), dtype=np.int64)
                cols["last_traded_quantity"] = np.full(
                    len(positions), int((sent_at % 1.0) * 1_000_000), dtype=np.int64
                )
                await self._send_parts([encode_packets(kind, cols)])


def _report_feed_end(task: asyncio.Task[None]) -> None:
    """A feed loop must not die silently: log why it ended (the socket handler closes it)."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, ConnectionError):
        log.error("sim_ws_feed_failed", task=task.get_name(), error=repr(exc), exc_info=exc)


async def ticker_endpoint(request: web.Request) -> web.StreamResponse:
    """``/?api_key=...&access_token=...``: Kite's upgrade checks, then the connection loop."""
    ctx = request.app[CONTEXT]
    api_key = request.query.get("api_key", "")
    access_token = request.query.get("access_token", "")
    if ctx.faults.refusing(api_key, time.time()):
        return web.Response(status=503, text="Service Unavailable", content_type="text/plain")
    if not ctx.sessions.is_valid(api_key, access_token):
        log.info("sim_ws_forbidden", api_key_suffix=api_key[-4:])
        return web.Response(status=403, text="Forbidden", content_type="text/plain")
    if ctx.connections_of(api_key) >= ctx.settings.max_connections_per_key:
        log.info("sim_ws_too_many_connections", api_key_suffix=api_key[-4:])
        return web.Response(status=429, text="Too Many Requests", content_type="text/plain")
    ws = web.WebSocketResponse(max_msg_size=_MAX_MESSAGE_BYTES, autoping=True)
    conn = TickerConnection(ctx, ws, api_key, request.transport)
    # Counted before the handshake's await, so simultaneous upgrades cannot all pass the check.
    ctx.connections.add(conn)
    try:
        await ws.prepare(request)
    except BaseException:
        ctx.connections.discard(conn)
        raise
    runner = conn.run_stress() if ctx.settings.stress else conn.run()
    conn.task = asyncio.create_task(runner, name=f"sim-ws-{api_key[-4:]}")
    conn.task.add_done_callback(_report_feed_end)
    log.info("sim_ws_connected", api_key_suffix=api_key[-4:], connections=len(ctx.connections))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await conn.handle(msg.data)
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        ctx.connections.discard(conn)
        conn.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await conn.task
        log.info("sim_ws_disconnected", **conn.describe())
    return ws


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", ticker_endpoint)

"""The ticker WebSocket at the protocol level (aiohttp client): limits, heartbeats, faults."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from kite_wire.messages import build_mode, build_subscribe, build_unsubscribe
from kite_wire.packets import decode_frame
from tests.simulator_fixtures import SimulatorHandle

NIFTY, BANKNIFTY = 256265, 260105


def _url(sim: SimulatorHandle, account: int = 0, token: str | None = None) -> str:
    creds = sim.accounts[account]
    return f"{sim.ws_root}/?api_key={creds.api_key}&access_token={token or creds.access_token}"


async def _binary(ws: aiohttp.ClientWebSocketResponse, wait: float) -> bytes | None:
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            return None
        if msg.type == aiohttp.WSMsgType.BINARY:
            return bytes(msg.data)
        if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE):
            return None
    return None


@pytest.fixture
def fast_sim(simulator_factory) -> SimulatorHandle:
    return simulator_factory("--tick-interval", "0.25", "--heartbeat", "0.5")


def test_fourth_connection_is_429_and_bad_token_403(fast_sim: SimulatorHandle) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            open_ = [await session.ws_connect(_url(fast_sim)) for _ in range(3)]
            with pytest.raises(aiohttp.WSServerHandshakeError) as too_many:
                await session.ws_connect(_url(fast_sim))
            assert too_many.value.status == 429
            other = await session.ws_connect(_url(fast_sim, account=1))  # limit is per api_key
            with pytest.raises(aiohttp.WSServerHandshakeError) as forbidden:
                await session.ws_connect(_url(fast_sim, token="nope"))
            assert forbidden.value.status == 403
            for ws in [*open_, other]:
                await ws.close()

    asyncio.run(scenario())


def test_simultaneous_upgrades_cannot_pass_the_limit_together(fast_sim: SimulatorHandle) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            attempts = await asyncio.gather(
                *(session.ws_connect(_url(fast_sim)) for _ in range(6)), return_exceptions=True
            )
            opened = [a for a in attempts if isinstance(a, aiohttp.ClientWebSocketResponse)]
            refused = [a for a in attempts if isinstance(a, aiohttp.WSServerHandshakeError)]
            assert len(opened) == 3
            assert [r.status for r in refused] == [429, 429, 429]
            for ws in opened:
                await ws.close()

    asyncio.run(scenario())


def test_snapshot_then_changes_heartbeat_and_unsubscribe(fast_sim: SimulatorHandle) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(_url(fast_sim))
            beat = await _binary(ws, 2.0)
            assert beat is not None
            assert decode_frame(beat).heartbeat
            await ws.send_str(build_subscribe([NIFTY, BANKNIFTY, 12345]))
            snapshot = None
            while snapshot is None or decode_frame(snapshot).heartbeat:
                snapshot = await _binary(ws, 3.0)
            batch = decode_frame(snapshot)
            assert sorted(batch.instrument_token.tolist()) == [NIFTY, BANKNIFTY]
            assert set(batch.mode.tolist()) == {1}  # quote by default
            await ws.send_str(build_mode("full", [NIFTY]))
            await ws.send_str(build_unsubscribe([BANKNIFTY]))
            seen: set[tuple[int, int]] = set()
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                frame = await _binary(ws, 1.0)
                if frame:
                    b = decode_frame(frame)
                    seen |= set(zip(b.instrument_token.tolist(), b.mode.tolist(), strict=True))
            assert (NIFTY, 2) in seen
            assert all(token != BANKNIFTY for token, _ in seen)
            await ws.close()

    asyncio.run(scenario())


def test_malformed_stall_and_refuse_faults(fast_sim: SimulatorHandle) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(_url(fast_sim))
            await ws.send_str(build_subscribe([NIFTY]))
            await ws.send_str(build_mode("full", [NIFTY]))
            await _binary(ws, 2.0)
            fast_sim.control.fault("malformed", frames=1, kind="unknown_length")
            bad = None
            for _ in range(20):
                frame = await _binary(ws, 1.0)
                if frame and decode_frame(frame).malformed:
                    bad = decode_frame(frame)
                    break
            assert bad is not None
            assert len(bad) >= 1  # the good packets survive
            fast_sim.control.fault("stall", seconds=2.0)
            await asyncio.sleep(0.3)  # let a frame already in flight arrive
            while await _binary(ws, 0.1):
                pass
            assert await _binary(ws, 1.2) is None  # not even a heartbeat
            fast_sim.control.clear()
            assert await _binary(ws, 2.0) is not None
            fast_sim.control.fault("refuse_connects", seconds=5)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(_url(fast_sim, account=1))
            assert refused.value.status == 503
            fast_sim.control.clear()
            await ws.close()

    asyncio.run(scenario())

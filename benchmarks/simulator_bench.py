"""Simulator stress feed: full-mode ticks/s over loopback WebSocket to one counting client.

The simulator runs in its own process (stress mode: every subscribed instrument in every frame,
as fast as the socket takes); the client subscribes the whole universe in full mode and counts
packets from each frame's u16 header. Baseline, same run: encoding the same full ticks one packet
at a time with ``struct`` from kiteconnect-style dicts (no socket at all).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import struct
import time
from multiprocessing.queues import Queue
from typing import Any

import aiohttp

from kite_wire.messages import build_mode, build_subscribe
from simulator.server import SimulatorOptions, SimulatorThread

_FULL = struct.Struct(">11I5I")
_DEPTH = struct.Struct(">IIH2x")


def _serve(queue: Queue[Any], stop: Any) -> None:
    thread = SimulatorThread(SimulatorOptions(stress=True, rate_limits=False, accounts=1))
    running = thread.start()
    account = next(iter(running.context.sessions.accounts.values()))
    tokens = [int(t) for t in running.context.model.universe.tokens]
    queue.put((running.ws_root, account.api_key, account.initial_access_token, tokens))
    stop.wait()
    thread.stop()


async def _count(url: str, tokens: list[int], seconds: float) -> tuple[int, float, bool]:
    """Packets counted, seconds, and whether the close handshake finished within 1 s."""
    packets = 0
    closed = True
    started = 0.0
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, max_msg_size=0)
        try:
            await ws.send_str(build_subscribe(tokens))
            await ws.send_str(build_mode("full", tokens))
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.BINARY or len(msg.data) < 2:
                    continue
                if not started:
                    started = time.perf_counter()  # first data frame: the feed is running
                    continue
                packets += int.from_bytes(msg.data[:2], "big")
                if time.perf_counter() - started >= seconds:
                    break
            elapsed = time.perf_counter() - started
        finally:
            # The stress server keeps blasting after we stop counting, and a close handshake
            # waits behind the megabytes already in flight (it took 90 s to minutes): give it a
            # second, then the session's close drops the socket, which ends the server's send.
            try:
                await asyncio.wait_for(ws.close(), timeout=1.0)
            except TimeoutError:
                closed = False  # reported on the result line
    return packets, elapsed, closed


def _baseline(ticks: int) -> float:
    """Ticks/s building each full packet with struct from a kite-style dict."""
    tick: dict[str, Any] = {
        "instrument_token": 8960258,
        "last_price": 150.05,
        "volume_traded": 123_450,
        "ohlc": {"open": 140.0, "high": 155.0, "low": 139.0, "close": 145.0},
        "depth": {
            "buy": [{"quantity": 650, "price": 150.0, "orders": 3}] * 5,
            "sell": [{"quantity": 650, "price": 150.1, "orders": 4}] * 5,
        },
    }
    started = time.perf_counter()
    parts = []
    for _ in range(ticks):
        o = tick["ohlc"]
        body = _FULL.pack(
            tick["instrument_token"], round(tick["last_price"] * 100), 65, 14_800,
            tick["volume_traded"], 1000, 1200, round(o["open"] * 100), round(o["high"] * 100),
            round(o["low"] * 100), round(o["close"] * 100), 1_700_000_000, 5000, 5000, 4000,
            1_700_000_000,
        )  # fmt: skip
        depth = b"".join(
            _DEPTH.pack(d["quantity"], round(d["price"] * 100), d["orders"])
            for side in ("buy", "sell")
            for d in tick["depth"][side]
        )
        parts.append(struct.pack(">H", 184) + body + depth)
    # Frames of 1000 packets, as the simulator sends (a u16 count caps a frame at 65535).
    frames = [
        struct.pack(">H", len(parts[i : i + 1000])) + b"".join(parts[i : i + 1000])
        for i in range(0, len(parts), 1000)
    ]
    if sum(len(f) for f in frames) != 2 * len(frames) + 186 * ticks:
        raise RuntimeError("baseline frames have the wrong size")
    return ticks / (time.perf_counter() - started)


def run(smoke: bool) -> list[str]:
    seconds = 2.0 if smoke else 10.0
    ctx = mp.get_context("spawn")
    queue: Queue[Any] = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(queue, stop), daemon=True)
    server.start()
    try:
        ws_root, api_key, access_token, tokens = queue.get(timeout=60)
        url = f"{ws_root}/?api_key={api_key}&access_token={access_token}"
        packets, elapsed, closed = asyncio.run(_count(url, tokens, seconds))
    finally:
        stop.set()
        server.join(timeout=15)
        if server.is_alive():
            server.terminate()
    stress_rate = packets / elapsed
    baseline_rate = _baseline(20_000 if smoke else 200_000)
    return [
        f"stress feed, full mode, {len(tokens)} instruments, 1 client: {stress_rate:,.0f} ticks/s"
        f" ({packets:,} packets in {elapsed:.1f} s, {stress_rate * 186 / 1e6:.0f} MB/s)"
        + ("" if closed else "; close handshake cut after 1 s (the server was still sending)"),
        f"baseline: struct per packet from dicts, encode only: {baseline_rate:,.0f} ticks/s",
        f"ratio stress/baseline: {stress_rate / baseline_rate:.1f}x",
    ]

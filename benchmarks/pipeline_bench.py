"""The account worker's tick path: throughput against an old-service baseline, and latency.

1. Throughput. Frames are recorded from the simulator in stress mode (``run_simulator --stress``,
   a subprocess; every subscribed token in every frame) and pushed through
   (a) the baseline built like the old service: kiteconnect's ``KiteTicker._parse_binary``,
       scalar Python Black-Scholes IV (Newton + bisection) and Greeks per tick, ``json.dumps``,
       one ``PUBLISH`` per tick (redis-py);
   (b) our pipeline: ``kite_wire.decode_frame``, one vectorised IV/Greeks call per frame, orjson,
       raw-RESP ``PUBLISH`` + ``XADD`` per tick and one ``HSET`` per frame, confirmed by Redis;
   and (c) our pipeline fed live from the simulator's socket (``FeedConnection``).
   Same process, same run; the ratio line is (b)/(a).
2. Latency, send -> confirmed on Redis, for a full account (9,000 instruments, ~1 tick/s each):
   a paced feeder serves the simulator's market model (a 9,000-instrument chain) over a real
   WebSocket, stamping each frame as the simulator's stress mode does (exchange_timestamp = wall
   second of the send, last_traded_quantity = its microseconds); the worker's publisher reports
   when Redis confirmed each frame's messages.

Redis: a throwaway ``redis-server`` on a free port (so pub/sub and streams do not touch db 15).
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import redis

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticker_project.settings")


def _django() -> None:
    import django  # noqa: PLC0415 - benchmarks set Django up themselves

    django.setup()


# --- infrastructure --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _redis_server() -> Iterator[str]:
    port = _free_port()
    # The system redis-server on PATH, private to this run.
    argv = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(  # noqa: S603
        [*argv, "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    client.close()
    try:
        yield url
    finally:
        process.kill()
        process.wait()


@contextmanager
def simulator_process(*args: str) -> Iterator[dict[str, Any]]:
    """``run_simulator`` in its own process on a free port; yields its startup JSON line."""
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "manage.py", "run_simulator", "--host", "127.0.0.1", "--port", "0",
         *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        if process.stdout is None:
            raise RuntimeError("simulator stdout is not piped")
        yield json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _table_from_simulator(api_root: str):
    from kite_wire.instruments_csv import read_instruments_csv  # noqa: PLC0415
    from streaming.pipeline.instruments import InstrumentMeta, InstrumentTable  # noqa: PLC0415

    with urllib.request.urlopen(f"{api_root}/instruments", timeout=10) as response:  # noqa: S310
        rows = read_instruments_csv(response.read()).rows
    return InstrumentTable(_metas(rows, InstrumentMeta))


def _metas(rows, meta_type) -> list:
    from kite_wire.segments import INDICES, instrument_token  # noqa: PLC0415
    from market_model.config import MarketConfig  # noqa: PLC0415

    index_of = {
        spec.name: instrument_token(spec.index_exchange_token, INDICES)
        for spec in MarketConfig().underlyings
    }
    return [
        meta_type(
            instrument_token=r.instrument_token,
            tradingsymbol=r.tradingsymbol,
            name=r.name,
            segment=r.segment,
            exchange=r.exchange,
            instrument_type=r.instrument_type,
            strike=r.strike,
            expiry=r.expiry,
            lot_size=r.lot_size,
            tick_size=r.tick_size,
            underlying_token=index_of.get(r.name),
            is_index=r.segment == "INDICES",
        )
        for r in rows
    ]


def _processor(table, sink):
    from greeks.engine import GreeksDefaults  # noqa: PLC0415
    from streaming.pipeline.processor import TickProcessor  # noqa: PLC0415

    return TickProcessor(
        table=table, greeks=GreeksDefaults(), prefix="bench", options_stream_maxlen=100_000,
        bars_stream_maxlen=10_000, is_mock=True, sink=sink, account_id=0,
    )  # fmt: skip


def _publisher(url: str, on_written=None):
    from streaming.config import PublishConfig  # noqa: PLC0415
    from streaming.publish.redis_publisher import RedisPublisher  # noqa: PLC0415

    return RedisPublisher(
        config=PublishConfig(redis_url=url, prefix="bench", buffer_max_messages=10_000_000),
        account_id=0, on_written=on_written,
    )  # fmt: skip


def _feed_url(sim: dict):
    from streaming.feed.credentials import FeedUrl  # noqa: PLC0415

    account = sim["accounts"][0]
    return FeedUrl(
        ws_root=sim["ws_root"], api_key=account["api_key"], access_token=account["access_token"]
    )


# --- 1. throughput ---------------------------------------------------------------------------


async def _record_frames(sim: dict, tokens: list[int], count: int) -> list[bytes]:
    from websockets.asyncio.client import connect  # noqa: PLC0415

    from streaming.feed.subscription_diff import full_subscription  # noqa: PLC0415

    frames: list[bytes] = []
    async with connect(_feed_url(sim).reveal(), max_size=None, compression=None) as ws:
        for message in full_subscription(dict.fromkeys(tokens, "full")):
            await ws.send(message)
        while len(frames) < count:
            received = await ws.recv()
            if isinstance(received, bytes) and len(received) > 1:
                frames.append(received)
    return frames


_SQRT2 = math.sqrt(2.0)


def _ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def _bs(s: float, k: float, t: float, r: float, v: float, *, call: bool) -> float:
    d1 = (math.log(s / k) + (r + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    if call:
        return s * _ncdf(d1) - k * math.exp(-r * t) * _ncdf(d2)
    return k * math.exp(-r * t) * _ncdf(-d2) - s * _ncdf(-d1)


def _scalar_greeks(price: float, s: float, k: float, t: float, call: bool) -> dict:
    """The old service's per-tick path: bisection IV, then the Greeks, in pure Python."""
    r = 0.10
    low, high, iv = 1e-4, 5.0, None
    if t > 0 and price > 0:
        for _ in range(60):
            mid = 0.5 * (low + high)
            if _bs(s, k, t, r, mid, call=call) > price:
                high = mid
            else:
                low = mid
        iv = 0.5 * (low + high)
    if iv is None:
        return {"iv": None, "delta": None, "gamma": None, "theta": None, "vega": None}
    sq = math.sqrt(t)
    d1 = (math.log(s / k) + (r + 0.5 * iv * iv) * t) / (iv * sq)
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    return {
        "iv": iv, "delta": _ncdf(d1) if call else _ncdf(d1) - 1.0, "gamma": pdf / (s * iv * sq),
        "theta": -s * pdf * iv / (2 * sq) / 365.0, "vega": s * pdf * sq / 100.0,
    }  # fmt: skip


def _baseline(frames: list[bytes], table, url: str, seconds: float) -> float:
    from kiteconnect import KiteTicker  # noqa: PLC0415

    ticker = KiteTicker("bench", "bench")
    client = redis.Redis.from_url(url)
    meta = {m.instrument_token: m for m in table.metas}
    spot: dict[int, float] = {}
    ticks, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for frame in frames:
            for tick in ticker._parse_binary(frame):
                m = meta[tick["instrument_token"]]
                if m.is_index:
                    spot[m.instrument_token] = tick["last_price"]
                    continue
                s = spot.get(m.underlying_token or 0)
                if s is None or m.expiry is None:
                    continue
                expiry = datetime(m.expiry.year, m.expiry.month, m.expiry.day, 10, tzinfo=UTC)
                t = max((expiry.timestamp() - time.time()) / (365 * 86400), 0.0)
                message = {
                    "symbol": m.name, "token": m.instrument_token, "price": tick["last_price"],
                    "volume": tick.get("volume_traded"), "oi": tick.get("oi"),
                    **_scalar_greeks(tick["last_price"], s, m.strike, t,
                                     m.instrument_type == "CE"),
                    "depth": tick.get("depth"), "is_mock": True,
                }  # fmt: skip
                client.publish("bench:baseline", json.dumps(message, default=str))
                ticks += 1
            if time.perf_counter() - started >= seconds:
                break
    elapsed = time.perf_counter() - started
    client.close()
    return ticks / elapsed


async def _ours(frames: list[bytes], table, url: str, seconds: float) -> float:
    publisher = _publisher(url)
    processor = _processor(table, publisher.enqueue)
    task = asyncio.create_task(publisher.run())
    for frame in frames[:2]:  # warm-up: underlying prices, connection
        processor.process_frame(frame, time.time())
    await publisher.flush(10)
    base_published = publisher.published
    started = time.perf_counter()
    index = 0
    while time.perf_counter() - started < seconds:
        processor.process_frame(frames[index % len(frames)], time.time())
        index += 1
        if publisher.buffered_messages > 20_000:
            await asyncio.sleep(0)  # let the publisher write (it also runs while we compute)
    await publisher.flush(30)
    elapsed = time.perf_counter() - started
    option_ticks = publisher.published - base_published
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return option_ticks / elapsed


async def _live(sim: dict, table, url: str, tokens: list[int], seconds: float) -> float:
    from streaming.config import FeedConfig  # noqa: PLC0415
    from streaming.feed.connection import FeedConnection  # noqa: PLC0415
    from streaming.feed.frame_batcher import FrameBatcher  # noqa: PLC0415

    publisher = _publisher(url)
    processor = _processor(table, publisher.enqueue)
    batcher = FrameBatcher(handle=processor.process_frames, account_id=0)  # as the worker does
    connection = FeedConnection(
        index=0, url=_feed_url(sim), config=FeedConfig(watchdog_seconds=30),
        on_frame=batcher.put, account_id=0,
    )  # fmt: skip
    connection.wanted = dict.fromkeys(tokens, "full")
    tasks = [
        asyncio.create_task(publisher.run()),
        asyncio.create_task(batcher.run()),
        asyncio.create_task(connection.run()),
    ]
    while publisher.published < 5_000:  # noqa: ASYNC110 - polling a counter
        await asyncio.sleep(0.05)
    before, started = publisher.published, time.perf_counter()
    await asyncio.sleep(seconds)
    rate = (publisher.published - before) / (time.perf_counter() - started)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return rate


def _throughput(smoke: bool, url: str) -> list[str]:
    seconds = 1.5 if smoke else 6.0
    with simulator_process("--accounts", "1", "--no-rate-limits", "--stress", "--seed", "1") as sim:
        table = _table_from_simulator(sim["api_root"])
        tokens = [m.instrument_token for m in table.metas if m.instrument_type != "FUT"]
        frames = asyncio.run(_record_frames(sim, tokens, 6 if smoke else 24))
        packets = sum(int.from_bytes(f[:2], "big") for f in frames)
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)  # as run_account does
        baseline = _baseline(frames, table, url, seconds)
        ours = asyncio.run(_ours(frames, table, url, seconds))
        live = asyncio.run(_live(sim, table, url, tokens, seconds))
    return [
        f"recorded {len(frames)} stress-mode frames from the simulator ({packets} packets, "
        f"{len(tokens)} tokens, full mode)",
        f"baseline (kiteconnect parse + scalar IV/Greeks + json + PUBLISH per tick): "
        f"{baseline:,.0f} ticks/s",
        "pipeline (decode + vectorised IV/Greeks + orjson + PUBLISH per tick, "
        f"XADD + HSET per frame): {ours:,.0f} ticks/s",
        f"ratio pipeline/baseline: {ours / baseline:.1f}x",
        f"pipeline fed live by the simulator's socket (stress mode): {live:,.0f} ticks/s",
    ]


# --- 2. latency ------------------------------------------------------------------------------


class _PacedFeeder:
    """The simulator's model with a ~9,000-instrument chain, each instrument once a second,
    in frames every ``interval`` s over real WebSockets, stamped like the simulator's stress
    mode (exchange_timestamp = send second, last_traded_quantity = its microseconds). Each
    connection gets only the tokens it subscribed to, as Kite serves them.

    ``stamp_volume``: also write the send time (microseconds, mod 2**32) into every packet's
    ``volume_traded``, which workers publish unchanged as ``volume`` (the fleet benchmark reads
    the latency back from Redis with it)."""

    def __init__(self, interval: float, *, stamp_volume: bool = False, copies: int = 1) -> None:
        from dataclasses import replace  # noqa: PLC0415

        from kite_wire.packets import PacketKind, encode_packets  # noqa: PLC0415
        from market_model.clock import VirtualClock, session_start_for  # noqa: PLC0415
        from market_model.config import BANKNIFTY, NIFTY, MarketConfig  # noqa: PLC0415
        from market_model.market import MarketModel  # noqa: PLC0415
        from market_model.universe import KIND_INDEX  # noqa: PLC0415
        from simulator.ws import state_columns  # noqa: PLC0415

        # ``copies`` > 1: more full accounts' worth, as synthetic indices shaped like these two.
        underlyings = [
            replace(NIFTY, strikes_each_side=224),
            replace(BANKNIFTY, strikes_each_side=224),
        ]
        for copy in range(1, copies):
            for spec, offset in ((NIFTY, 0), (BANKNIFTY, 500)):
                underlyings.append(
                    replace(
                        spec,
                        strikes_each_side=224,
                        name=f"{spec.name}{copy}",
                        index_symbol=f"{spec.index_symbol} {copy}",
                        index_exchange_token=3000 + offset + copy,
                    )
                )
        config = MarketConfig(underlyings=tuple(underlyings))  # fmt: skip
        clock = VirtualClock.starting_at(session_start_for(datetime.now(UTC)))
        self.model = MarketModel(config, seed=1, clock=clock)
        u = self.model.universe
        state = self.model.advance()
        index = np.flatnonzero(u.kind == KIND_INDEX)
        tradable = np.flatnonzero(u.kind != KIND_INDEX)
        self.index_packets = encode_packets(
            PacketKind.INDEX_FULL, state_columns(state, index, u.tokens)
        )
        self.packets = encode_packets(PacketKind.FULL, state_columns(state, tradable, u.tokens))
        self.interval = interval
        self.stamp_volume = stamp_volume
        self.port = _free_port()
        self.sent = 0

    def serve_forever(self, stop: threading.Event) -> None:
        asyncio.run(self._serve(stop))

    async def _serve(self, stop: threading.Event) -> None:
        from websockets.asyncio.server import serve  # noqa: PLC0415
        from websockets.exceptions import ConnectionClosed  # noqa: PLC0415

        from kite_wire.messages import Subscribe, parse_client_message  # noqa: PLC0415
        from kite_wire.packets import encode_frame  # noqa: PLC0415

        async def feed(ws) -> None:
            message = parse_client_message(await ws.recv())  # the connection's subscribe
            wanted = list(message.tokens) if isinstance(message, Subscribe) else []
            mine = np.isin(self.packets["packet"]["instrument_token"], wanted)
            packets = self.packets[mine]
            index_packets = self.index_packets[
                np.isin(self.index_packets["packet"]["instrument_token"], wanted)
            ]
            per_frame = max(1, int(packets.shape[0] * self.interval))
            position, n = 0, packets.shape[0]
            next_send = time.perf_counter()
            while not stop.is_set() and n:
                part = packets[position : position + per_frame].copy()
                position = (position + per_frame) % n
                now = time.time()
                part["packet"]["exchange_timestamp"] = int(now)
                part["packet"]["last_traded_quantity"] = int((now % 1.0) * 1_000_000)
                if self.stamp_volume:
                    part["packet"]["volume_traded"] = int(now * 1_000_000) & 0xFFFFFFFF
                with_index = position < per_frame and index_packets.shape[0]
                frame = encode_frame(index_packets, part) if with_index else encode_frame(part)
                await ws.send(frame)
                self.sent += part.shape[0]
                next_send += self.interval
                await asyncio.sleep(max(0.0, next_send - time.perf_counter()))

        async def handler(ws) -> None:
            try:
                await feed(ws)
            except ConnectionClosed:
                return  # the benchmark's clients hang up when it is done: the normal end

        async with serve(handler, "127.0.0.1", self.port, compression=None, max_size=None):
            while not stop.is_set():  # noqa: ASYNC110 - a threading.Event from the caller
                await asyncio.sleep(0.05)


async def _latency_run(feeder: _PacedFeeder, table, url: str, seconds: float) -> list[float]:
    from streaming.config import FeedConfig  # noqa: PLC0415
    from streaming.feed.connection import FeedConnection  # noqa: PLC0415
    from streaming.feed.credentials import FeedUrl  # noqa: PLC0415
    from streaming.feed.sharding import shard_tokens  # noqa: PLC0415

    sent_at: dict[float, float] = {}
    latencies: list[float] = []
    recording = [False]

    def on_written(chunks, confirmed_at: float) -> None:
        if recording[0]:
            for chunk in chunks:
                stamp = sent_at.pop(chunk.received_at, None)
                if stamp is not None:
                    latencies.append(confirmed_at - stamp)

    publisher = _publisher(url, on_written)
    processor = _processor(table, publisher.enqueue)

    def on_frame(payload: bytes, received_at: float) -> None:
        # The stamp of the frame's last packet (a full packet: 184 bytes, then the frame end).
        tail = payload[-184:]
        second = int.from_bytes(tail[60:64], "big")
        micros = int.from_bytes(tail[8:12], "big")
        sent_at[received_at] = second + micros / 1e6
        processor.process_frame(payload, received_at)

    url_ = FeedUrl(ws_root=f"ws://127.0.0.1:{feeder.port}/", api_key="k", access_token="t")  # noqa: S106
    # A full account as the worker shards it: Kite's 3,000 tokens a connection, 3 connections.
    plan = shard_tokens(
        dict.fromkeys(table.tokens.tolist(), "full"), [], tokens_per_connection=3000,
        max_connections=3, priority=frozenset(table.underlying_tokens),
    )  # fmt: skip
    if plan.rejected:
        raise RuntimeError(f"{len(plan.rejected)} tokens did not fit a full account")
    connections = []
    for index, shard in enumerate(plan.connections):
        connection = FeedConnection(
            index=index, url=url_, config=FeedConfig(watchdog_seconds=30), on_frame=on_frame,
            account_id=0,
        )  # fmt: skip
        connection.wanted = shard
        connections.append(connection)
    tasks = [asyncio.create_task(publisher.run())]
    tasks += [asyncio.create_task(connection.run()) for connection in connections]
    await asyncio.sleep(2.0)  # warm-up: a full rotation, so every index price is known
    recording[0] = True
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


def _latency(smoke: bool, url: str) -> list[str]:
    from streaming.pipeline.instruments import InstrumentMeta, InstrumentTable  # noqa: PLC0415

    feeder = _PacedFeeder(interval=0.01)
    table = InstrumentTable(_metas(feeder.model.universe.rows, InstrumentMeta))
    stop = threading.Event()
    thread = threading.Thread(target=feeder.serve_forever, args=(stop,), daemon=True)
    thread.start()
    time.sleep(0.5)
    try:
        latencies = asyncio.run(_latency_run(feeder, table, url, 3.0 if smoke else 15.0))
    finally:
        stop.set()
        thread.join(timeout=5)
    ms = np.array(latencies) * 1000.0
    return [
        f"latency, simulator model send -> confirmed on Redis, {len(table):,} instruments at "
        f"~1 tick/s each over 3 connections (<= 3,000 each), frames every 10 ms per "
        f"connection ({len(ms):,} frames): "
        f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, "
        f"max {ms.max():.2f} ms",
    ]


def run(smoke: bool) -> list[str]:
    _django()
    with _redis_server() as url:
        return _throughput(smoke, url) + _latency(smoke, url)

"""`FeedConnection` in process against the simulator over real sockets: resubscribe, watchdog."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from streaming.config import FeedConfig
from streaming.feed.connection import FeedConnection
from streaming.feed.credentials import FeedUrl
from streaming.feed.frame_batcher import FrameBatcher
from tests.streaming.helpers import NIFTY_INDEX

FAST = FeedConfig(
    watchdog_seconds=1.5, reconnect_initial_seconds=0.1, reconnect_max_seconds=0.3,
    open_timeout_seconds=5.0,
)  # fmt: skip


def _connection(
    sim, frames: list[bytes], config: FeedConfig = FAST, on_frame=None
) -> FeedConnection:
    credentials = sim.accounts[0]
    connection = FeedConnection(
        index=0,
        url=FeedUrl(
            ws_root=sim.ws_root,
            api_key=credentials.api_key,
            access_token=credentials.access_token,
        ),
        config=config,
        on_frame=on_frame or (lambda payload, _at: frames.append(payload)),
        account_id=1,
    )
    connection.wanted = {NIFTY_INDEX: "full"}
    return connection


async def _until(condition, limit: float = 15.0) -> None:
    """Poll a condition on the connection's counters (they have no event to wait on)."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polling counters of a live socket
            await asyncio.sleep(0.05)


def _subscribed(sim) -> list[int]:
    return [c["subscribed"] for c in sim.control.state()["connections"]]


def test_a_dropped_connection_resubscribes_exactly_once(simulator_factory):
    sim = simulator_factory("--accounts", "1", "--seed", "5")
    frames: list[bytes] = []
    connection = _connection(sim, frames)

    async def scenario() -> None:
        task = asyncio.create_task(connection.run())
        try:
            await _until(lambda: len(frames) >= 1)
            assert connection.subscriptions_sent == 1
            sim.control.fault("drop")
            await _until(lambda: connection.reconnects == 1 and connection.connected)
            received = len(frames)
            await _until(lambda: len(frames) > received)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert connection.reconnects == 1
    assert connection.subscriptions_sent == 2  # one full subscription per connect, no more


def test_a_stalled_socket_is_caught_by_the_watchdog(simulator_factory):
    sim = simulator_factory("--accounts", "1", "--seed", "6", "--heartbeat", "0.5")
    frames: list[bytes] = []
    connection = _connection(sim, frames)

    async def scenario() -> None:
        task = asyncio.create_task(connection.run())
        try:
            await _until(lambda: len(frames) >= 1)
            sim.control.fault("stall", seconds=3)
            await _until(lambda: connection.reconnects >= 1, limit=10)
            sim.control.clear()
            received = len(frames)
            await _until(lambda: len(frames) > received)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert connection.reconnects >= 1
    assert _subscribed(sim) in ([1], [])


def test_a_batch_whose_processing_fails_is_dropped_and_the_socket_kept(simulator_factory):
    sim = simulator_factory("--accounts", "1", "--seed", "7", "--tick-interval", "0.2")
    handled: list[bytes] = []

    def handler(frames: Sequence[bytes], _at: float) -> None:
        if len(handled) == 1 and not getattr(handler, "failed", False):
            handler.failed = True  # type: ignore[attr-defined]
            raise ValueError("a bug triggered by one batch")
        handled.extend(frames)

    batcher = FrameBatcher(handle=handler, account_id=1)
    connection = _connection(sim, [], on_frame=batcher.put)

    async def scenario() -> None:
        tasks = [asyncio.create_task(connection.run()), asyncio.create_task(batcher.run())]
        try:
            await _until(lambda: len(handled) >= 4)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    assert batcher.failures == 1
    assert connection.reconnects == 0  # the socket survived the failed batch
    assert connection.subscriptions_sent == 1

"""One account's worker: wires the feed (or mock source), processor, publisher and control.

Every background task runs under the `TaskSupervisor` (see ``docs/streaming.md``):

* ``publisher``      buffered, pipelined writes to Redis;
* ``reloader``       the coalesced subscription reload (at most one running, one pending);
* ``control``        the ``{prefix}:control`` listener;
* ``reconcile``      a periodic reload request that repairs lost control messages;
* ``heartbeat``      the ``{prefix}:heartbeat:{id}`` key;
* ``source-mode``    switches between the Kite feed and mock mode (``STREAMING_MOCK_MODE``);
* ``feed-connection-N`` / ``mock-feed``  the tick sources.

* ``lease``          renews the account's lease (streaming/fleet/lease.py), when one is given.

``run()`` returns the process exit code: 0 after SIGTERM/SIGINT (drained), 3 when Kite refused
the access token, 5 when another worker holds the account's lease, 1 when a task kept crashing
or the lease could not be renewed.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from contract.fleet import LeaseHolder
from contract.names import control_channel, heartbeat_key, latest_key
from contract.snapshot import price_from_snapshot
from streaming.config import EXIT_FAILURE, EXIT_LEASE_HELD, MockMode, WorkerConfig
from streaming.control import ReloadCoalescer, listen_for_reloads
from streaming.feed.credentials import FeedUrl
from streaming.feed.frame_batcher import FrameBatcher
from streaming.feed.pool import FeedPool
from streaming.fleet.lease import AccountLease, LeaseLost, LeaseSpec, LeaseUnrenewable
from streaming.heartbeat import TickRate, write_heartbeats
from streaming.metrics import CAPACITY_REJECTED, RELOADS
from streaming.mock_source import MockFeed, modelled_index_tokens
from streaming.pipeline.instruments import InstrumentTable
from streaming.pipeline.processor import TickProcessor
from streaming.publish.redis_publisher import RedisPublisher
from streaming.subscription_source import SubscriptionSet
from streaming.supervisor import FatalWorkerError, TaskSupervisor

log = structlog.get_logger(__name__)

SOURCE_FEED = "kite"
SOURCE_MOCK = "mock"


@dataclass(frozen=True)
class WorkerDependencies:
    """What the worker is given from its edge (the management command or a test)."""

    config: WorkerConfig
    feed_url: FeedUrl | None  # None only when mock mode is "always"
    load_subscriptions: Callable[[int], SubscriptionSet]  # synchronous (runs in the DB thread)
    market_open: Callable[[datetime], bool]
    lease: LeaseSpec | None = None  # None: no lease (in-process tests and benchmarks only)


class AccountWorker:
    def __init__(self, deps: WorkerDependencies) -> None:
        config = deps.config
        self._deps = deps
        self._config = config
        self._account_id = config.account_id
        self._log = log.bind(account_id=config.account_id)
        self.supervisor = TaskSupervisor(
            restart_initial_seconds=config.task_restart_initial_seconds,
            restart_max_seconds=config.task_restart_max_seconds,
            crash_loop_limit=config.task_crash_loop_limit,
            context={"account_id": config.account_id},
        )
        publish = config.publish
        self.publisher = RedisPublisher(config=publish, account_id=config.account_id)
        self.processor = TickProcessor(
            table=InstrumentTable([]), greeks=config.greeks, prefix=publish.prefix,
            options_stream_maxlen=publish.options_stream_maxlen,
            bars_stream_maxlen=publish.bars_stream_maxlen, is_mock=config.is_mock_feed,
            sink=self.publisher.enqueue, account_id=config.account_id,
        )  # fmt: skip
        self.batcher = FrameBatcher(
            handle=self.processor.process_frames, account_id=config.account_id
        )
        self.pool: FeedPool | None = None
        if deps.feed_url is not None:
            self.pool = FeedPool(
                supervisor=self.supervisor, url=deps.feed_url, config=config.feed,
                on_frame=self.batcher.put, account_id=config.account_id,
            )  # fmt: skip
        self.mock: MockFeed | None = None
        self.coalescer = ReloadCoalescer(self._reload)
        self.source: str | None = None
        self.subscriptions: SubscriptionSet | None = None
        self.rejected = 0
        self._source_lock = asyncio.Lock()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-db")
        self._redis = aioredis.from_url(
            publish.redis_url, socket_connect_timeout=2.0, socket_timeout=2.0
        )
        self._rate = TickRate()
        self._state = "starting"
        self._host = socket.gethostname()
        self.lease = AccountLease(deps.lease, self._redis) if deps.lease is not None else None
        self.lease_holder: LeaseHolder | None = None  # the other holder, when exiting 5

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        config, spawn = self._config, self.supervisor.spawn
        self._log.info(
            "worker_starting", mock_mode=str(config.mock_mode), is_mock_feed=config.is_mock_feed,
            prefix=config.publish.prefix, pid=os.getpid(),
        )  # fmt: skip
        refused = await self._take_lease()
        if refused is not None:
            await self._redis.aclose()
            self._db.shutdown(wait=False, cancel_futures=True)
            return refused
        if self.lease is not None:
            spawn("lease", self._keep_lease)
        spawn("publisher", self.publisher.run)
        spawn("frame-batcher", self.batcher.run)
        spawn("heartbeat", self._heartbeat)
        spawn("reloader", self.coalescer.run)
        spawn("control", self._control)
        spawn("reconcile", self._reconcile)
        spawn("source-mode", self._source_mode)
        try:
            code = await self.supervisor.wait()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        await self._drain()
        self._log.info("worker_stopped", exit_code=code, reason=self.supervisor.stop_reason)
        return code

    async def _take_lease(self) -> int | None:
        """Take the account's lease before streaming; the exit code when it cannot."""
        if self.lease is None:
            return None
        try:
            holder = await self.lease.acquire()
        except (RedisError, OSError) as exc:
            self._log.error("worker_lease_unavailable", error=type(exc).__name__)
            return EXIT_FAILURE
        if holder is None:
            return None
        self.lease_holder = holder
        self._log.error(
            "worker_lease_held", holder_host=holder.host, holder_pid=holder.pid,
            holder_fleet_id=holder.fleet_id,
        )  # fmt: skip
        return EXIT_LEASE_HELD

    async def _keep_lease(self) -> None:
        if self.lease is None:
            return
        try:
            await self.lease.keep()
        except LeaseLost as exc:
            self.lease_holder = exc.holder
            raise FatalWorkerError(str(exc), exit_code=EXIT_LEASE_HELD) from exc
        except LeaseUnrenewable as exc:
            raise FatalWorkerError(str(exc), exit_code=EXIT_FAILURE) from exc

    def _on_signal(self, signum: int) -> None:
        self._log.info("worker_signal", signal=signal.Signals(signum).name)
        self.supervisor.request_stop(reason=signal.Signals(signum).name)

    # --- tasks ------------------------------------------------------------------------------

    async def _control(self) -> None:
        await listen_for_reloads(
            redis_url=self._config.publish.redis_url,
            channel=control_channel(self._config.publish.prefix),
            account_id=self._account_id,
            on_reload=self.coalescer.request,
        )

    async def _reconcile(self) -> None:
        while True:
            await asyncio.sleep(self._config.reconcile_seconds)
            self.coalescer.request("reconcile")

    async def _heartbeat(self) -> None:
        await write_heartbeats(
            client=self._redis,
            key=heartbeat_key(self._config.publish.prefix, self._account_id),
            interval=self._config.heartbeat_seconds,
            snapshot=self.heartbeat_document,
        )

    async def _source_mode(self) -> None:
        """Pick the source at start, then re-check every ``mode_check_seconds``."""
        while True:
            wanted = self._wanted_source(datetime.now(UTC))
            if wanted != self.source:
                await self._switch_source(wanted)
            await asyncio.sleep(self._config.mode_check_seconds)

    # --- reload and source switching ---------------------------------------------------------

    def _wanted_source(self, now: datetime) -> str:
        mode = self._config.mock_mode
        if self.pool is None or mode is MockMode.ALWAYS:
            return SOURCE_MOCK
        if mode is MockMode.AUTO and not self._deps.market_open(now):
            return SOURCE_MOCK
        return SOURCE_FEED

    async def _reload(self, reason: str) -> None:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        subs = await loop.run_in_executor(self._db, self._deps.load_subscriptions, self._account_id)
        table = InstrumentTable(subs.instruments)
        async with self._source_lock:
            self.processor.set_table(table)
            self.subscriptions = subs
            await self._apply_subscriptions()
        RELOADS.labels(account=str(self._account_id)).inc()
        self._log.info(
            "subscriptions_reloaded", reason=reason, tokens=len(subs.modes),
            indices=len(subs.index_tokens), unpriceable_options=subs.unpriceable,
            rejected=self.rejected, source=self.source,
            seconds=round(time.monotonic() - started, 3),
        )  # fmt: skip

    async def _apply_subscriptions(self) -> None:
        subs = self.subscriptions
        if subs is None or self.source is None:
            return
        if self.source == SOURCE_MOCK and self.mock is not None:
            self.mock.set_wanted(self.processor.table, subs.modes)
        elif self.source == SOURCE_FEED and self.pool is not None:
            plan = await self.pool.apply(subs.modes, priority=subs.index_tokens)
            self.rejected = len(plan.rejected)
            CAPACITY_REJECTED.labels(account=str(self._account_id)).set(self.rejected)

    async def _switch_source(self, wanted: str) -> None:
        async with self._source_lock:
            previous = self.source
            if wanted == SOURCE_MOCK:
                if self.pool is not None:
                    await self.pool.stop()
                self.mock = MockFeed(
                    on_frame=self.batcher.put,
                    tick_seconds=self._config.mock_tick_seconds, seed=self._config.mock_seed,
                    last_prices=await self._last_index_prices(), account_id=self._account_id,
                )  # fmt: skip
                self.processor.is_mock = True
                self.source = SOURCE_MOCK
                await self._apply_subscriptions()
                self.supervisor.spawn("mock-feed", self.mock.run)
            else:
                await self.supervisor.cancel("mock-feed")
                self.mock = None
                self.processor.is_mock = self._config.is_mock_feed
                self.source = SOURCE_FEED
                await self._apply_subscriptions()
            self._state = "mock" if wanted == SOURCE_MOCK else "streaming"
        self._log.info("source_switched", previous=previous, source=wanted)
        if self.subscriptions is None:
            self.coalescer.request("startup")

    async def _last_index_prices(self) -> dict[int, float]:
        """Seed for the mock model: index prices seen live, else the last published ones.

        Every index the model moves is looked up, not only the loaded table's: at start-up the
        subscriptions are not read yet, and the model is built once per switch to mock mode.
        """
        prices = self.processor.underlying_prices()
        key = latest_key(self._config.publish.prefix)
        wanted = {*self.processor.table.underlying_tokens, *modelled_index_tokens()}
        tokens = sorted(t for t in wanted if t not in prices)
        if not tokens:
            return prices
        try:
            values = await self._redis.hmget(key, [str(t) for t in tokens])
        except (RedisError, OSError) as exc:
            self._log.warning("mock_seed_unavailable", error=type(exc).__name__)
            return prices
        for token, raw in zip(tokens, values, strict=True):
            # Any age will do for a seed; a value that is not a usable price is logged there.
            price = price_from_snapshot(raw, now_epoch=time.time(), max_age_seconds=math.inf)
            if price is not None:
                prices[token] = price
        return prices

    # --- heartbeat and shutdown --------------------------------------------------------------

    def heartbeat_document(self) -> dict[str, Any]:
        now = time.time()
        stats = self.pool.stats() if self.pool is not None else None
        processor, publisher = self.processor, self.publisher
        last = processor.last_tick_at
        return {
            "account_id": self._account_id,
            "pid": os.getpid(),
            "host": self._host,
            "state": self._state,
            "source": self.source,
            "connections": stats.connected if stats and self.source == SOURCE_FEED else 0,
            "tokens": len(self.subscriptions.modes) if self.subscriptions else 0,
            "ticks_per_second": self._rate.update(processor.ticks, now),
            "last_tick_age_seconds": round(now - last, 3) if last else None,
            "errors": self.supervisor.failures + publisher.reply_errors,
            "reconnects": stats.reconnects if stats else 0,
            "malformed_packets": processor.malformed,
            "dropped_messages": publisher.dropped,
            "buffered_messages": publisher.buffered_messages,
            "rejected_tokens": self.rejected,
            "reloads": self.coalescer.runs,
            "is_mock": processor.is_mock,
            "ts": now,
        }

    async def _drain(self) -> None:
        """Stop the sources, flush what is buffered (bounded), remove the heartbeat, stop."""
        self._state = "stopping"
        if self.pool is not None:
            await self.pool.stop()
        await self.supervisor.cancel("mock-feed")
        for name in ("source-mode", "reconcile", "control", "reloader"):
            await self.supervisor.cancel(name)
        flushed = await self.publisher.flush(self._config.drain_seconds)
        if not flushed:
            self._log.warning("drain_incomplete", buffered=self.publisher.buffered_messages)
        await self.supervisor.cancel_all()
        try:
            await self._redis.delete(heartbeat_key(self._config.publish.prefix, self._account_id))
        except (RedisError, OSError) as exc:
            self._log.warning("heartbeat_delete_failed", error=type(exc).__name__)
        if self.lease is not None:
            await self.lease.release()
        await self._redis.aclose()
        self._db.shutdown(wait=False, cancel_futures=True)

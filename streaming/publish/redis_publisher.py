"""The worker's Redis writer: a bounded buffer in front of one pipelined connection.

``enqueue`` (called by the tick processor, never blocks) appends a chunk; ``run`` (a supervised
task) writes everything buffered in one go, reads the replies, and repeats. When Redis is
unreachable the buffer holds up to ``buffer_max_messages`` messages, then drops the oldest
chunks, counting them (``streaming_publish_dropped_total``); the connection is retried with
capped backoff. Chunks written but unconfirmed when the connection broke are written again
(at-least-once across a Redis reconnect). Error replies are logged and counted, never fatal.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

import structlog

from streaming.backoff import Backoff
from streaming.config import PublishConfig
from streaming.metrics import PUBLISH_DROPPED, PUBLISH_LATENCY, PUBLISHED
from streaming.publish.resp import Chunk
from streaming.publish.resp_connection import RedisReplyError, RespConnection

log = structlog.get_logger(__name__)
REPLY_TIMEOUT_SECONDS = 5.0  # a Redis that stops answering is treated as a lost connection
WRITE_BATCH_BYTES = 4 * 1024 * 1024  # one write after an outage stays bounded
POISON_LIMIT = 5  # a batch that keeps breaking healthy connections is dropped, not retried forever


class RedisPublisher:
    def __init__(
        self,
        *,
        config: PublishConfig,
        account_id: int,
        on_written: Callable[[list[Chunk], float], None] | None = None,
    ) -> None:
        """``on_written(chunks, confirmed_at)`` is called after Redis confirmed ``chunks``."""
        self._on_written = on_written
        self._latency = PUBLISH_LATENCY.labels(account=str(account_id))
        self._config = config
        self._buffer: deque[Chunk] = deque()
        self._buffered_messages = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._log = log.bind(account_id=account_id)
        self._dropped_counter = PUBLISH_DROPPED.labels(account=str(account_id))
        self._published_counter = PUBLISHED.labels(account=str(account_id))
        self.connected = False
        self.dropped = 0
        self.published = 0
        self.reply_errors = 0
        self._backoff = Backoff(
            initial=config.reconnect_initial_seconds, maximum=config.reconnect_max_seconds
        )
        self._failed_writes = 0  # consecutive failures of the same oldest batch

    @property
    def buffered_messages(self) -> int:
        return self._buffered_messages

    def enqueue(self, chunk: Chunk) -> None:
        self._buffer.append(chunk)
        self._buffered_messages += chunk.messages
        self._trim()
        self._idle.clear()
        self._wake.set()

    def _trim(self) -> None:
        """Drop the oldest buffered chunks beyond the limit (the newest is always kept)."""
        limit = self._config.buffer_max_messages
        while self._buffered_messages > limit and len(self._buffer) > 1:
            oldest = self._buffer.popleft()
            self._buffered_messages -= oldest.messages
            self.dropped += oldest.messages
            self._dropped_counter.inc(oldest.messages)

    async def run(self) -> None:
        """Connect, then write whatever is buffered, forever (supervised)."""
        backoff = self._backoff
        while True:
            try:
                connection = await RespConnection.open(self._config.redis_url)
            except (OSError, TimeoutError, RedisReplyError) as exc:
                self.connected = False
                delay = backoff.next_delay()
                self._log.warning(
                    "redis_publisher_connect_failed", error=type(exc).__name__,
                    buffered=self._buffered_messages, delay_seconds=round(delay, 2),
                )  # fmt: skip
                await asyncio.sleep(delay)
                continue
            self.connected = True
            self._log.info("redis_publisher_connected", buffered=self._buffered_messages)
            try:
                await self._write_forever(connection)
            except (OSError, ConnectionError, TimeoutError) as exc:
                self._log.warning(
                    "redis_publisher_connection_lost", error=type(exc).__name__,
                    buffered=self._buffered_messages,
                )  # fmt: skip
            finally:
                self.connected = False
                await connection.close()
            await asyncio.sleep(backoff.next_delay())

    async def _write_forever(self, connection: RespConnection) -> None:
        while True:
            if not self._buffer:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            chunks = self._take_batch()
            data = b"".join(chunk.data for chunk in chunks)
            replies = sum(chunk.commands for chunk in chunks)
            try:
                async with asyncio.timeout(REPLY_TIMEOUT_SECONDS):
                    errors = await connection.execute(data, replies)
            except BaseException:
                self._requeue(chunks)
                raise
            confirmed_at = time.time()
            self._failed_writes = 0
            self._backoff.reset()
            for chunk in chunks:
                if chunk.received_at:
                    self._latency.observe(confirmed_at - chunk.received_at)
            if self._on_written is not None:
                self._on_written(chunks, confirmed_at)
            written = sum(chunk.messages for chunk in chunks)
            self._buffered_messages -= written
            self.published += written
            self._published_counter.inc(written)
            if errors:
                self.reply_errors += len(errors)
                self._log.error("redis_publish_reply_errors", count=len(errors), first=errors[0])

    def _requeue(self, chunks: list[Chunk]) -> None:
        """Unconfirmed chunks go back to the front (oldest first), under the drop-oldest rule;
        a batch that broke the connection ``POISON_LIMIT`` times in a row is dropped."""
        self._failed_writes += 1
        if self._failed_writes >= POISON_LIMIT:
            lost = sum(chunk.messages for chunk in chunks)
            self._buffered_messages -= lost
            self.dropped += lost
            self._dropped_counter.inc(lost)
            self._failed_writes = 0
            self._log.error("redis_publish_batch_dropped", messages=lost, attempts=POISON_LIMIT)
            return
        self._buffer.extendleft(reversed(chunks))
        self._trim()

    def _take_batch(self) -> list[Chunk]:
        """The oldest chunks, up to about ``WRITE_BATCH_BYTES`` (at least one)."""
        chunks = [self._buffer.popleft()]
        size = len(chunks[0].data)
        while self._buffer and size < WRITE_BATCH_BYTES:
            chunk = self._buffer.popleft()
            chunks.append(chunk)
            size += len(chunk.data)
        return chunks

    async def flush(self, timeout_seconds: float) -> bool:
        """Wait until the buffer is written (for a drain at shutdown); False on timeout."""
        try:
            async with asyncio.timeout(timeout_seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

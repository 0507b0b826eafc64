"""An account's connections: shards the wanted tokens over them and keeps each one supervised.

Connections are created as the plan needs them (at most ``max_connections``) and stopped when
a reload empties the last ones; tokens that stay wanted stay on their connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from streaming.config import FeedConfig
from streaming.feed.connection import FeedConnection, FrameHandler
from streaming.feed.credentials import FeedUrl
from streaming.feed.sharding import ShardPlan, shard_tokens
from streaming.supervisor import TaskSupervisor

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PoolStats:
    connections: int
    connected: int
    tokens: int
    reconnects: int
    last_frame_at: float


class FeedPool:
    """Owns the `FeedConnection` objects; their tasks run under the worker's supervisor."""

    def __init__(
        self,
        *,
        supervisor: TaskSupervisor,
        url: FeedUrl,
        config: FeedConfig,
        on_frame: FrameHandler,
        account_id: int,
        connection_factory: Callable[..., FeedConnection] = FeedConnection,
    ) -> None:
        self._supervisor = supervisor
        self._url = url
        self._config = config
        self._on_frame = on_frame
        self._account_id = account_id
        self._factory = connection_factory
        self.connections: list[FeedConnection] = []
        self._retired_reconnects = 0

    async def apply(self, wanted: dict[int, str], *, priority: frozenset[int]) -> ShardPlan:
        """Move every connection to its share of ``wanted``, sending only differences."""
        plan = shard_tokens(
            wanted,
            [connection.wanted for connection in self.connections],
            tokens_per_connection=self._config.tokens_per_connection,
            max_connections=self._config.max_connections,
            priority=priority,
        )
        for index, tokens in enumerate(plan.connections):
            if index < len(self.connections):
                await self.connections[index].set_wanted(tokens)
                continue
            connection = self._factory(
                index=index,
                url=self._url,
                config=self._config,
                on_frame=self._on_frame,
                account_id=self._account_id,
            )
            connection.wanted = dict(tokens)
            self.connections.append(connection)
            self._supervisor.spawn(self._task_name(index), connection.run)
        while len(self.connections) > len(plan.connections):
            retired = self.connections.pop()
            self._retired_reconnects += retired.reconnects
            await self._supervisor.cancel(self._task_name(retired.index))
            log.info(
                "feed_connection_retired", account_id=self._account_id, connection=retired.index
            )
        if plan.rejected:
            log.warning(
                "feed_capacity_exceeded",
                account_id=self._account_id,
                rejected=len(plan.rejected),
                capacity=self._config.max_connections * self._config.tokens_per_connection,
            )
        return plan

    async def stop(self) -> None:
        for connection in self.connections:
            await self._supervisor.cancel(self._task_name(connection.index))
        self.connections.clear()

    def stats(self) -> PoolStats:
        return PoolStats(
            connections=len(self.connections),
            connected=sum(1 for c in self.connections if c.connected),
            tokens=sum(len(c.wanted) for c in self.connections),
            reconnects=self._retired_reconnects + sum(c.reconnects for c in self.connections),
            last_frame_at=max((c.last_frame_at for c in self.connections), default=0.0),
        )

    @staticmethod
    def _task_name(index: int) -> str:
        return f"feed-connection-{index}"

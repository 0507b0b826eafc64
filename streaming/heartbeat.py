"""The worker's liveness key ``{prefix}:heartbeat:{account_id}`` (docs/redis-contract.md).

A JSON document written every ``interval`` seconds with a TTL of three intervals: a missing key
means the worker is dead or wedged. A Redis outage is logged and waited out (never fatal).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


def heartbeat_ttl_seconds(interval: float) -> int:
    return max(1, math.ceil(3 * interval))


class TickRate:
    """Ticks per second between two heartbeats (pure; the caller passes the times)."""

    def __init__(self) -> None:
        self._ticks = 0
        self._at: float | None = None

    def update(self, ticks: int, now: float) -> float:
        if self._at is None or now <= self._at:
            rate = 0.0
        else:
            rate = (ticks - self._ticks) / (now - self._at)
        self._ticks, self._at = ticks, now
        return round(rate, 1)


async def write_heartbeats(
    *,
    client: aioredis.Redis,
    key: str,
    interval: float,
    snapshot: Callable[[], dict[str, Any]],
) -> None:
    """Forever: SET key snapshot EX 3*interval, then sleep (supervised)."""
    ttl = heartbeat_ttl_seconds(interval)
    while True:
        document = snapshot()
        try:
            await client.set(key, orjson.dumps(document), ex=ttl)
        except (RedisError, OSError) as exc:
            log.warning(
                "heartbeat_write_failed", key=key, error=type(exc).__name__,
                account_id=document.get("account_id"),
            )  # fmt: skip
        await asyncio.sleep(interval)

"""Reload requests: the coalescer and the listener on ``{prefix}:control``.

`ReloadCoalescer` runs reloads one at a time; requests that arrive while one runs collapse into
a single pending run, whatever their number (at most one running and one pending). The listener
turns control messages addressed to this account (or to every account: empty ``account_ids``)
into requests; after a lost Redis connection it asks for a reload too, since messages published
meanwhile are gone. A periodic reconcile (the worker) repairs anything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from contract.control import parse_reload
from streaming.backoff import Backoff

log = structlog.get_logger(__name__)


class ReloadCoalescer:
    def __init__(self, reload: Callable[[str], Awaitable[None]]) -> None:
        self._reload = reload
        self._pending = asyncio.Event()
        self._reason = ""
        self.requests = 0
        self.runs = 0

    def request(self, reason: str) -> None:
        self.requests += 1
        self._reason = reason
        self._pending.set()

    async def run(self) -> None:
        """The single reload runner (supervised); a failed reload is retried after a restart."""
        while True:
            await self._pending.wait()
            self._pending.clear()
            self.runs += 1
            try:
                await self._reload(self._reason)
            except BaseException:
                self._pending.set()  # the request is not done: run again after the restart
                raise


async def listen_for_reloads(
    *,
    redis_url: str,
    channel: str,
    account_id: int,
    on_reload: Callable[[str], None],
    reconnect_max_seconds: float = 10.0,
) -> None:
    """Subscribe to the control channel forever; Redis outages are waited out with backoff."""
    backoff = Backoff(initial=0.2, maximum=reconnect_max_seconds)
    first = True
    while True:
        client = aioredis.from_url(redis_url, socket_connect_timeout=2.0)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            backoff.reset()
            if not first:
                on_reload("control_channel_reconnected")
            first = False
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                reason = parse_reload(message["data"], account_id=account_id)
                if reason is not None:
                    on_reload(reason)
        except (RedisError, OSError) as exc:
            delay = backoff.next_delay()
            log.warning(
                "control_channel_lost", account_id=account_id, error=type(exc).__name__,
                delay_seconds=round(delay, 2),
            )  # fmt: skip
            await asyncio.sleep(delay)
        finally:
            await pubsub.aclose()
            await client.aclose()

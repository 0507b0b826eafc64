"""Kite's historical budget (3 requests/s per api_key) shared by every process and host, in Redis.

A sliding-window log: one sorted set per api_key holds its requests of the last window. A Lua
script trims it, grants a slot when fewer than ``limit`` remain and otherwise answers how long
to wait. Kite counts a request when it *arrives*, which is some time after the grant (a thread
waiting for the CPU, the network, a busy server); so a granted slot is held "in flight" and
stamped only when its response is back (`release`), and the window runs from that stamp. The
next request in that slot is sent at least ``window_seconds`` after the previous one's response,
hence after its arrival, whatever the delays: no 429 by construction, at the price of each
slot also being held for the request's own latency. A process that dies mid-request leaves its
slot in flight for ``IN_FLIGHT_SECONDS`` at most.

The script reads the time from Redis (``TIME``), so hosts with skewed clocks share one window,
and runs atomically, so two processes never both take the last slot. Hand-written rather than
with ``limits`` (its Redis moving window): that library stamps entries at the grant with each
client's own clock, knows whole-second windows only, and has no notion of a request in flight.
The key holds a hash of the api_key, never the key itself.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import redis

from contract.names import history_rate_limit_key
from kite_wire.historical import HISTORICAL_REQUESTS_PER_SECOND

DEFAULT_WINDOW_SECONDS: Final = 1.05  # Kite's second, and a little for clock granularity
IN_FLIGHT_SECONDS: Final = 60.0  # above any HTTP timeout: a lost release frees the slot by then
MAX_POLL_SECONDS: Final = 0.1  # while every slot is in flight, ask again this often

# KEYS[1] the api_key's window; ARGV: limit, window, in-flight hold (microseconds), a member.
# Returns 0 when granted (the member is held in flight: scored now + hold), else the
# microseconds until the earliest slot leaves the window.
_ACQUIRE: Final = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now + hold, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], math.ceil((window + hold) / 1000) + 1000)
    return 0
end
local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(earliest[2]) + window - now)
"""

# KEYS[1] the window; ARGV[1] the member. Stamps a slot with the time its response came back.
_RELEASE: Final = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
return redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
"""


def rate_limit_key(prefix: str, api_key: str) -> str:
    """The Redis key of one api_key's window (a digest of the key, not the key)."""
    return history_rate_limit_key(prefix, hashlib.sha256(api_key.encode()).hexdigest()[:16])


@dataclass
class HistoricalRateLimiter:
    """Blocks until the api_key behind ``key`` may send one more historical request."""

    client: redis.Redis
    limit: int = HISTORICAL_REQUESTS_PER_SECOND
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    sleep: Callable[[float], None] = time.sleep

    def try_acquire(self, key: str, member: str) -> float:
        """0.0 when ``member`` got a slot (in flight until `release`), else seconds to wait."""
        wait_us = self.client.eval(
            _ACQUIRE,
            1,
            key,
            self.limit,
            int(self.window_seconds * 1_000_000),
            int(IN_FLIGHT_SECONDS * 1_000_000),
            member,
        )
        return int(wait_us) / 1_000_000

    def acquire(self, key: str) -> str:
        """Wait for a slot and return its handle; call `release` when the response is back."""
        member = secrets.token_hex(8)
        while (wait := self.try_acquire(key, member)) > 0:
            self.sleep(min(wait, MAX_POLL_SECONDS))
        return member

    def release(self, key: str, member: str) -> None:
        """The response of ``member``'s request is back (or it failed): its window starts now."""
        self.client.eval(_RELEASE, 1, key, member)

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """One request's slot: acquired before, released (stamped) after, whatever happens."""
        member = self.acquire(key)
        try:
            yield
        finally:
            self.release(key, member)

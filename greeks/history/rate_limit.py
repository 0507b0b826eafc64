"""Kite's historical budget (3 requests/s per api_key) shared by every process and host, in Redis.

A sliding-window log: one sorted set per api_key holds the grant times of the last window; a Lua
script trims it, grants when fewer than ``limit`` remain and otherwise answers how long to wait.
The script reads the time from Redis (``TIME``), so hosts with skewed clocks still share one
window; it runs atomically, so two processes never both take the last slot.

Hand-written rather than ``limits`` (its Redis moving window): that library stamps entries with
each client's own clock and only knows whole-second windows, while Kite counts a request when it
arrives. Grants are therefore spread over ``window_seconds`` a little longer than Kite's second
(1.2 s by default): a request granted early but delayed on the way still lands outside the window
of the request granted last. The key holds a hash of the api_key, never the key itself.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import redis

from contract.names import history_rate_limit_key
from kite_wire.historical import HISTORICAL_REQUESTS_PER_SECOND

DEFAULT_WINDOW_SECONDS: Final = 1.2

# KEYS[1] the api_key's window; ARGV: limit, window (microseconds), a unique member.
# Returns 0 when granted, else the microseconds until the oldest grant leaves the window.
_ACQUIRE: Final = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
    return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
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

    def try_acquire(self, key: str) -> float:
        """0.0 when granted now, else the seconds to wait before asking again."""
        member = secrets.token_hex(8)
        wait_us = self.client.eval(
            _ACQUIRE, 1, key, self.limit, int(self.window_seconds * 1_000_000), member
        )
        return int(wait_us) / 1_000_000

    def acquire(self, key: str) -> float:
        """Wait for a slot; returns the seconds spent waiting."""
        waited = 0.0
        while (wait := self.try_acquire(key)) > 0:
            self.sleep(wait)
            waited += wait
        return waited

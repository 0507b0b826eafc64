"""Build Redis clients from a URL passed in by the caller (no module-level client).

``build_redis`` makes a new client (its own connection pool); ``process_redis`` hands out one
client per (process, URL), so request handlers and services share one pool instead of
opening a connection per request (review finding 22). A forked child gets its own.
"""

from __future__ import annotations

import os
import threading

import redis

_lock = threading.Lock()
_per_process: dict[tuple[int, str], redis.Redis] = {}


def build_redis(url: str, *, timeout_seconds: float = 2.0) -> redis.Redis:
    """A synchronous client for ``url`` (redis://, rediss:// or unix://) with bounded timeouts."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout_seconds, socket_timeout=timeout_seconds
    )


def process_redis(url: str) -> redis.Redis:
    """This process's shared client for ``url`` (thread-safe; one pool per process and URL)."""
    key = (os.getpid(), url)
    client = _per_process.get(key)
    if client is None:
        with _lock:
            client = _per_process.get(key)
            if client is None:
                client = build_redis(url)
                _per_process[key] = client
    return client


def process_redis_clients() -> list[redis.Redis]:
    """This process's shared clients (for pool metrics)."""
    pid = os.getpid()
    return [client for (owner, _), client in _per_process.items() if owner == pid]

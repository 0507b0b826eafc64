"""Build Redis clients from a URL passed in by the caller (no module-level client)."""

from __future__ import annotations

import redis


def build_redis(url: str, *, timeout_seconds: float = 2.0) -> redis.Redis:
    """A synchronous client for ``url`` (redis://, rediss:// or unix://) with bounded timeouts."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout_seconds, socket_timeout=timeout_seconds
    )

"""Single-flight locks in Redis (``SET key token NX EX ttl``) so overlapping runs don't collide.

The TTL is the job's hard time limit: a crashed holder's lock expires on its own. Release deletes
the key only if it still holds our token (a compare-and-delete script), so a run that outlived
its TTL never frees a lock someone else now holds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import structlog

from contract.names import lock_key
from subscriptions.metrics import SINGLE_FLIGHT_SKIPPED

log = structlog.get_logger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@contextmanager
def single_flight(
    client: redis.Redis, *, prefix: str, job: str, ttl_seconds: int
) -> Iterator[bool]:
    """Yield True when this run holds the lock for ``job``, False when another run does."""
    key = lock_key(prefix, job)
    token = secrets.token_hex(16)
    acquired = bool(client.set(key, token, nx=True, ex=ttl_seconds))
    if not acquired:
        SINGLE_FLIGHT_SKIPPED.labels(job=job).inc()
        log.info("single_flight_busy", job=job, key=key)
        yield False
        return
    try:
        yield True
    finally:
        client.eval(_RELEASE, 1, key, token)

"""Read the workers' heartbeats and keep each account's "last seen streaming" clock in Redis.

The rule is in ``subscriptions.streaming_availability`` (pure). The clocks live in one hash,
``{prefix}:fleet:last_streaming`` (field: account id, value: epoch seconds), so every process
that runs the assignment (the fleets, the Celery task, the command) agrees on them. A Redis
outage makes no account unavailable: moving instruments on missing evidence would do harm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import redis
import structlog

from contract.fleet import last_streaming_key
from contract.names import heartbeat_key
from subscriptions.streaming_availability import accounts_not_streaming, heartbeat_is_streaming

log = structlog.get_logger(__name__)


def _document(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def accounts_unavailable_for_streaming(
    *,
    client: redis.Redis,
    prefix: str,
    account_ids: Sequence[int],
    now: float,
    grace_seconds: float,
    heartbeat_ttl_seconds: float,
) -> frozenset[int]:
    """The streamable accounts that have not streamed for ``grace_seconds``; clocks updated."""
    key = last_streaming_key(prefix)
    try:
        raws = client.mget([heartbeat_key(prefix, a) for a in account_ids]) if account_ids else []
        stored: Any = client.hgetall(key)
        streaming_now = frozenset(
            account_id
            for account_id, raw in zip(account_ids, raws, strict=True)
            if heartbeat_is_streaming(_document(raw), now=now, ttl=heartbeat_ttl_seconds)
        )
        last = {int(field): float(value) for field, value in stored.items()}
        verdict = accounts_not_streaming(
            candidates=account_ids, streaming_now=streaming_now, last_streaming=last, now=now,
            grace_seconds=grace_seconds,
        )  # fmt: skip
        pipe = client.pipeline(transaction=False)
        if verdict.last_streaming:
            pipe.hset(key, mapping={str(a): v for a, v in verdict.last_streaming.items()})
        gone = [str(a) for a in last if a not in verdict.last_streaming]
        if gone:  # no longer streamable: its clock restarts when it is again
            pipe.hdel(key, *gone)
        pipe.execute()
    except (redis.exceptions.RedisError, OSError) as exc:
        log.warning("streaming_availability_unreadable", error_type=type(exc).__name__)
        return frozenset()
    if verdict.unavailable:
        log.warning(
            "accounts_not_streaming", account_ids=sorted(verdict.unavailable),
            grace_seconds=grace_seconds,
        )  # fmt: skip
    return verdict.unavailable

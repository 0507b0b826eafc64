"""Health check over the workers' heartbeats (registered in ticker_project.health).

Degraded when an account that has active subscriptions assigned has no fresh heartbeat key
(the key expires after three heartbeat intervals, so "present" means "fresh").
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from redis.exceptions import RedisError

from contract.names import heartbeat_key
from subscriptions.models import Subscription, SubscriptionStatus

# (status, reason) as ticker_project.health.CheckResult takes it (no import: that module
# registers this check, and importing it back would be a cycle).
HealthVerdict = tuple[str, str]


def accounts_with_subscriptions() -> list[int]:
    return sorted(
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, account__isnull=False)
        .values_list("account_id", flat=True)
        .distinct()
    )


def check_worker_heartbeats(
    *,
    client_factory: Callable[[], redis.Redis],  # a shared client: not closed here
    prefix: str,
    accounts: Callable[[], list[int]] = accounts_with_subscriptions,
) -> HealthVerdict:
    expected = accounts()
    if not expected:
        return ("ok", "")
    client = client_factory()
    try:
        present = client.mget([heartbeat_key(prefix, account_id) for account_id in expected])
    except RedisError as exc:
        return ("degraded", f"heartbeats unreadable: {type(exc).__name__}")
    missing = [a for a, value in zip(expected, present, strict=True) if value is None]
    if missing:
        return ("degraded", f"no fresh worker heartbeat for accounts {missing}")
    return ("ok", "")

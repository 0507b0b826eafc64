"""Read the fleet's state: every account joined with its worker record, heartbeat and lease.

``fleet_overview`` costs one database query (accounts with their active subscription count and
whether ``accounts_streamable`` admits them) and one Redis round trip (an ``MGET`` over the
four keys of every account: worker record, heartbeat, lease, drain marker), however many
accounts there are.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis
import structlog
from django.db.models import Count, Exists, OuterRef, Q

from accounts.models import Account
from accounts.selectors import accounts_streamable
from contract.fleet import (
    FleetRecord,
    account_lease_key,
    decode_fleet,
    fleet_host_pattern,
    fleet_worker_key,
)
from contract.names import heartbeat_key
from streaming.fleet.status import AccountRow, FleetAccountStatus, fleet_account_status
from streaming.fleet.supervisor import fleet_drained_key
from subscriptions.models import SubscriptionStatus

log = structlog.get_logger(__name__)


def account_rows(*, now: float) -> list[AccountRow]:
    """Every account with its active subscription count and streamability: one query."""
    streamable = accounts_streamable(now=datetime.fromtimestamp(now, tz=UTC)).filter(
        pk=OuterRef("pk")
    )
    rows = (
        Account.objects.annotate(
            subscribed=Count(
                "subscriptions", filter=Q(subscriptions__status=SubscriptionStatus.ACTIVE)
            ),
            streamable=Exists(streamable),
        )
        .order_by("id")
        .values_list("id", "name", "status", "subscribed", "streamable")
    )
    return [AccountRow(*row) for row in rows]


def fleet_overview(*, redis: redis.Redis, prefix: str, now: float) -> list[FleetAccountStatus]:
    """Every account's fleet status; ``RedisError`` propagates (the caller says unavailable)."""
    accounts = account_rows(now=now)
    if not accounts:
        return []
    keys: list[str] = []
    for row in accounts:
        keys += [
            fleet_worker_key(prefix, row.account_id),
            heartbeat_key(prefix, row.account_id),
            account_lease_key(prefix, row.account_id),
            fleet_drained_key(prefix, row.account_id),
        ]
    values = redis.mget(keys)
    return [
        fleet_account_status(
            row,
            worker_raw=values[4 * i],
            heartbeat_raw=values[4 * i + 1],
            lease_raw=values[4 * i + 2],
            drained_raw=values[4 * i + 3],
            now=now,
        )
        for i, row in enumerate(accounts)
    ]


def fleet_hosts(*, redis: redis.Redis, prefix: str) -> list[FleetRecord]:
    """Every live fleet (its ``FleetRecord``), by fleet id; unreadable records are left out."""
    keys = sorted(redis.scan_iter(match=fleet_host_pattern(prefix), count=500))
    if not keys:
        return []
    records: list[FleetRecord] = []
    for raw in redis.mget(keys):
        if raw is None:
            continue
        try:
            records.append(decode_fleet(raw))
        except (ValueError, TypeError) as exc:
            log.warning("fleet_host_record_unreadable", error=f"{type(exc).__name__}: {exc}")
    return records

"""Celery tasks of the control plane: thin shells that take ids/plain values and call services.

Queues (routes in settings): ``refresh`` for the instruments dump, ``rebalance`` for the
every-minute strike rebalance, ``default`` for the assignment. Every task is idempotent
(desired state, upserts), hence ``acks_late``; transient errors retry with the one policy in
``infra.retry``. Refresh and rebalance are single-flight (a Redis lock whose TTL is the
hard time limit), so overlapping runs skip instead of colliding.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from celery import shared_task
from django.utils import timezone

from infra.retry import TRANSIENT_RETRY
from subscriptions.services.instruments import instruments_refresh
from subscriptions.services.rebalance import underlyings_rebalance
from subscriptions.wiring import (
    configured_assignment,
    configured_calendar,
    configured_dump_sources,
    configured_price_source,
    configured_single_flight,
)

log = structlog.get_logger(__name__)

REFRESH_SOFT_LIMIT: Final = 600
REFRESH_HARD_LIMIT: Final = 660
REBALANCE_SOFT_LIMIT: Final = 45
REBALANCE_HARD_LIMIT: Final = 55
ASSIGN_SOFT_LIMIT: Final = 45
ASSIGN_HARD_LIMIT: Final = 55


@shared_task(
    name="subscriptions.tasks.refresh_instruments",
    acks_late=True,
    soft_time_limit=REFRESH_SOFT_LIMIT,
    time_limit=REFRESH_HARD_LIMIT,
    **TRANSIENT_RETRY,
)
def refresh_instruments(exchanges: list[str] | None = None) -> dict[str, Any] | None:
    """Refresh the instrument registry from Kite's dump (all exchanges when none given)."""
    with configured_single_flight("refresh_instruments", REFRESH_HARD_LIMIT) as acquired:
        if not acquired:
            return None
        report = instruments_refresh(
            sources=configured_dump_sources(), exchanges=exchanges or [], now=timezone.now()
        )
    return {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "expired": report.expired,
        "bad_rows": len(report.bad_rows),
        "subscriptions_deactivated": report.subscriptions_deactivated,
    }


@shared_task(
    name="subscriptions.tasks.rebalance_strikes",
    acks_late=True,
    soft_time_limit=REBALANCE_SOFT_LIMIT,
    time_limit=REBALANCE_HARD_LIMIT,
    **TRANSIENT_RETRY,
)
def rebalance_strikes(force: bool = False) -> dict[str, Any] | None:
    """Rebalance every enabled underlying; a no-op outside market hours and on holidays."""
    with configured_single_flight("rebalance_strikes", REBALANCE_HARD_LIMIT) as acquired:
        if not acquired:
            return None
        report = underlyings_rebalance(
            now=timezone.now(),
            prices=configured_price_source(),
            calendar=configured_calendar(),
            force=force,
            only_when_market_open=True,
        )
    return {
        "skipped": report.skipped_reason,
        "changes": report.changes,
        "acted": [u.name for u in report.underlyings if u.acted],
    }


@shared_task(
    name="subscriptions.tasks.assign_subscriptions",
    acks_late=True,
    soft_time_limit=ASSIGN_SOFT_LIMIT,
    time_limit=ASSIGN_HARD_LIMIT,
    **TRANSIENT_RETRY,
)
def assign_subscriptions(reason: str = "scheduled") -> dict[str, Any]:
    """Assign active subscriptions to healthy accounts; reload the affected workers."""
    report = configured_assignment(now=timezone.now(), reason=reason)
    return {
        "assigned": report.assigned,
        "unassigned": report.unassigned,
        "moved": report.moved,
        "affected_account_ids": report.affected_account_ids,
    }

"""Assign active subscriptions to healthy accounts (rules in ``subscriptions.assignment``).

Reads the rows, runs the pure function, writes only what changed, and after commit publishes
one reload naming the affected accounts on the control channel. Runs are serialised by a
transaction-scoped PostgreSQL advisory lock (SQLite, the demo's database, serialises writers
anyway).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from django.db import connection, transaction

from accounts.selectors import accounts_streamable
from kite_wire.instruments_csv import OPTION_TYPES
from subscriptions.assignment import AccountSlot, SubscriptionItem, assign_subscriptions
from subscriptions.control_channel import ControlPublisher
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.selectors import (
    underlying_index_tokens_by_name,
)

log = structlog.get_logger(__name__)

# An arbitrary constant naming the assignment's advisory lock (pg_advisory_xact_lock).
ASSIGNMENT_LOCK_KEY = 0x5_5B_A551


@dataclass
class AssignmentReport:
    active: int = 0
    assigned: int = 0
    unassigned: int = 0
    unassigned_tokens: list[int] = field(default_factory=list)
    moved: int = 0
    released: int = 0  # inactive subscriptions whose account was cleared
    affected_account_ids: list[int] = field(default_factory=list)
    load: dict[int, int] = field(default_factory=dict)
    capacity: dict[int, int] = field(default_factory=dict)
    unavailable_account_ids: list[int] = field(default_factory=list)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ASSIGNMENT_LOCK_KEY])


def _healthy_slots(now: datetime, unavailable: Collection[int]) -> list[AccountSlot]:
    accounts = accounts_streamable(now=now).exclude(pk__in=list(unavailable))
    return [
        AccountSlot(account_id=pk, capacity=conns * per_conn)
        for pk, conns, per_conn in accounts.values_list(
            "pk", "max_connections", "instruments_per_connection"
        )
    ]


def _items() -> tuple[list[SubscriptionItem], dict[int, int]]:
    index_by_name = underlying_index_tokens_by_name()
    items: list[SubscriptionItem] = []
    token_of: dict[int, int] = {}
    for pk, token, account_id, name, kind in Subscription.objects.filter(
        status=SubscriptionStatus.ACTIVE
    ).values_list(
        "pk",
        "instrument__instrument_token",
        "account_id",
        "instrument__name",
        "instrument__instrument_type",
    ):
        items.append(
            SubscriptionItem(
                subscription_id=pk,
                instrument_token=token,
                current_account_id=account_id,
                index_token=index_by_name.get(name) if kind in OPTION_TYPES else None,
            )
        )
        token_of[pk] = token
    return items, token_of


def subscriptions_assign(
    *,
    now: datetime,
    publisher: ControlPublisher | None,
    reason: str = "assignment_changed",
    unavailable_account_ids: Collection[int] = (),
) -> AssignmentReport:
    """Assign every active subscription; publish a reload for the accounts whose set changed.

    ``unavailable_account_ids``: streamable accounts whose workers do not stream (see
    ``subscriptions.streaming_availability``); they get no instruments this run.
    """
    report = AssignmentReport()
    with transaction.atomic():
        _lock()
        slots = _healthy_slots(now, unavailable_account_ids)
        items, token_of = _items()
        result = assign_subscriptions(items, slots)

        by_new_account: dict[int | None, list[int]] = defaultdict(list)
        for subscription_id, (_old, new) in result.changes.items():
            by_new_account[new].append(subscription_id)
        for account_id, ids in by_new_account.items():
            Subscription.objects.filter(pk__in=ids).update(account_id=account_id, updated_at=now)

        stale = Subscription.objects.filter(account__isnull=False).exclude(
            status=SubscriptionStatus.ACTIVE
        )
        released_accounts = set(stale.values_list("account_id", flat=True).distinct())
        report.released = stale.update(account=None, updated_at=now)

        affected = set(result.affected_account_ids) | {a for a in released_accounts if a}
        report.active = len(items)
        report.assigned = len(result.assignments)
        report.unassigned = len(result.unassigned)
        report.unassigned_tokens = sorted(token_of[pk] for pk in result.unassigned)
        report.moved = len(result.changes)
        report.affected_account_ids = sorted(affected)
        report.load = result.load
        report.capacity = {slot.account_id: slot.capacity for slot in slots}
        if affected and publisher is not None:
            ids, ts = sorted(affected), now.timestamp()
            transaction.on_commit(
                lambda: publisher.publish_reload(account_ids=ids, reason=reason, ts=ts)
            )
    log_event = log.warning if report.unassigned else log.info
    report.unavailable_account_ids = sorted(unavailable_account_ids)
    log_event(
        "subscriptions_assigned",
        reason=reason,
        unavailable_account_ids=report.unavailable_account_ids,
        active=report.active,
        assigned=report.assigned,
        unassigned=report.unassigned,
        moved=report.moved,
        released=report.released,
        affected_account_ids=report.affected_account_ids,
        load=report.load,
    )
    return report

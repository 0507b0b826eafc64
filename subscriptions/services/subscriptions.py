"""Subscription writes: create (by token or tradingsymbol, one or many), activate, deactivate,
release from their account, delete. Each change asks for an assignment run after commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from django.db import transaction
from django.db.models import Q, QuerySet

from subscriptions.control_channel import ControlPublisher
from subscriptions.models import (
    Instrument,
    Subscription,
    SubscriptionMode,
    SubscriptionSource,
    SubscriptionStatus,
)
from subscriptions.selectors import SubscriptionFilters, subscriptions_filtered
from subscriptions.triggers import (
    assignment_request_on_commit,
    registry_changed_on_commit,
    subscriptions_changed_on_commit,
)

log = structlog.get_logger(__name__)


@dataclass
class BulkCreateReport:
    created: list[int] = field(default_factory=list)  # new subscription ids
    already_subscribed: list[int] = field(default_factory=list)  # instrument tokens
    unknown_tokens: list[int] = field(default_factory=list)
    unknown_tradingsymbols: list[str] = field(default_factory=list)
    ambiguous_tradingsymbols: list[str] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)  # instrument tokens no longer listed


def _split_symbol(raw: str) -> tuple[str, str]:
    """``"NFO:NIFTY25NOV24000CE"`` -> (NFO, symbol); a bare symbol -> ("", symbol)."""
    exchange, _, symbol = raw.strip().rpartition(":")
    return exchange.upper(), symbol.upper()


def _resolve(
    tokens: Sequence[int], tradingsymbols: Sequence[str], report: BulkCreateReport
) -> list[Instrument]:
    """Instruments for the given tokens and symbols in two queries; misses go to the report."""
    found: dict[int, Instrument] = {}
    if tokens:
        by_token = {
            i.instrument_token: i for i in Instrument.objects.filter(instrument_token__in=tokens)
        }
        report.unknown_tokens = sorted({t for t in tokens if t not in by_token})
        found.update({i.pk: i for i in by_token.values()})
    if tradingsymbols:
        wanted = [_split_symbol(raw) for raw in tradingsymbols]
        candidates = Instrument.objects.filter(
            tradingsymbol__in={symbol for _, symbol in wanted}
        ).order_by("is_expired", "exchange")
        by_symbol: dict[str, list[Instrument]] = {}
        for instrument in candidates:
            by_symbol.setdefault(instrument.tradingsymbol, []).append(instrument)
        for raw, (exchange, symbol) in zip(tradingsymbols, wanted, strict=True):
            matches = [
                i for i in by_symbol.get(symbol, []) if not exchange or i.exchange == exchange
            ]
            live = [i for i in matches if not i.is_expired] or matches
            if not live:
                report.unknown_tradingsymbols.append(raw)
            elif len(live) > 1:
                report.ambiguous_tradingsymbols.append(raw)
            else:
                found[live[0].pk] = live[0]
    return list(found.values())


def subscriptions_bulk_create(
    *,
    instrument_tokens: Sequence[int] = (),
    tradingsymbols: Sequence[str] = (),
    mode: str = SubscriptionMode.FULL,
    source: str = SubscriptionSource.MANUAL,
    now: datetime | None = None,
) -> BulkCreateReport:
    """Subscribe instruments given by token or ``[EXCHANGE:]TRADINGSYMBOL``.

    Unknown, ambiguous and expired instruments are reported back, never dropped silently;
    instruments that already have a subscription are listed and left as they are.
    """
    report = BulkCreateReport()
    with transaction.atomic():
        instruments = _resolve(instrument_tokens, tradingsymbols, report)
        report.expired = sorted(i.instrument_token for i in instruments if i.is_expired)
        live = [i for i in instruments if not i.is_expired]
        taken = set(
            Subscription.objects.filter(instrument__in=live).values_list("instrument_id", flat=True)
        )
        report.already_subscribed = sorted(i.instrument_token for i in live if i.pk in taken)
        new = [
            Subscription(instrument=i, mode=mode, source=source, status=SubscriptionStatus.ACTIVE)
            for i in live
            if i.pk not in taken
        ]
        created = Subscription.objects.bulk_create(new)
        report.created = sorted(s.pk for s in created)
        if created:
            subscriptions_changed_on_commit(reason="subscriptions_created")
    log.info(
        "subscriptions_created",
        created=len(report.created),
        already_subscribed=len(report.already_subscribed),
        unknown=len(report.unknown_tokens) + len(report.unknown_tradingsymbols),
        ambiguous=len(report.ambiguous_tradingsymbols),
        expired=len(report.expired),
        source=source,
    )
    return report


@dataclass
class StatusChangeReport:
    matched: int = 0
    changed: int = 0
    unknown_ids: list[int] = field(default_factory=list)


def _target(
    subscription_ids: Sequence[int] | None, filters: SubscriptionFilters | None
) -> QuerySet[Subscription]:
    if subscription_ids is not None:
        return Subscription.objects.filter(pk__in=subscription_ids)
    if filters is None or filters.is_empty:
        raise ValueError("give subscription ids or at least one filter (refusing to touch all)")
    return subscriptions_filtered(filters)


def subscriptions_set_status(
    *,
    status: str,
    subscription_ids: Sequence[int] | None = None,
    filters: SubscriptionFilters | None = None,
    now: datetime,
) -> StatusChangeReport:
    """Activate or deactivate by id list or by filter; ids that do not exist are reported."""
    if status not in SubscriptionStatus.values:
        raise ValueError(f"unknown status {status!r}")
    report = StatusChangeReport()
    with transaction.atomic():
        target = _target(subscription_ids, filters)
        matched_ids = list(target.values_list("pk", flat=True))
        report.matched = len(matched_ids)
        if subscription_ids is not None:
            report.unknown_ids = sorted(set(subscription_ids) - set(matched_ids))
        report.changed = (
            Subscription.objects.filter(pk__in=matched_ids)
            .filter(~Q(status=status))
            .update(status=status, updated_at=now)
        )
        if report.changed:
            subscriptions_changed_on_commit(reason=f"subscriptions_{status}")
    log.info(
        "subscriptions_status_set",
        status=status,
        matched=report.matched,
        changed=report.changed,
        unknown_ids=report.unknown_ids,
    )
    return report


def subscriptions_release(*, subscription_ids: Sequence[int], now: datetime) -> int:
    """Clear the account of the given subscriptions so the next assignment places them afresh."""
    with transaction.atomic():
        released = Subscription.objects.filter(
            pk__in=subscription_ids, account__isnull=False
        ).update(account=None, updated_at=now)
        if released:
            assignment_request_on_commit(reason="subscriptions_released")
    log.info("subscriptions_released", released=released)
    return released


def subscription_delete(
    *, subscription: Subscription, publisher: ControlPublisher | None, now: datetime
) -> None:
    """Delete one subscription; after commit its account (if any) is told to reload.

    The assignment never sees a deleted row, so the reload is published here directly.
    """
    with transaction.atomic():
        account_id, pk = subscription.account_id, subscription.pk
        subscription.delete()
        registry_changed_on_commit(reason="subscription_deleted")
        if account_id is not None and publisher is not None:
            ts = now.timestamp()
            transaction.on_commit(
                lambda: publisher.publish_reload(
                    account_ids=[account_id], reason="subscription_deleted", ts=ts
                )
            )
    log.info("subscription_deleted", subscription_id=pk, account_id=account_id)

"""Reads of instruments and subscriptions: every filter runs in the database, never in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet

from accounts.models import Account
from subscriptions.models import (
    Instrument,
    Subscription,
    SubscriptionStatus,
    Underlying,
)


@dataclass(frozen=True, slots=True)
class InstrumentFilters:
    tradingsymbol_prefix: str = ""
    name: str = ""
    expiry: date | None = None
    strike_min: float | None = None
    strike_max: float | None = None
    instrument_type: str = ""
    segment: str = ""
    exchange: str = ""
    include_expired: bool = False


def instruments_search(filters: InstrumentFilters) -> QuerySet[Instrument]:
    qs = Instrument.objects.all()
    if not filters.include_expired:
        qs = qs.filter(is_expired=False)
    if filters.tradingsymbol_prefix:
        qs = qs.filter(tradingsymbol__startswith=filters.tradingsymbol_prefix.upper())
    if filters.name:
        qs = qs.filter(name=filters.name.upper())
    if filters.expiry is not None:
        qs = qs.filter(expiry=filters.expiry)
    if filters.strike_min is not None:
        qs = qs.filter(strike__gte=filters.strike_min)
    if filters.strike_max is not None:
        qs = qs.filter(strike__lte=filters.strike_max)
    if filters.instrument_type:
        qs = qs.filter(instrument_type=filters.instrument_type.upper())
    if filters.segment:
        qs = qs.filter(segment=filters.segment.upper())
    if filters.exchange:
        qs = qs.filter(exchange=filters.exchange.upper())
    return qs


@dataclass(frozen=True, slots=True)
class SubscriptionFilters:
    status: str = ""
    account_id: int | None = None
    source: str = ""
    underlying: str = ""
    mode: str = ""
    unassigned: bool | None = None

    @property
    def is_empty(self) -> bool:
        return self == SubscriptionFilters()


def _underlying_q(name: str) -> Q:
    """Options and futures of ``name`` (Kite's ``name`` column) plus its index instrument."""
    index_tokens = Underlying.objects.filter(name=name.upper()).values("index_token")
    return Q(instrument__name=name.upper()) | Q(instrument__instrument_token__in=index_tokens)


def subscriptions_filtered(filters: SubscriptionFilters) -> QuerySet[Subscription]:
    qs = Subscription.objects.select_related("instrument", "account")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.account_id is not None:
        qs = qs.filter(account_id=filters.account_id)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.mode:
        qs = qs.filter(mode=filters.mode)
    if filters.underlying:
        qs = qs.filter(_underlying_q(filters.underlying))
    if filters.unassigned is not None:
        qs = qs.filter(account__isnull=filters.unassigned)
    return qs


def subscriptions_unassigned_active() -> QuerySet[Subscription]:
    return Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, account__isnull=True)


def underlying_index_tokens_by_name() -> dict[str, int]:
    return dict(Underlying.objects.values_list("name", "index_token"))


@dataclass(frozen=True, slots=True)
class AccountLoad:
    account_id: int
    name: str
    status: str
    capacity: int
    subscriptions: int


@dataclass(frozen=True, slots=True)
class AssignmentOverview:
    active: int
    unassigned: int
    unassigned_tokens: list[int]
    accounts: list[AccountLoad]


def assignment_overview(*, unassigned_limit: int = 1000) -> AssignmentOverview:
    """Per-account load and the unassigned active subscriptions (three queries)."""
    active_filter = Q(subscriptions__status=SubscriptionStatus.ACTIVE)
    accounts = [
        AccountLoad(a.pk, a.name, a.status, a.capacity, a.active_subscriptions)
        for a in Account.objects.annotate(
            active_subscriptions=Count("subscriptions", filter=active_filter)
        ).order_by("name")
    ]
    unassigned = subscriptions_unassigned_active()
    counts = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).aggregate(
        active=Count("pk"), unassigned=Count("pk", filter=Q(account__isnull=True))
    )
    return AssignmentOverview(
        active=counts["active"],
        unassigned=counts["unassigned"],
        unassigned_tokens=list(
            unassigned.order_by("instrument__instrument_token").values_list(
                "instrument__instrument_token", flat=True
            )[:unassigned_limit]
        ),
        accounts=accounts,
    )

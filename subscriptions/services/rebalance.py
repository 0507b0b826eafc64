"""Strike rebalancing: keep CE and PE of ATM +- levels x step for the next expiries subscribed.

Per enabled Underlying: price (Redis snapshot, else Kite), the pure chooser in
``subscriptions.strike_chooser`` decides whether to act and what the window is; this service
reads the registry and the subscriptions and applies the diff. It creates and reactivates
rebalancer-sourced subscriptions and deactivates rebalancer-sourced ones out of range; manual
subscriptions are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import structlog
from django.db import transaction

from kite_wire.instruments_csv import OPTION_TYPES
from subscriptions.market_calendar import MarketCalendar
from subscriptions.models import (
    Instrument,
    Subscription,
    SubscriptionMode,
    SubscriptionSource,
    SubscriptionStatus,
    Underlying,
)
from subscriptions.strike_chooser import (
    ExistingSubscription,
    OptionContract,
    RebalanceDiff,
    atm_strike,
    choose_window,
    diff_subscriptions,
    should_rebalance,
)
from subscriptions.triggers import subscriptions_changed_on_commit
from subscriptions.underlying_price import UnderlyingPrice, UnderlyingPriceSource

log = structlog.get_logger(__name__)


@dataclass
class UnderlyingRebalance:
    name: str
    acted: bool = False
    reason: str = ""
    price: float | None = None
    price_source: str = ""
    atm_strike: float | None = None
    strike_low: float | None = None
    strike_high: float | None = None
    expiries: list[date] = field(default_factory=list)
    wanted: int = 0
    to_create: list[str] = field(default_factory=list)  # tradingsymbols, sorted
    to_activate: list[str] = field(default_factory=list)
    to_deactivate: list[str] = field(default_factory=list)


@dataclass
class RebalanceReport:
    dry_run: bool
    skipped_reason: str = ""
    underlyings: list[UnderlyingRebalance] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return sum(
            len(u.to_create) + len(u.to_activate) + len(u.to_deactivate) for u in self.underlyings
        )


def _index_exchange_symbol(underlying: Underlying) -> str:
    row = (
        Instrument.objects.filter(instrument_token=underlying.index_token)
        .values_list("exchange", "tradingsymbol")
        .first()
    )
    exchange, symbol = row if row else ("NSE", underlying.index_tradingsymbol)
    return f"{exchange}:{symbol}"


def _symbols(tokens: frozenset[int]) -> list[str]:
    if not tokens:
        return []
    return sorted(
        Instrument.objects.filter(instrument_token__in=tokens).values_list(
            "tradingsymbol", flat=True
        )
    )


def _apply(diff: RebalanceDiff, now: datetime) -> None:
    if diff.to_create:
        instruments = Instrument.objects.filter(instrument_token__in=diff.to_create)
        Subscription.objects.bulk_create(
            [
                Subscription(
                    instrument=instrument,
                    mode=SubscriptionMode.FULL,
                    status=SubscriptionStatus.ACTIVE,
                    source=SubscriptionSource.REBALANCER,
                )
                for instrument in instruments
            ],
            ignore_conflicts=True,  # a manual subscription created meanwhile wins
        )
    rebalancer = Subscription.objects.filter(source=SubscriptionSource.REBALANCER)
    if diff.to_activate:
        rebalancer.filter(instrument__instrument_token__in=diff.to_activate).update(
            status=SubscriptionStatus.ACTIVE, updated_at=now
        )
    if diff.to_deactivate:
        rebalancer.filter(instrument__instrument_token__in=diff.to_deactivate).update(
            status=SubscriptionStatus.INACTIVE, updated_at=now
        )


def underlying_rebalance(
    *,
    underlying: Underlying,
    now: datetime,
    quote: UnderlyingPrice,
    calendar: MarketCalendar,
    dry_run: bool = False,
    force: bool = False,
) -> UnderlyingRebalance:
    """Rebalance one underlying at ``quote`` (with ``dry_run``, only say what would change)."""
    outcome = UnderlyingRebalance(name=underlying.name)
    outcome.price, outcome.price_source = quote.price, quote.source
    new_atm = atm_strike(quote.price, underlying.strike_step)
    act, outcome.reason = should_rebalance(
        new_atm=new_atm,
        last_atm=underlying.last_atm_strike,
        step=underlying.strike_step,
        move_threshold_steps=underlying.move_threshold_steps,
        last_rebalanced_at=underlying.last_rebalanced_at,
        min_interval_seconds=underlying.min_interval_seconds,
        now=now,
    )
    if not (act or force or dry_run):
        outcome.atm_strike = new_atm
        return outcome
    first_live = calendar.first_live_expiry(now)
    contracts = [
        OptionContract(token, expiry, strike, kind)
        for token, expiry, strike, kind in Instrument.objects.filter(
            expiry__isnull=False,
            name=underlying.name,
            instrument_type__in=OPTION_TYPES,
            is_expired=False,
            expiry__gte=first_live,
        ).values_list("instrument_token", "expiry", "strike", "instrument_type")
        if expiry is not None
    ]
    window, wanted = choose_window(
        contracts,
        underlying_price=quote.price,
        step=underlying.strike_step,
        levels=underlying.levels,
        expiries=underlying.expiries,
        first_live_expiry=first_live,
    )
    existing = [
        ExistingSubscription(token, source, status == SubscriptionStatus.ACTIVE)
        for token, source, status in Subscription.objects.filter(
            instrument__name=underlying.name, instrument__instrument_type__in=OPTION_TYPES
        ).values_list("instrument__instrument_token", "source", "status")
    ]
    diff = diff_subscriptions(window, wanted, existing)
    outcome.atm_strike, outcome.strike_low, outcome.strike_high = (
        window.atm_strike,
        window.low,
        window.high,
    )
    outcome.expiries = list(window.expiries)
    outcome.wanted = len(wanted)
    outcome.to_create = _symbols(diff.to_create)
    outcome.to_activate = _symbols(diff.to_activate)
    outcome.to_deactivate = _symbols(diff.to_deactivate)
    if dry_run:
        return outcome
    with transaction.atomic():
        _apply(diff, now)
        Underlying.objects.filter(pk=underlying.pk).update(
            last_atm_strike=window.atm_strike, last_rebalanced_at=now
        )
        if not diff.is_empty:
            subscriptions_changed_on_commit(reason="strikes_rebalanced")
    outcome.acted = True
    log.info(
        "underlying_rebalanced",
        underlying=underlying.name,
        price=quote.price,
        price_source=quote.source,
        atm=window.atm_strike,
        expiries=[e.isoformat() for e in window.expiries],
        created=len(diff.to_create),
        activated=len(diff.to_activate),
        deactivated=len(diff.to_deactivate),
        reason=outcome.reason,
    )
    return outcome


def underlyings_rebalance(
    *,
    now: datetime,
    prices: UnderlyingPriceSource,
    calendar: MarketCalendar,
    dry_run: bool = False,
    force: bool = False,
    only_when_market_open: bool = True,
    names: Sequence[str] = (),
) -> RebalanceReport:
    """Rebalance every enabled underlying (or those named); a no-op outside market hours."""
    report = RebalanceReport(dry_run=dry_run)
    if only_when_market_open and not calendar.is_open(now):
        report.skipped_reason = "market_closed"
        log.info("rebalance_skipped", reason="market_closed", now=now.isoformat())
        return report
    underlyings = Underlying.objects.filter(enabled=True).order_by("name")
    if names:
        underlyings = underlyings.filter(name__in=[n.upper() for n in names])
    chosen = list(underlyings)
    found, unavailable = prices.prices(
        symbols_by_token={u.index_token: _index_exchange_symbol(u) for u in chosen},
        now_epoch=now.timestamp(),
    )
    for underlying in chosen:
        quote = found.get(underlying.index_token)
        if quote is None:
            problem = unavailable.get(underlying.index_token, "no price")
            log.warning("rebalance_no_price", underlying=underlying.name, problem=problem)
            report.underlyings.append(
                UnderlyingRebalance(name=underlying.name, reason=f"no_price: {problem}")
            )
            continue
        report.underlyings.append(
            underlying_rebalance(
                underlying=underlying,
                now=now,
                quote=quote,
                calendar=calendar,
                dry_run=dry_run,
                force=force,
            )
        )
    return report

"""The rebalancer service: price from the Redis snapshot, window from the registry's expiries,
rebalancer-sourced subscriptions follow the money, manual ones are never touched."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import orjson
import pytest
import redis
from django.conf import settings

from subscriptions.market_calendar import MARKET_TZ, nse_calendar
from subscriptions.models import Subscription, SubscriptionSource, SubscriptionStatus, Underlying
from subscriptions.services.rebalance import underlyings_rebalance
from subscriptions.underlying_price import UnderlyingPriceSource
from tests.subscriptions.factories import InstrumentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

NIFTY_INDEX = 256265
# Monday 7 Dec 2026, 10:00 IST: a trading day.
OPEN_NOW = datetime(2026, 12, 7, 10, 0, tzinfo=MARKET_TZ)
EXPIRIES = [date(2026, 12, 8), date(2026, 12, 15), date(2026, 12, 22), date(2026, 12, 29)]


@pytest.fixture
def nifty_chain() -> None:
    InstrumentFactory.create(
        instrument_token=NIFTY_INDEX,
        tradingsymbol="NIFTY 50",
        name="NIFTY 50",
        exchange="NSE",
        segment="INDICES",
        instrument_type="EQ",
        strike=0.0,
        expiry=None,
    )
    InstrumentFactory.create(  # already expired by date: never chosen
        tradingsymbol="NIFTY26D0124000CE", expiry=date(2026, 12, 1), strike=24_000.0
    )
    for expiry in EXPIRIES:
        for strike in range(23_500, 24_501, 50):
            for kind in ("CE", "PE"):
                InstrumentFactory.create(
                    tradingsymbol=f"NIFTY{expiry:%y%m%d}{strike}{kind}",
                    strike=float(strike),
                    expiry=expiry,
                    instrument_type=kind,
                )
    Underlying.objects.filter(name="NIFTY").update(levels=2, expiries=3)
    Underlying.objects.filter(name="BANKNIFTY").update(enabled=False)


def snapshot(client: redis.Redis, price: float, ts: float) -> None:
    payload = {
        "symbol": "NIFTY 50",
        "token": NIFTY_INDEX,
        "price": price,
        "ts": ts,
        "is_mock": True,
    }
    client.hset(f"{settings.TICKER_CHANNEL_PREFIX}:latest", str(NIFTY_INDEX), orjson.dumps(payload))


def prices(client: redis.Redis) -> UnderlyingPriceSource:
    return UnderlyingPriceSource(
        redis=client, prefix=settings.TICKER_CHANNEL_PREFIX, kite_client=lambda: None
    )


def active_rebalancer_strikes() -> set[tuple[date | None, float]]:
    return set(
        Subscription.objects.filter(
            source=SubscriptionSource.REBALANCER, status=SubscriptionStatus.ACTIVE
        ).values_list("instrument__expiry", "instrument__strike")
    )


def test_rebalance_follows_the_money_and_spares_manual(
    nifty_chain, redis_client: redis.Redis, django_capture_on_commit_callbacks
) -> None:
    manual_far = SubscriptionFactory.create(
        instrument=InstrumentFactory._meta.model.objects.get(tradingsymbol="NIFTY26120823500CE")
    )
    snapshot(redis_client, 24_012.0, OPEN_NOW.timestamp() - 1)
    with django_capture_on_commit_callbacks() as callbacks:
        report = underlyings_rebalance(
            now=OPEN_NOW, prices=prices(redis_client), calendar=nse_calendar()
        )
    (nifty,) = report.underlyings
    assert nifty.acted and nifty.price_source == "redis" and nifty.atm_strike == 24_000
    assert nifty.expiries == EXPIRIES[:3]
    assert len(nifty.to_create) == 5 * 2 * 3
    assert len(callbacks) == 2  # after commit: the assignment, and a new registry version
    assert {s for _, s in active_rebalancer_strikes()} == {23_900, 23_950, 24_000, 24_050, 24_100}
    underlying = Underlying.objects.get(name="NIFTY")
    assert underlying.last_atm_strike == 24_000 and underlying.last_rebalanced_at == OPEN_NOW

    # Within the threshold and the interval: nothing happens.
    later = OPEN_NOW + timedelta(seconds=30)
    snapshot(redis_client, 24_020.0, later.timestamp())
    quiet = underlyings_rebalance(now=later, prices=prices(redis_client), calendar=nse_calendar())
    assert not quiet.underlyings[0].acted and quiet.underlyings[0].reason == "within_threshold"

    # Two steps up: the window slides; the low strikes go off, the manual one stays on.
    moved_at = OPEN_NOW + timedelta(seconds=60)
    snapshot(redis_client, 24_101.0, moved_at.timestamp())
    moved = underlyings_rebalance(
        now=moved_at, prices=prices(redis_client), calendar=nse_calendar()
    )
    outcome = moved.underlyings[0]
    assert outcome.acted and outcome.atm_strike == 24_100
    assert len(outcome.to_deactivate) == 2 * 2 * 3 and len(outcome.to_create) == 2 * 2 * 3
    assert {s for _, s in active_rebalancer_strikes()} == {24_000, 24_050, 24_100, 24_150, 24_200}
    manual_far.refresh_from_db()
    assert manual_far.status == SubscriptionStatus.ACTIVE
    assert manual_far.source == SubscriptionSource.MANUAL

    # Back down: the inactive rebalancer rows are reactivated, not duplicated.
    back_at = OPEN_NOW + timedelta(seconds=120)
    snapshot(redis_client, 24_000.0, back_at.timestamp())
    back = underlyings_rebalance(now=back_at, prices=prices(redis_client), calendar=nse_calendar())
    assert len(back.underlyings[0].to_activate) == 2 * 2 * 3
    assert not back.underlyings[0].to_create


def test_dry_run_changes_nothing_and_market_closed_is_a_noop(
    nifty_chain, redis_client: redis.Redis
) -> None:
    snapshot(redis_client, 24_000.0, OPEN_NOW.timestamp())
    dry = underlyings_rebalance(
        now=OPEN_NOW, prices=prices(redis_client), calendar=nse_calendar(), dry_run=True
    )
    assert len(dry.underlyings[0].to_create) == 30 and dry.changes == 30
    assert not Subscription.objects.exists()
    assert Underlying.objects.get(name="NIFTY").last_rebalanced_at is None
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=MARKET_TZ)
    closed = underlyings_rebalance(
        now=saturday, prices=prices(redis_client), calendar=nse_calendar()
    )
    assert closed.skipped_reason == "market_closed" and closed.underlyings == []


def test_stale_snapshot_without_kite_is_reported_not_guessed(
    nifty_chain, redis_client: redis.Redis
) -> None:
    snapshot(redis_client, 24_000.0, time.time() - 3600 * 24 * 400)
    report = underlyings_rebalance(
        now=OPEN_NOW, prices=prices(redis_client), calendar=nse_calendar()
    )
    assert report.underlyings[0].reason.startswith("no_price")
    assert not Subscription.objects.exists()

"""The rebalancer's pure core, with plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from subscriptions.strike_chooser import (
    ExistingSubscription,
    OptionContract,
    atm_strike,
    choose_window,
    diff_subscriptions,
    should_rebalance,
)

NOW = datetime(2025, 12, 1, 5, 0, tzinfo=UTC)
EXPIRIES = [date(2025, 12, 2), date(2025, 12, 9), date(2025, 12, 16), date(2025, 12, 30)]


def chain(strikes: range) -> list[OptionContract]:
    out: list[OptionContract] = []
    token = 1
    for expiry in EXPIRIES:
        for strike in strikes:
            for kind in ("CE", "PE"):
                out.append(OptionContract(token, expiry, float(strike), kind))
                token += 1
    return out


def test_atm_strike_rounds_to_the_grid() -> None:
    assert atm_strike(24_024.9, 50) == 24_000
    assert atm_strike(24_025.0, 50) == 24_050
    assert atm_strike(52_049, 100) == 52_000
    with pytest.raises(ValueError, match="strike grid"):
        atm_strike(0.0, 50)


def test_window_takes_ce_and_pe_of_each_strike_for_next_expiries() -> None:
    contracts = chain(range(23_000, 25_001, 50))
    window, wanted = choose_window(
        contracts,
        underlying_price=24_010,
        step=50,
        levels=2,
        expiries=3,
        first_live_expiry=date(2025, 12, 2),
    )
    assert window.atm_strike == 24_000
    assert (window.low, window.high) == (23_900, 24_100)
    assert window.expiries == tuple(EXPIRIES[:3])
    assert len(wanted) == 5 * 2 * 3  # strikes x (CE, PE) x expiries
    chosen = [c for c in contracts if c.instrument_token in wanted]
    assert {c.strike for c in chosen} == {23_900, 23_950, 24_000, 24_050, 24_100}


def test_expired_dates_are_skipped_from_the_registry_not_a_weekday_rule() -> None:
    contracts = chain(range(23_900, 24_101, 50))
    window, _ = choose_window(
        contracts,
        underlying_price=24_000,
        step=50,
        levels=1,
        expiries=2,
        first_live_expiry=date(2025, 12, 3),
    )
    assert window.expiries == (date(2025, 12, 9), date(2025, 12, 16))


def test_diff_never_touches_manual_subscriptions() -> None:
    contracts = chain(range(23_900, 24_101, 50))
    window, wanted = choose_window(
        contracts,
        underlying_price=24_000,
        step=50,
        levels=1,
        expiries=1,
        first_live_expiry=date(2025, 12, 2),
    )
    inside = sorted(wanted)
    outside_tokens = [c.instrument_token for c in contracts if c.instrument_token not in wanted]
    existing = [
        ExistingSubscription(inside[0], "manual", active=False),  # manual, in range, off: kept off
        ExistingSubscription(inside[1], "rebalancer", active=False),  # reactivated
        ExistingSubscription(inside[2], "rebalancer", active=True),  # kept
        ExistingSubscription(outside_tokens[0], "rebalancer", active=True),  # out: deactivated
        ExistingSubscription(outside_tokens[1], "manual", active=True),  # out but manual: kept
    ]
    diff = diff_subscriptions(window, wanted, existing)
    assert diff.to_activate == {inside[1]}
    assert diff.to_deactivate == {outside_tokens[0]}
    assert diff.to_create == set(inside[3:])
    assert not diff.is_empty


@pytest.mark.parametrize(
    ("new_atm", "last_atm", "last_at", "expected"),
    [
        (24_000, None, None, True),
        (24_050, 24_000, NOW - timedelta(seconds=10), True),  # moved 1 step
        (24_000, 24_000, NOW - timedelta(seconds=10), False),  # unchanged, recent
        (24_000, 24_000, NOW - timedelta(seconds=301), True),  # interval passed
    ],
)
def test_should_rebalance(
    new_atm: float, last_atm: float | None, last_at: datetime | None, expected: bool
) -> None:
    act, reason = should_rebalance(
        new_atm=new_atm,
        last_atm=last_atm,
        step=50,
        move_threshold_steps=1,
        last_rebalanced_at=last_at,
        min_interval_seconds=300,
        now=NOW,
    )
    assert act is expected, reason

"""The strike rebalancer's pure core: when to act, and which options to hold around the money.

Plain values in, plain values out (no ORM, no Redis, no clock); the service
``subscriptions.services.rebalance`` feeds it the registry and the subscriptions and applies
the diff. Expiry dates come from the registry's listed contracts, never from a weekday rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kite_wire.instruments_csv import OPTION_TYPES


@dataclass(frozen=True, slots=True)
class OptionContract:
    """A listed option of one underlying (from the instrument registry)."""

    instrument_token: int
    expiry: date
    strike: float
    instrument_type: str  # CE or PE


@dataclass(frozen=True, slots=True)
class ExistingSubscription:
    instrument_token: int
    source: str  # manual | rebalancer
    active: bool


@dataclass(frozen=True, slots=True)
class StrikeWindow:
    atm_strike: float
    low: float
    high: float
    expiries: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class RebalanceDiff:
    window: StrikeWindow
    wanted: frozenset[int]
    # tokens with no subscription at all: create as source=rebalancer
    to_create: frozenset[int]
    # rebalancer-sourced but inactive, now in range: activate
    to_activate: frozenset[int]
    # rebalancer-sourced, active, out of range: deactivate (manual ones are never touched)
    to_deactivate: frozenset[int]

    @property
    def is_empty(self) -> bool:
        return not (self.to_create or self.to_activate or self.to_deactivate)


def atm_strike(price: float, step: float) -> float:
    """The strike nearest ``price`` on a grid of ``step`` (halves round up)."""
    if not (math.isfinite(price) and price > 0 and step > 0):
        raise ValueError(f"cannot place price {price!r} on a strike grid of step {step!r}")
    return math.floor(price / step + 0.5) * step


def should_rebalance(
    *,
    new_atm: float,
    last_atm: float | None,
    step: float,
    move_threshold_steps: int,
    last_rebalanced_at: datetime | None,
    min_interval_seconds: int,
    now: datetime,
) -> tuple[bool, str]:
    """Act when never run, when ATM moved at least the threshold, or the interval passed."""
    if last_atm is None or last_rebalanced_at is None:
        return True, "first_run"
    moved_steps = abs(new_atm - last_atm) / step
    if moved_steps + 1e-9 >= max(move_threshold_steps, 1):
        return True, f"atm_moved_{moved_steps:g}_steps"
    if now - last_rebalanced_at >= timedelta(seconds=min_interval_seconds):
        return True, "interval_passed"
    return False, "within_threshold"


def choose_window(
    contracts: Iterable[OptionContract],
    *,
    underlying_price: float,
    step: float,
    levels: int,
    expiries: int,
    first_live_expiry: date,
) -> tuple[StrikeWindow, frozenset[int]]:
    """CE and PE of every listed strike within ATM +- levels x step, for the next expiries."""
    atm = atm_strike(underlying_price, step)
    low, high = atm - levels * step, atm + levels * step
    live = [c for c in contracts if c.expiry >= first_live_expiry]
    chosen_expiries = tuple(sorted({c.expiry for c in live})[:expiries])
    expiry_set = set(chosen_expiries)
    tolerance = step * 1e-6
    wanted = frozenset(
        c.instrument_token
        for c in live
        if c.expiry in expiry_set
        and c.instrument_type in OPTION_TYPES
        and low - tolerance <= c.strike <= high + tolerance
    )
    return StrikeWindow(atm, low, high, chosen_expiries), wanted


def diff_subscriptions(
    window: StrikeWindow,
    wanted: frozenset[int],
    existing: Iterable[ExistingSubscription],
) -> RebalanceDiff:
    """What to create, activate and deactivate so rebalancer subscriptions equal ``wanted``.

    ``existing`` is every subscription on this underlying's options. Manual subscriptions are
    left alone whatever their state: in range they already cover the strike, out of range
    they are the operator's.
    """
    by_token = {sub.instrument_token: sub for sub in existing}
    to_create = frozenset(token for token in wanted if token not in by_token)
    to_activate = frozenset(
        token
        for token in wanted
        if (sub := by_token.get(token)) is not None
        and sub.source == "rebalancer"
        and not sub.active
    )
    to_deactivate = frozenset(
        sub.instrument_token
        for sub in by_token.values()
        if sub.source == "rebalancer" and sub.active and sub.instrument_token not in wanted
    )
    return RebalanceDiff(window, wanted, to_create, to_activate, to_deactivate)

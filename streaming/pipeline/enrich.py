"""Implied volatility and Greeks for a batch of option ticks: one vectorised engine call (pure).

Spot-based Black-Scholes-Merton as the old service priced them: the option's last price, the
latest price of its underlying index, time to 15:30 IST on the expiry date, the configured rate
and dividend yield. An option that cannot be priced keeps its price and gets ``iv`` NaN
(published as null) with a reason; ``no_underlying_price`` when its index has not ticked yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from greeks.engine import (
    GreeksDefaults,
    IVReason,
    calendar_years_to_expiry,
    implied_volatility_and_greeks,
    times_to_expiry_years,
)

NO_UNDERLYING_PRICE: Final = "no_underlying_price"
_LABELS: Final = tuple(None if r == IVReason.OK else r.label for r in IVReason)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class OptionPricing:
    """Per option: IV (decimal) and Greeks in the contract's units, NaN where not priced."""

    iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray
    iv_error: list[str | None]


def years_to_expiry(
    *,
    now_epoch: FloatArray,
    expiry_epoch: FloatArray,
    expiry_day: npt.NDArray[np.datetime64],
    basis: str,
    holidays: Iterable[date] = (),
) -> FloatArray:
    """Years from each tick's time to its expiry (15:30 IST), 0 after it.

    The calendar basis is the same minutes/(365*1440) as ``greeks.expiry_time``, computed per
    tick from epoch seconds; the trading basis asks the engine once for the batch's latest time.
    """
    if basis == "calendar":
        return calendar_years_to_expiry(now_epoch, expiry_epoch)
    latest = float(now_epoch.max()) if now_epoch.size else 0.0
    return times_to_expiry_years(
        datetime.fromtimestamp(latest, UTC), expiry_day, basis="trading", holidays=holidays
    )


def price_options(
    *,
    price: FloatArray,
    spot: FloatArray,
    strike: FloatArray,
    is_call: npt.NDArray[np.bool_],
    t_years: FloatArray,
    config: GreeksDefaults,
) -> OptionPricing:
    """One IV solve and one Greeks evaluation for the whole batch."""
    solved, greeks = implied_volatility_and_greeks(
        price=price, spot=spot, strike=strike, is_call=is_call, t_years=t_years, defaults=config
    )
    labels = [_LABELS[code] for code in solved.reason.tolist()]
    missing_spot = np.flatnonzero(~np.isfinite(spot))
    for index in missing_spot.tolist():
        labels[index] = NO_UNDERLYING_PRICE
    return OptionPricing(
        iv=solved.iv,
        delta=greeks.delta,
        gamma=greeks.gamma,
        theta=greeks.theta,
        vega=greeks.vega,
        rho=greeks.rho,
        iv_error=labels,
    )

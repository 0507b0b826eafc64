"""Vectorized Black-Scholes-Merton and Black-76: prices, implied volatility and Greeks.

A pure numerical core: numpy arrays in, numpy arrays out; no Django, no I/O, no clock.
Every argument is keyword-only and is a scalar or an array; all of them broadcast together.
Rates, volatilities and dividend yields are annualised decimals (0.10 = 10 %), time is in
years (see ``greeks.expiry_time``). Results are float64 arrays (0-d for all-scalar input).

Both models are computed as Black-76 on a forward: BSM uses the forward
``spot * exp((rate - dividend_yield) * t)`` and the discount factor ``exp(-rate * t)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from greeks._inputs import BoolArray, FloatArray, as_flags, as_float, invalid_inputs
from greeks._iv_solver import solve_total_volatility
from greeks._normal_cdf import ndtr
from greeks.expiry_time import (
    calendar_years_to_expiry,
    expiry_close_epoch,
    time_to_expiry_years,
    times_to_expiry_years,
    years_to_expiry_at,
)
from greeks.option_greeks import GREEK_NAMES, Greeks, black76_greeks, bsm_greeks

__all__ = [
    "GREEK_NAMES",
    "Greeks",
    "GreeksDefaults",
    "IVReason",
    "IVResult",
    "black76_greeks",
    "black76_implied_volatility",
    "black76_price",
    "bsm_greeks",
    "bsm_implied_volatility",
    "bsm_price",
    "calendar_years_to_expiry",
    "expiry_close_epoch",
    "time_to_expiry_years",
    "times_to_expiry_years",
    "years_to_expiry_at",
]


@dataclass(frozen=True)
class GreeksDefaults:
    """The market defaults callers pass in (the engine itself has none).

    ``rate`` 0.10 is what NSE's option chain and the old service use for IV; a caller that
    wants the T-bill yield passes it here.
    """

    rate: float = 0.10
    dividend_yield: float = 0.0
    basis: Literal["calendar", "trading"] = "calendar"
    # Exchange holidays, which the "trading" basis skips (the calendar basis ignores them).
    holidays: frozenset[date] = frozenset()


def _undiscounted_black(
    forward: FloatArray, strike: FloatArray, std_dev: FloatArray, is_call: BoolArray
) -> FloatArray:
    """Undiscounted Black price for total volatility ``std_dev = sigma * sqrt(t)``.

    ``std_dev == 0`` gives the forward intrinsic value. Inputs must be valid (caller masks).
    """
    sign = np.where(is_call, 1.0, -1.0)
    positive = std_dev > 0.0
    # A zero std_dev would divide by zero; it is replaced here and handled by the where below.
    safe_std = np.where(positive, std_dev, 1.0)
    d1 = np.log(forward / strike) / safe_std + 0.5 * safe_std
    d2 = d1 - safe_std
    value = sign * (forward * ndtr(sign * d1) - strike * ndtr(sign * d2))
    intrinsic = np.maximum(sign * (forward - strike), 0.0)
    # Far out of the money the two terms cancel to a tiny negative number; a price is never < 0.
    return np.where(positive, np.maximum(value, 0.0), intrinsic)


def _price_on_forward(
    *,
    forward: FloatArray,
    strike: FloatArray,
    t_years: FloatArray,
    discount: FloatArray,
    sigma: FloatArray,
    is_call: BoolArray,
    expired_underlying: FloatArray,
    bad: BoolArray,
) -> FloatArray:
    """Discounted Black price; intrinsic on ``expired_underlying`` once ``t <= 0``; NaN if bad."""
    expired = t_years <= 0.0
    std_dev = sigma * np.sqrt(np.where(expired, 0.0, t_years))
    live = discount * _undiscounted_black(forward, strike, std_dev, is_call)
    sign = np.where(is_call, 1.0, -1.0)
    at_expiry = np.maximum(sign * (expired_underlying - strike), 0.0)
    price = np.where(expired, at_expiry, live)
    return np.where(bad, np.nan, price)


def bsm_price(
    *,
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    dividend_yield: ArrayLike = 0.0,
) -> FloatArray:
    """Black-Scholes-Merton price of a European option on a spot with a continuous yield.

    After expiry (``t_years <= 0``) the price is the intrinsic value on the spot. Elements
    with a non-finite input, ``spot <= 0``, ``strike <= 0`` or ``sigma < 0`` are NaN.
    """
    s, k, t, r, v, q = np.broadcast_arrays(
        as_float(spot),
        as_float(strike),
        as_float(t_years),
        as_float(rate),
        as_float(sigma),
        as_float(dividend_yield),
    )
    flags = np.broadcast_to(as_flags(is_call), s.shape)
    with np.errstate(all="ignore"):
        bad = invalid_inputs(s, k, t, r, v, q) | (v < 0.0)
        live_t = np.maximum(t, 0.0)
        forward = s * np.exp((r - q) * live_t)
        discount = np.exp(-r * live_t)
        return _price_on_forward(
            forward=forward,
            strike=k,
            t_years=t,
            discount=discount,
            sigma=v,
            is_call=flags,
            expired_underlying=s,
            bad=bad,
        )


def black76_price(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black-76 price of a European option on a forward, premium discounted at ``rate``.

    After expiry the price is the intrinsic value on the forward (which equals spot then).
    Elements with a non-finite input, ``forward <= 0``, ``strike <= 0`` or ``sigma < 0`` are NaN.
    """
    f, k, t, r, v = np.broadcast_arrays(
        as_float(forward), as_float(strike), as_float(t_years), as_float(rate), as_float(sigma)
    )
    flags = np.broadcast_to(as_flags(is_call), f.shape)
    with np.errstate(all="ignore"):
        bad = invalid_inputs(f, k, t, r, v) | (v < 0.0)
        discount = np.exp(-r * np.maximum(t, 0.0))
        return _price_on_forward(
            forward=f,
            strike=k,
            t_years=t,
            discount=discount,
            sigma=v,
            is_call=flags,
            expired_underlying=f,
            bad=bad,
        )


# --------------------------------------------------------------------------------------------
# Implied volatility
# --------------------------------------------------------------------------------------------


class IVReason(enum.IntEnum):
    """Why an implied volatility is (or is not) there; one code per element, stored as uint8.

    Codes are checked in this order, so an element carries the first that applies.
    """

    OK = 0
    NON_FINITE = 1  # an input is NaN or infinite
    NON_POSITIVE_INPUT = 2  # price, spot/forward or strike <= 0
    EXPIRED = 3  # t_years <= 0: no time left, no volatility
    BELOW_INTRINSIC = 4  # below the no-arbitrage floor: discounted forward intrinsic value
    ABOVE_MAX = 5  # at or above the no-arbitrage cap: discounted forward (call), strike (put)
    NO_TIME_VALUE = 6  # time value below 1e-12 of sqrt(F*K): carries no volatility in float64
    NOT_CONVERGED = 7  # the solver's iteration cap was reached (not seen in practice)

    @property
    def label(self) -> str:
        """Name for publishing, e.g. ``"below_intrinsic"``."""
        return self.name.lower()


_REASON_LABELS = np.array([reason.label for reason in IVReason], dtype=object)
# Normalised time value below which float64 prices (and parity differences) hold no sigma.
_MIN_NORMALISED_TIME_VALUE = 1e-12


@dataclass(frozen=True)
class IVResult:
    """Implied volatilities (annualised decimals, NaN where none) and a reason code each."""

    iv: FloatArray
    reason: NDArray[np.uint8]

    @property
    def ok(self) -> BoolArray:
        return np.asarray(self.reason == IVReason.OK)

    def reason_labels(self) -> NDArray[np.object_]:
        """Reason names per element (``"ok"``, ``"below_intrinsic"``, ...) for publishing."""
        labels: NDArray[np.object_] = _REASON_LABELS[self.reason]
        return labels


def _first_reason(
    shape: tuple[int, ...], conditions: list[tuple[BoolArray, IVReason]]
) -> NDArray[np.uint8]:
    """Per element the code of the first condition it meets (``conditions`` in check order),
    ``IVReason.OK`` where none: written in reverse, so an earlier condition overwrites a later.

    Codes reach numpy as plain ints: numpy probes an ``IVReason`` member for array interfaces
    through the enum's attribute lookup on every use, which dominated the live worker's small
    batches.
    """
    reason = np.zeros(shape, dtype=np.uint8)
    for condition, code in reversed(conditions):
        np.copyto(reason, np.uint8(int(code)), where=condition)
    return reason


def _flat(value: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    if value.shape == shape:
        return value.reshape(-1)
    return np.broadcast_to(value, shape).reshape(-1)


def _implied_volatility_on_forward(
    *,
    price: FloatArray,
    forward: FloatArray,
    strike: FloatArray,
    t_years: FloatArray,
    discount: FloatArray,
    is_call: BoolArray,
    inputs_finite: BoolArray,
) -> IVResult:
    shape = np.broadcast_shapes(
        price.shape, forward.shape, strike.shape, t_years.shape, discount.shape, is_call.shape
    )
    undiscounted = price / discount
    # Put-call parity on the forward: the out-of-the-money equivalent's (undiscounted) price.
    forward_minus_strike = forward - strike
    intrinsic = np.where(is_call, forward_minus_strike, -forward_minus_strike)
    np.maximum(intrinsic, 0.0, out=intrinsic)
    time_value = undiscounted - intrinsic
    beta = time_value / np.sqrt(forward * strike)
    reason = _first_reason(
        shape,
        [
            (~inputs_finite, IVReason.NON_FINITE),
            ((price <= 0.0) | (forward <= 0.0) | (strike <= 0.0), IVReason.NON_POSITIVE_INPUT),
            (t_years <= 0.0, IVReason.EXPIRED),
            (time_value < 0.0, IVReason.BELOW_INTRINSIC),
            (undiscounted >= np.where(is_call, forward, strike), IVReason.ABOVE_MAX),
            (beta < _MIN_NORMALISED_TIME_VALUE, IVReason.NO_TIME_VALUE),
        ],
    )
    x = -np.abs(np.log(forward / strike))

    iv = np.full(shape, np.nan)
    flat_reason = reason.reshape(-1)
    solvable = flat_reason == int(IVReason.OK)
    flat_x, flat_beta, flat_t = _flat(x, shape), _flat(beta, shape), _flat(t_years, shape)
    if solvable.all():  # the common batch: no gathers needed
        total_vol, converged = solve_total_volatility(flat_x, flat_beta)
        iv.reshape(-1)[:] = total_vol / np.sqrt(flat_t)
        if not converged.all():
            flat_reason[~converged] = int(IVReason.NOT_CONVERGED)
    else:
        index = np.flatnonzero(solvable)
        total_vol, converged = solve_total_volatility(flat_x[index], flat_beta[index])
        iv.reshape(-1)[index] = total_vol / np.sqrt(flat_t[index])
        flat_reason[index[~converged]] = int(IVReason.NOT_CONVERGED)
    return IVResult(iv=iv, reason=reason)


def bsm_implied_volatility(
    *,
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    is_call: ArrayLike,
    dividend_yield: ArrayLike = 0.0,
) -> IVResult:
    """Implied volatility of Black-Scholes-Merton prices (see ``IVResult``, ``IVReason``).

    Solved on the out-of-the-money side through put-call parity, so a call and a put at the
    same strike and consistent prices give the same volatility. Never raises for a bad element.
    """
    p, s, k, t, r, q = (as_float(v) for v in (price, spot, strike, t_years, rate, dividend_yield))
    flags = as_flags(is_call)
    with np.errstate(all="ignore"):
        live_t = np.maximum(t, 0.0)
        forward = s * np.exp((r - q) * live_t)
        discount = np.exp(-r * live_t)
        finite = (
            np.isfinite(p) & np.isfinite(s) & np.isfinite(k) & np.isfinite(t)
            & np.isfinite(r) & np.isfinite(q) & np.isfinite(forward) & np.isfinite(discount)
        )  # fmt: skip
        return _implied_volatility_on_forward(
            price=p,
            forward=forward,
            strike=k,
            t_years=t,
            discount=discount,
            is_call=flags,
            inputs_finite=finite,
        )


def black76_implied_volatility(
    *,
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    is_call: ArrayLike,
) -> IVResult:
    """Implied volatility of Black-76 prices on a forward (see ``bsm_implied_volatility``)."""
    p, f, k, t, r = (as_float(v) for v in (price, forward, strike, t_years, rate))
    flags = as_flags(is_call)
    with np.errstate(all="ignore"):
        discount = np.exp(-r * np.maximum(t, 0.0))
        finite = (
            np.isfinite(p) & np.isfinite(f) & np.isfinite(k) & np.isfinite(t)
            & np.isfinite(r) & np.isfinite(discount)
        )  # fmt: skip
        return _implied_volatility_on_forward(
            price=p,
            forward=f,
            strike=k,
            t_years=t,
            discount=discount,
            is_call=flags,
            inputs_finite=finite,
        )


def implied_volatility_and_greeks(
    *,
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    is_call: ArrayLike,
    t_years: ArrayLike,
    defaults: GreeksDefaults,
) -> tuple[IVResult, Greeks]:
    """IV from each option's price, then its Greeks at that IV, with the caller's defaults.

    The one pricing call that live ticks (streaming.pipeline.enrich) and historical candles
    (greeks.history.pricing) share.
    """
    solved = bsm_implied_volatility(
        price=price, spot=spot, strike=strike, t_years=t_years, rate=defaults.rate,
        is_call=is_call, dividend_yield=defaults.dividend_yield,
    )  # fmt: skip
    greeks = bsm_greeks(
        spot=spot, strike=strike, t_years=t_years, rate=defaults.rate, sigma=solved.iv,
        is_call=is_call, dividend_yield=defaults.dividend_yield,
    )  # fmt: skip
    return solved, greeks

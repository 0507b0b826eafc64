"""Vectorized Black-Scholes-Merton and Black-76: prices, implied volatility and Greeks.

A pure numerical core: numpy arrays in, numpy arrays out; no Django, no I/O, no clock.
Every argument is keyword-only and is a scalar or an array; all of them broadcast together.
Rates, volatilities and dividend yields are annualised decimals (0.10 = 10 %), time is in
years (see ``greeks.expiry_time``). Results are float64 arrays (0-d for all-scalar input).

Both models are computed as Black-76 on a forward: BSM uses the forward
``spot * exp((rate - dividend_yield) * t)`` and the discount factor ``exp(-rate * t)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _as_flags(is_call: ArrayLike) -> BoolArray:
    """Option type as booleans; strings such as "CE" are refused rather than guessed."""
    flags = np.asarray(is_call)
    if flags.dtype.kind not in "biu":
        raise TypeError(f"is_call must be boolean (True for calls), got dtype {flags.dtype}")
    return flags.astype(bool, copy=False)


def _as_float(value: ArrayLike) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


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


def _invalid_inputs(underlying: FloatArray, strike: FloatArray, *others: FloatArray) -> BoolArray:
    bad = ~(np.isfinite(underlying) & np.isfinite(strike)) | (underlying <= 0.0) | (strike <= 0.0)
    for value in others:
        bad |= ~np.isfinite(value)
    return bad


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
        _as_float(spot),
        _as_float(strike),
        _as_float(t_years),
        _as_float(rate),
        _as_float(sigma),
        _as_float(dividend_yield),
    )
    flags = np.broadcast_to(_as_flags(is_call), s.shape)
    with np.errstate(all="ignore"):
        bad = _invalid_inputs(s, k, t, r, v, q) | (v < 0.0)
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
        _as_float(forward), _as_float(strike), _as_float(t_years), _as_float(rate), _as_float(sigma)
    )
    flags = np.broadcast_to(_as_flags(is_call), f.shape)
    with np.errstate(all="ignore"):
        bad = _invalid_inputs(f, k, t, r, v) | (v < 0.0)
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

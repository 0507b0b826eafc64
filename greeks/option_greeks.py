"""Option Greeks in the published units, vectorized (Black-Scholes-Merton and Black-76).

Units are the old service's contract (and mibian's): delta and gamma raw, theta per calendar
day, vega per vol point, rho per 1 % of rate. Re-exported by ``greeks.engine``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from greeks._inputs import BoolArray, FloatArray, as_flags, as_float, invalid_inputs
from greeks._normal_cdf import ndtr

GREEK_NAMES = ("delta", "gamma", "theta", "vega", "rho")
_DAYS_PER_YEAR = 365.0  # theta per calendar day, as the old service (and mibian) published
_PER_POINT = 0.01  # vega per vol point, rho per 1 % of rate
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Greeks(Mapping[str, FloatArray]):
    """Greeks in the published units; attributes and mapping keys (``g.delta``, ``g["delta"]``).

    delta and gamma per unit of the underlying (spot for BSM, forward for Black-76), theta per
    calendar day, vega per vol point, rho per 1 % of rate. ``expired`` marks elements past
    expiry (``t_years <= 0``), which carry the intrinsic limits: delta 0 or +-1, the rest 0.
    The mapping holds the five Greeks only, so ``dict(g)`` is what is published.
    """

    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray
    expired: BoolArray

    def __getitem__(self, key: str) -> FloatArray:
        if key not in GREEK_NAMES:
            raise KeyError(key)
        value: FloatArray = getattr(self, key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(GREEK_NAMES)

    def __len__(self) -> int:
        return len(GREEK_NAMES)


def _finish_greeks(
    *,
    delta: FloatArray,
    gamma: FloatArray,
    theta_per_year: FloatArray,
    vega_per_unit: FloatArray,
    rho_per_unit: FloatArray,
    underlying: FloatArray,
    strike: FloatArray,
    is_call: BoolArray,
    expired: BoolArray,
    bad: BoolArray,
) -> Greeks:
    """Convert to the published units, put in the expiry limits and NaN the bad elements."""
    shapes = {
        delta.shape, gamma.shape, theta_per_year.shape, vega_per_unit.shape, rho_per_unit.shape,
        underlying.shape, strike.shape, bad.shape, expired.shape,
    }  # fmt: skip
    if len(shapes) == 1 and not expired.any() and not bad.any():
        # The live worker's batch: nothing to replace, so only the unit conversions (the
        # where() calls below would each copy an array for nothing).
        return Greeks(
            expired=expired,
            delta=delta,
            gamma=gamma,
            theta=theta_per_year / _DAYS_PER_YEAR,
            vega=vega_per_unit * _PER_POINT,
            rho=rho_per_unit * _PER_POINT,
        )
    shape = np.broadcast_shapes(*shapes)
    bad = np.broadcast_to(bad, shape)
    expired = np.broadcast_to(expired, shape)
    at_expiry_delta = np.where(
        is_call, (underlying > strike).astype(float), -(underlying < strike).astype(float)
    )
    values = {
        "delta": np.where(expired, at_expiry_delta, delta),
        "gamma": np.where(expired, 0.0, gamma),
        "theta": np.where(expired, 0.0, theta_per_year / _DAYS_PER_YEAR),
        "vega": np.where(expired, 0.0, vega_per_unit * _PER_POINT),
        "rho": np.where(expired, 0.0, rho_per_unit * _PER_POINT),
    }
    published = {name: np.where(bad, np.nan, value) for name, value in values.items()}
    return Greeks(expired=expired & ~bad, **published)


def _black_terms(
    forward: FloatArray, strike: FloatArray, std_dev: FloatArray, sign: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``N(sign*d1)``, ``N(sign*d2)`` and the normal density at ``d1``."""
    d1 = np.log(forward / strike) / std_dev + 0.5 * std_dev
    d2 = d1 - std_dev
    pdf_d1 = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    # One ndtr call for both (its fixed cost dominates the live worker's small batches).
    above, below = sign * d1, sign * d2
    both = ndtr(np.concatenate((above.ravel(), below.ravel())))
    return both[: above.size].reshape(above.shape), both[above.size :].reshape(below.shape), pdf_d1


def bsm_greeks(
    *,
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    dividend_yield: ArrayLike = 0.0,
) -> Greeks:
    """Black-Scholes-Merton Greeks (see ``Greeks`` for units; delta and gamma on the spot).

    NaN where an input is non-finite, ``spot``/``strike <= 0`` or ``sigma <= 0`` — except past
    expiry, where sigma is not needed (a failed IV still gets the expiry limits).
    """
    s, k, t, r, v, q = (as_float(a) for a in (spot, strike, t_years, rate, sigma, dividend_yield))
    flags = as_flags(is_call)
    with np.errstate(all="ignore"):
        expired = t <= 0.0
        bad = invalid_inputs(s, k, t, r, q) | (~expired & ~(v > 0.0))
        live_t = np.where(expired, 1.0, t)  # placeholders; expired elements are replaced
        sqrt_t = np.sqrt(live_t)
        std_dev = v * sqrt_t
        discount = np.exp(-r * live_t)
        yield_discount = np.exp(-q * live_t)
        sign = np.where(flags, 1.0, -1.0)
        n_d1, n_d2, pdf_d1 = _black_terms(s * yield_discount / discount, k, std_dev, sign)
        spot_term = s * yield_discount
        strike_term = k * discount * n_d2
        vega_per_unit = spot_term * pdf_d1 * sqrt_t
        theta = -vega_per_unit * v / (2.0 * live_t) + sign * (
            q * spot_term * n_d1 - r * strike_term
        )
        return _finish_greeks(
            delta=sign * yield_discount * n_d1,
            gamma=yield_discount * pdf_d1 / (s * std_dev),
            theta_per_year=theta,
            vega_per_unit=vega_per_unit,
            rho_per_unit=sign * strike_term * live_t,
            underlying=s,
            strike=k,
            is_call=flags,
            expired=expired,
            bad=bad,
        )


def black76_greeks(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-76 Greeks (see ``Greeks``); delta and gamma on the forward, rho at a fixed forward.

    NaN rules as ``bsm_greeks``.
    """
    f, k, t, r, v = (as_float(a) for a in (forward, strike, t_years, rate, sigma))
    flags = as_flags(is_call)
    with np.errstate(all="ignore"):
        expired = t <= 0.0
        bad = invalid_inputs(f, k, t, r) | (~expired & ~(v > 0.0))
        live_t = np.where(expired, 1.0, t)
        sqrt_t = np.sqrt(live_t)
        std_dev = v * sqrt_t
        discount = np.exp(-r * live_t)
        sign = np.where(flags, 1.0, -1.0)
        n_d1, n_d2, pdf_d1 = _black_terms(f, k, std_dev, sign)
        price = discount * sign * (f * n_d1 - k * n_d2)
        vega_per_unit = f * discount * pdf_d1 * sqrt_t
        return _finish_greeks(
            delta=sign * discount * n_d1,
            gamma=discount * pdf_d1 / (f * std_dev),
            # Only the discount factor ages with a fixed forward: theta = r*V - F D n(d1) s/(2T).
            theta_per_year=r * price - vega_per_unit * v / (2.0 * live_t),
            vega_per_unit=vega_per_unit,
            rho_per_unit=-live_t * price,
            underlying=f,
            strike=k,
            is_call=flags,
            expired=expired,
            bad=bad,
        )

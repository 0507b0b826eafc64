"""The volatility smile the option chain is priced with, exposed so tests can compare IVs.

sigma(k, T) = atm(T) + skew * k + curvature * k**2, k = ln(strike / forward), floored;
atm(T) rises for short expiries (a mild term structure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class SmileParams:
    atm_vol: float = 0.14
    skew: float = -0.25
    curvature: float = 1.6
    short_term_boost: float = 0.04
    short_term_decay_years: float = 0.05
    floor: float = 0.05


def smile_vol(
    *,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    rate: float,
    params: SmileParams,
) -> npt.NDArray[np.float64]:
    """Annualised implied volatility the simulator prices a contract with (decimal)."""
    s = np.asarray(spot, dtype=np.float64)
    k = np.asarray(strike, dtype=np.float64)
    t = np.maximum(np.asarray(t_years, dtype=np.float64), 0.0)
    log_moneyness = np.log(k / (s * np.exp(rate * t)))
    atm = params.atm_vol + params.short_term_boost * np.exp(-t / params.short_term_decay_years)
    vol = atm + params.skew * log_moneyness + params.curvature * log_moneyness**2
    return np.maximum(vol, params.floor)

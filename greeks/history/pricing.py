"""IV and Greeks for every candle of one option contract, in one engine call (pure core).

No Django, no database, no clock: the caller passes the candles, the contract's terms, the
market defaults (``GreeksDefaults``: rate, dividend yield, basis, holidays — the streaming
worker's, from the same settings) and ``now``.

Conventions (the streaming worker's, applied to candles):
* spot-based Black-Scholes-Merton, IV from the option's CLOSE against the underlying's close
  of the candle with the same start ``ts`` (aligned in arrays with ``np.searchsorted``);
* time to expiry from the candle's close time (start + interval, capped at the 15:30 IST
  session close; ``greeks.history.intervals``) to 15:30 IST on the expiry date;
* a candle whose underlying has no candle at its ``ts`` gets ``no_underlying_price`` and
  NaN IV and Greeks — never a price carried over from another minute;
* candles still running at ``now`` (close time after ``now``) are dropped, never priced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt

from greeks.engine import (
    GreeksDefaults,
    IVReason,
    implied_volatility_and_greeks,
    years_to_expiry_at,
)
from greeks.history.intervals import candle_close_epoch
from greeks.history.records import CandleSeries

FloatArray = npt.NDArray[np.float64]
NO_UNDERLYING_PRICE: Final = "no_underlying_price"
# One code per candle: the engine's IVReason codes, then one of ours.
NO_UNDERLYING_PRICE_CODE: Final = len(IVReason)
# Code -> stored ``iv_error`` ("" when the IV was solved).
IV_ERROR_LABELS: Final = (
    *("" if reason == IVReason.OK else reason.label for reason in IVReason),
    NO_UNDERLYING_PRICE,
)


@dataclass(frozen=True, slots=True)
class OptionContract:
    """What pricing needs to know about the contract (from the instrument registry)."""

    strike: float
    is_call: bool
    expiry: date


@dataclass(frozen=True, slots=True)
class PricedCandles:
    """The closed candles of one contract with their pricing, one entry per candle, oldest first.

    ``underlying_close`` and the pricing columns are NaN where there is no value;
    ``iv_error_code`` indexes ``IV_ERROR_LABELS`` (0: solved).
    """

    candles: CandleSeries  # the closed candles only
    underlying_close: FloatArray
    t_years: FloatArray
    iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray
    iv_error_code: npt.NDArray[np.uint8]
    dropped_running: int

    def __len__(self) -> int:
        return len(self.candles)

    @property
    def priced(self) -> int:
        """Candles whose IV was solved."""
        return int(np.count_nonzero(self.iv_error_code == IVReason.OK))

    def failed_by_reason(self) -> dict[str, int]:
        """Candles without an IV, by ``iv_error`` label (reasons that occurred only)."""
        counts = np.bincount(self.iv_error_code, minlength=len(IV_ERROR_LABELS))
        return {
            IV_ERROR_LABELS[code]: int(count)
            for code, count in enumerate(counts.tolist())
            if code != IVReason.OK and count
        }


def require_increasing(series: CandleSeries, what: str) -> None:
    """``ValueError`` unless the starts strictly increase (what alignment and the upsert need)."""
    if len(series) > 1 and not bool(np.all(np.diff(series.ts) > 0)):
        raise ValueError(
            f"{what} candles of token {series.instrument_token} are not in strictly increasing "
            "time order (duplicate or unsorted ts)"
        )


def series_closed_at(series: CandleSeries, now_epoch: float) -> tuple[CandleSeries, int]:
    """The candles whose close time is at or before ``now_epoch``, and how many were dropped.

    Close times grow with the start, so the running candles are a tail: sliced, not masked.
    ``ValueError`` if the series is not in strictly increasing time order.
    """
    require_increasing(series, "the")
    closes = candle_close_epoch(series.ts, series.interval)
    keep = int(np.searchsorted(closes, now_epoch, side="right"))
    dropped = len(series) - keep
    if dropped == 0:
        return series, 0
    return slice_series(series, keep), dropped


def slice_series(series: CandleSeries, stop: int) -> CandleSeries:
    """The first ``stop`` candles (numpy views, no copies)."""
    return CandleSeries(
        instrument_token=series.instrument_token,
        interval=series.interval,
        ts=series.ts[:stop],
        open=series.open[:stop],
        high=series.high[:stop],
        low=series.low[:stop],
        close=series.close[:stop],
        volume=series.volume[:stop],
        oi=series.oi[:stop],
    )


def aligned_underlying_close(
    option_ts: npt.NDArray[np.int64], underlying: CandleSeries | None
) -> FloatArray:
    """The underlying's close at each option candle's ``ts``; NaN where it has no candle then."""
    aligned = np.full(option_ts.shape, np.nan)
    if underlying is None or len(underlying) == 0:
        return aligned
    index = np.searchsorted(underlying.ts, option_ts)
    inside = index < len(underlying)
    clipped = np.where(inside, index, 0)
    found = inside & (underlying.ts[clipped] == option_ts)
    aligned[found] = underlying.close[clipped[found]]
    return aligned


def price_option_candles(
    *,
    option: CandleSeries,
    underlying: CandleSeries | None,
    contract: OptionContract,
    defaults: GreeksDefaults,
    now_epoch: float,
) -> PricedCandles:
    """Drop the running candles, align the underlying, and price everything in one call each
    to the engine's IV solver and Greeks."""
    if underlying is not None and underlying.interval != option.interval:
        raise ValueError(
            f"option candles are {option.interval!r} but the underlying's are "
            f"{underlying.interval!r}"
        )
    closed, dropped = series_closed_at(option, now_epoch)
    if underlying is not None:
        require_increasing(underlying, "underlying")
    spot = aligned_underlying_close(closed.ts, underlying)
    t_years = years_to_expiry_at(
        candle_close_epoch(closed.ts, closed.interval).astype(np.float64),
        contract.expiry,
        basis=defaults.basis,
        holidays=defaults.holidays,
    )
    solved, greeks = implied_volatility_and_greeks(
        price=closed.close, spot=spot, strike=contract.strike, is_call=contract.is_call,
        t_years=t_years, defaults=defaults,
    )  # fmt: skip
    codes = np.array(solved.reason, dtype=np.uint8, copy=True).reshape(spot.shape)
    codes[np.isnan(spot)] = NO_UNDERLYING_PRICE_CODE
    return PricedCandles(
        candles=closed,
        underlying_close=spot,
        t_years=t_years,
        iv=solved.iv,
        delta=greeks.delta,
        gamma=greeks.gamma,
        theta=greeks.theta,
        vega=greeks.vega,
        rho=greeks.rho,
        iv_error_code=codes,
        dropped_running=dropped,
    )

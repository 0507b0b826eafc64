"""Synthetic candles for the history tests: NSE minute sessions, an index path, option closes
priced by the engine at a known volatility and rounded to the 0.05 tick."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from greeks.engine import bsm_price, years_to_expiry_at
from greeks.expiry_time import IST
from greeks.history.intervals import candle_close_epoch
from greeks.history.records import CandleSeries

SESSION_MINUTES = 375


def session_minute_starts(first_day: date, days: int) -> npt.NDArray[np.int64]:
    """Minute candle starts (epoch s) of ``days`` weekdays from ``first_day``, 09:15-15:29 IST."""
    starts: list[npt.NDArray[np.int64]] = []
    day = first_day
    while len(starts) < days:
        if day.weekday() < 5:
            open_epoch = int(datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST).timestamp())
            starts.append(open_epoch + 60 * np.arange(SESSION_MINUTES, dtype=np.int64))
        day += timedelta(days=1)
    return np.concatenate(starts)


def series(
    token: int, ts: npt.NDArray[np.int64], close: npt.NDArray[np.float64], *, oi: int = 0,
    interval: str = "minute",
) -> CandleSeries:  # fmt: skip
    n = ts.shape[0]
    return CandleSeries(
        instrument_token=token,
        interval=interval,
        ts=ts.astype(np.int64),
        open=close * 0.999,
        high=close * 1.002,
        low=close * 0.997,
        close=close.astype(np.float64),
        volume=np.arange(n, dtype=np.int64) * 3 + 100,
        oi=np.full(n, oi, dtype=np.int64),
    )


def index_path(
    ts: npt.NDArray[np.int64], *, start: float = 24000.0, seed: int = 7
) -> npt.NDArray[np.float64]:
    steps = np.random.default_rng(seed).normal(0.0, 0.0006, ts.shape[0])
    path: npt.NDArray[np.float64] = np.round(start * np.exp(np.cumsum(steps)), 2)
    return path


def option_closes(
    *, ts: npt.NDArray[np.int64], spot: npt.NDArray[np.float64], strike: float, is_call: bool,
    expiry: date, sigma: float, rate: float, interval: str = "minute",
) -> npt.NDArray[np.float64]:  # fmt: skip
    """Closes at ``sigma`` priced at each candle's close time, rounded to the 0.05 tick."""
    t_years = years_to_expiry_at(candle_close_epoch(ts, interval).astype(float), expiry)
    price = bsm_price(spot=spot, strike=strike, t_years=t_years, rate=rate, sigma=sigma,
                      is_call=is_call)  # fmt: skip
    ticked: npt.NDArray[np.float64] = np.maximum(np.round(price / 0.05) * 0.05, 0.05)
    return ticked


def aware(epoch: int | float) -> datetime:
    return datetime.fromtimestamp(float(epoch), UTC)

"""Historical candles in Kite's shape, cut from the same deterministic paths as the live ticks.

Minute candles come from the per-second path; wider intervals aggregate minutes from 09:15, as
Kite builds them. ``to`` is inclusive and the running candle is returned. Expired contracts have
no data, and per-interval span limits (``kite_wire.historical``) answer an error, as Kite's do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from kite_wire.historical import SpanError, check_span
from market_model.clock import IST
from market_model.market import MarketModel
from market_model.path import SESSION_SECONDS, day_index, locate, session_open, trading_day
from market_model.universe import KIND_INDEX

MINUTES_PER_SESSION: Final = SESSION_SECONDS // 60
INTERVAL_MINUTES: Final[dict[str, int]] = {
    "minute": 1,
    "3minute": 3,
    "5minute": 5,
    "10minute": 10,
    "15minute": 15,
    "30minute": 30,
    "60minute": 60,
    "day": MINUTES_PER_SESSION,
}
Candle = list[object]
HistoryError = SpanError  # a request Kite would refuse with an InputException


@dataclass(frozen=True, slots=True)
class _Buckets:
    start_epoch: npt.NDArray[np.float64]
    end_second: npt.NDArray[np.int64]  # last session second inside (clipped to now)
    start_second: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    label: list[str]


def candles(
    model: MarketModel,
    *,
    position: int,
    interval: str,
    start: datetime,
    end: datetime,
    now: float,
    with_oi: bool,
) -> list[Candle]:
    """Kite's ``[[ts, o, h, l, c, volume(, oi)], ...]`` for one instrument."""
    check_span(interval, start, end)
    universe = model.universe
    expiry = universe.expiry_epoch[position]
    if not np.isnan(expiry) and expiry <= now:
        return []
    end_epoch = min(end.timestamp(), now)
    if not np.isnan(expiry):
        end_epoch = min(end_epoch, float(expiry))
    path = model.paths[int(universe.underlying[position])]
    now_day, now_second = locate(model.day0, now)
    first = day_index(model.day0, start.astimezone(IST).date())
    last = min(now_day, locate(model.day0, end_epoch)[0])
    out: list[Candle] = []
    for day in range(first, last + 1):
        prices = path.day_prices(day)
        limit = now_second if day == now_day else SESSION_SECONDS - 1
        buckets = _buckets(
            model,
            day=day,
            prices=prices,
            limit=limit,
            minutes=INTERVAL_MINUTES[interval],
            interval=interval,
        )
        keep = (buckets.start_epoch >= start.timestamp()) & (buckets.start_epoch <= end_epoch)
        if np.any(keep):
            out.extend(
                _instrument_candles(
                    model, position=position, b=buckets, keep=keep, day=day, with_oi=with_oi
                )
            )
    return out


def _buckets(
    model: MarketModel,
    *,
    day: int,
    prices: npt.NDArray[np.float64],
    limit: int,
    minutes: int,
    interval: str,
) -> _Buckets:
    seconds_per_bucket = minutes * 60
    count = -(-(limit + 1) // seconds_per_bucket)
    opened = session_open(trading_day(model.day0, day))
    starts = np.arange(count) * seconds_per_bucket
    ends = np.minimum(starts + seconds_per_bucket - 1, limit)
    highs = np.maximum.reduceat(prices[: limit + 1], starts)
    lows = np.minimum.reduceat(prices[: limit + 1], starts)
    if interval == "day":
        labels = [opened.replace(hour=0, minute=0).strftime("%Y-%m-%dT%H:%M:%S%z")]
    else:
        labels = [
            (opened + timedelta(seconds=int(s))).strftime("%Y-%m-%dT%H:%M:%S%z") for s in starts
        ]
    return _Buckets(
        start_epoch=opened.timestamp() + starts.astype(np.float64),
        end_second=ends,
        start_second=starts,
        open=prices[starts],
        high=highs,
        low=lows,
        close=prices[ends],
        label=labels,
    )


def _instrument_candles(
    model: MarketModel,
    *,
    position: int,
    b: _Buckets,
    keep: npt.NDArray[np.bool_],
    day: int,
    with_oi: bool,
) -> list[Candle]:
    opened = session_open(trading_day(model.day0, day)).timestamp()
    at = opened + b.end_second[keep].astype(np.float64)
    pos = np.full(int(keep.sum()), position)
    price_open = model.price(pos, b.open[keep], opened + b.start_second[keep])
    price_close = model.price(pos, b.close[keep], at)
    up = model.price(pos, b.high[keep], at)
    down = model.price(pos, b.low[keep], at)
    high = np.maximum.reduce([up, down, price_open, price_close])
    low = np.minimum.reduce([up, down, price_open, price_close])
    act = model.activity
    lot = int(model.universe.lot_size[position])
    rate = float(act.trade_rate[position])
    lots = int(act.trade_lots[position])

    def volume_at(second: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.floor(rate * second).astype(np.int64) * lots * lot

    volume = volume_at(b.end_second[keep] + 1) - volume_at(b.start_second[keep])
    oi = (
        act.oi_start_lots[position] * lot
        + np.floor(act.oi_rate[position] * (b.end_second[keep] + 1)).astype(np.int64) * lot
    )
    if model.universe.kind[position] == KIND_INDEX:
        volume = np.zeros_like(volume)
        oi = np.zeros_like(oi)
    labels = [label for label, k in zip(b.label, keep, strict=True) if k]
    rows: list[Candle] = []
    for i, label in enumerate(labels):
        row: Candle = [
            label,
            float(price_open[i]),
            float(high[i]),
            float(low[i]),
            float(price_close[i]),
            int(volume[i]),
        ]
        if with_oi:
            row.append(int(oi[i]))
        rows.append(row)
    return rows

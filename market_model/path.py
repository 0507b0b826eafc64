"""Deterministic underlying paths: one price per session second, for any trading day.

The path is a function of (seed, underlying, day), not of how often anyone looked: day-level
moves come from one seeded stream, the seconds inside a day from a Brownian bridge seeded per
day. So the live ticks and any historical candle agree, and reruns with the same seed repeat.
The path passes exactly through the anchor price at the anchor moment (the model's start).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from market_model.clock import IST, SESSION_OPEN

SESSION_SECONDS: Final = 22_500  # 09:15:00 .. 15:29:59, one point per second
TRADING_DAYS_PER_YEAR: Final = 252
DAYS_BACK: Final = 1_500  # > 2000 calendar days of day candles
DAYS_FORWARD: Final = 1_000
_CACHE_DAYS: Final = 64


def session_open(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, *SESSION_OPEN, tzinfo=IST)


def trading_day_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def day_index(day0: date, day: date) -> int:
    """Trading days from ``day0`` to ``day`` (both weekdays); negative in the past."""
    return int(np.busday_count(day0, day)) if day >= day0 else -int(np.busday_count(day, day0))


def trading_day(day0: date, index: int) -> date:
    return date.fromisoformat(str(np.busday_offset(day0, index, roll="forward")))


def locate(day0: date, epoch: float) -> tuple[int, int]:
    """(trading-day index, session second) whose price is the market price at ``epoch``.

    Outside the session the last traded second stands: before the open that is the previous
    trading day's close, after the close (and at weekends) the day's close.
    """
    moment = datetime.fromtimestamp(epoch, IST)
    day = moment.date()
    if day.weekday() >= 5:
        return day_index(day0, trading_day_on_or_before(day)), SESSION_SECONDS - 1
    second = int((moment - session_open(day)).total_seconds())
    if second < 0:
        previous = trading_day_on_or_before(day - timedelta(days=1))
        return day_index(day0, previous), SESSION_SECONDS - 1
    return day_index(day0, day), min(second, SESSION_SECONDS - 1)


class UnderlyingPath:
    """Log-price path of one underlying; ``day_prices(d)`` is that day's per-second prices."""

    def __init__(
        self,
        *,
        seed: int,
        stream: int,
        annual_vol: float,
        anchor_day: int,
        anchor_second: int,
        anchor_price: float,
    ) -> None:
        self._seed = seed
        self._stream = stream
        day_sd = annual_vol / np.sqrt(TRADING_DAYS_PER_YEAR)
        self._second_sd = day_sd / np.sqrt(SESSION_SECONDS)
        rng = np.random.default_rng([seed, stream, 0])
        span = DAYS_BACK + DAYS_FORWARD
        self._day_moves = rng.normal(0.0, day_sd * 0.9, span)  # open -> close
        gaps = rng.normal(0.0, day_sd * 0.3, span)  # close -> next open
        steps = self._day_moves + gaps
        # Open level of each day relative to day 0's open.
        self._open_rel = np.zeros(span)
        self._open_rel[DAYS_BACK + 1 :] = np.cumsum(steps[DAYS_BACK:-1])
        self._open_rel[:DAYS_BACK] = -np.cumsum(steps[:DAYS_BACK][::-1])[::-1]
        self._cache: OrderedDict[int, npt.NDArray[np.float64]] = OrderedDict()
        self._base = 0.0
        self._base = float(
            np.log(anchor_price) - np.log(self.day_prices(anchor_day)[anchor_second])
        )
        self._cache.clear()

    def _bridge(self, day: int) -> npt.NDArray[np.float64]:
        slot = day + DAYS_BACK
        if not 0 <= slot < DAYS_BACK + DAYS_FORWARD:
            raise ValueError(f"trading day {day} is outside the simulated span")
        rng = np.random.default_rng([self._seed, self._stream, 1, slot])
        walk = np.empty(SESSION_SECONDS)
        walk[0] = 0.0
        np.cumsum(rng.normal(0.0, self._second_sd, SESSION_SECONDS - 1), out=walk[1:])
        fraction = np.arange(SESSION_SECONDS) / (SESSION_SECONDS - 1)
        return walk - fraction * (walk[-1] - self._day_moves[slot])

    def day_prices(self, day: int) -> npt.NDArray[np.float64]:
        cached = self._cache.get(day)
        if cached is not None:
            self._cache.move_to_end(day)
            return cached
        prices = np.exp(self._base + self._open_rel[day + DAYS_BACK] + self._bridge(day))
        prices.setflags(write=False)
        self._cache[day] = prices
        if len(self._cache) > _CACHE_DAYS:
            self._cache.popitem(last=False)
        return prices

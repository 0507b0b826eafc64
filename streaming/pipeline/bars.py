"""1-minute OHLCV bars of the underlying indices, built from their ticks (pure).

A bar is keyed by the minute of the tick's time; the first tick of a later minute closes it and
returns it for publishing. The aggregator belongs to the worker, not to a subscription set, so
the open bar survives a reload. Kite sends no volume for indices: volume is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class Bar:
    token: int
    start: int  # minute-aligned epoch seconds
    open: float
    high: float
    low: float
    close: float
    volume: int = 0


class BarAggregator:
    """Open bars per token; ``update`` returns the bar a tick closed, if any."""

    def __init__(self, *, seconds: int = 60) -> None:
        self.seconds = seconds
        self.open_bars: dict[int, Bar] = {}

    def update(self, token: int, price: float, ts: float) -> Bar | None:
        if math.isnan(price) or price <= 0:  # NaN or not a price: nothing to aggregate
            return None
        start = int(ts) // self.seconds * self.seconds
        bar = self.open_bars.get(token)
        if bar is None:
            self.open_bars[token] = Bar(token, start, price, price, price, price)
            return None
        if start < bar.start:  # a late tick of a closed minute: already published
            return None
        if start == bar.start:
            if price > bar.high:
                bar.high = price
            elif price < bar.low:
                bar.low = price
            bar.close = price
            return None
        self.open_bars[token] = Bar(token, start, price, price, price, price)
        return bar

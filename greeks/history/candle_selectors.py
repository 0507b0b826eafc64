"""Reads of stored candles: one contract's candles of one interval over a time range.

Filtered in the database on (instrument, interval, ts): the unique constraint's index serves
the range and the order, so a page costs the same anywhere in a year of minute candles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from greeks.models import OptionCandle
from subscriptions.models import Instrument

# The columns a reader gets, in this order (API JSON and CSV alike).
CANDLE_COLUMNS = (
    "ts", "open", "high", "low", "close", "volume", "oi", "underlying_close",
    "iv", "delta", "gamma", "theta", "vega", "rho", "iv_error",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CandleRange:
    """Which candles: one instrument (by id), one interval, ``start <= ts <= end`` (both aware,
    either open-ended)."""

    instrument_id: int
    interval: str
    start: datetime | None = None
    end: datetime | None = None


def instrument_by_token(instrument_token: int) -> Instrument | None:
    return Instrument.objects.filter(instrument_token=instrument_token).first()


def option_candles_in_range(candles: CandleRange) -> QuerySet[OptionCandle]:
    """The candles of ``candles``, oldest first."""
    rows = OptionCandle.objects.filter(
        instrument_id=candles.instrument_id, interval=candles.interval
    )
    if candles.start is not None:
        rows = rows.filter(ts__gte=candles.start)
    if candles.end is not None:
        rows = rows.filter(ts__lte=candles.end)
    return rows.order_by("ts")

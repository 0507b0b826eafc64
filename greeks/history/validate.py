"""Kite's historical candles validated at the edge into a `CandleSeries` (pure).

kiteconnect's ``historical_data(..., oi=True)`` returns one dict per candle: ``date`` (an aware
datetime, +05:30), ``open``, ``high``, ``low``, ``close``, ``volume`` and ``oi``. A row that is
not that is dropped and counted by its reason, with the first few kept for the report; a bad
field is never read as 0. Rows are sorted by time and a repeated time keeps its first row.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np

from greeks.history.records import CandleSeries

PRICE_FIELDS: Final = ("open", "high", "low", "close")
KEPT_EXAMPLES: Final = 20


@dataclass(frozen=True, slots=True)
class BadCandle:
    """One dropped row: its index in the response, the reason and the offending value."""

    index: int
    reason: str
    value: str


@dataclass(frozen=True, slots=True)
class ValidatedCandles:
    series: CandleSeries
    bad_by_reason: dict[str, int] = field(default_factory=dict)
    examples: tuple[BadCandle, ...] = ()

    @property
    def bad_rows(self) -> int:
        return sum(self.bad_by_reason.values())


def _positive_number(value: object) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return math.isfinite(value) and value > 0


def _row_problem(row: object) -> tuple[str, object] | None:
    """``(reason, value)`` when ``row`` is not a valid candle, else None."""
    if not isinstance(row, dict):
        return "not_an_object", row
    when = row.get("date")
    if not isinstance(when, datetime) or when.tzinfo is None:
        return "bad_date", when
    for name in PRICE_FIELDS:
        value = row.get(name)
        if not _positive_number(value):
            return f"bad_{name}", value
    if row["high"] < max(row["open"], row["close"], row["low"]) or row["low"] > min(
        row["open"], row["close"]
    ):
        return "inconsistent_ohlc", (row["open"], row["high"], row["low"], row["close"])
    for name in ("volume", "oi"):
        value = row.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"bad_{name}", value
    return None


def candles_validate(
    *, instrument_token: int, interval: str, rows: list[object]
) -> ValidatedCandles:
    """Validate kiteconnect's rows into one instrument's `CandleSeries`, oldest first."""
    reasons: Counter[str] = Counter()
    examples: list[BadCandle] = []
    good: dict[int, dict[str, object]] = {}

    def drop(index: int, reason: str, value: object) -> None:
        reasons[reason] += 1
        if len(examples) < KEPT_EXAMPLES:
            examples.append(BadCandle(index=index, reason=reason, value=repr(value)[:80]))

    for index, row in enumerate(rows):
        problem = _row_problem(row)
        if problem is not None:
            drop(index, *problem)
            continue
        if not isinstance(row, dict):  # already refused by _row_problem; narrows the type
            continue
        ts = int(row["date"].timestamp())
        if ts in good:
            drop(index, "duplicate_ts", row["date"])
            continue
        good[ts] = row
    order = sorted(good)
    picked = [good[ts] for ts in order]

    def column(name: str, dtype: type) -> np.ndarray:
        return np.array([r[name] for r in picked], dtype=dtype)

    series = CandleSeries(
        instrument_token=instrument_token,
        interval=interval,
        ts=np.array(order, dtype=np.int64),
        open=column("open", np.float64),
        high=column("high", np.float64),
        low=column("low", np.float64),
        close=column("close", np.float64),
        volume=column("volume", np.int64),
        oi=column("oi", np.int64),
    )
    return ValidatedCandles(series=series, bad_by_reason=dict(reasons), examples=tuple(examples))

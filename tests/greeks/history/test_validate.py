"""Validation of kiteconnect's historical rows into a CandleSeries: bad rows counted by reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from greeks.history.validate import candles_validate
from market_model.clock import IST

T0 = datetime(2026, 1, 5, 9, 15, tzinfo=IST)


def _row(minute: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "date": T0 + timedelta(minutes=minute),
        "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 750, "oi": 1500,
    }  # fmt: skip
    row.update(overrides)
    return row


def test_good_rows_become_sorted_columns() -> None:
    rows: list[object] = [_row(1, close=100.25), _row(0)]
    checked = candles_validate(instrument_token=7, interval="minute", rows=rows)
    series = checked.series
    assert checked.bad_rows == 0
    assert series.instrument_token == 7 and series.interval == "minute"
    assert series.ts.tolist() == [int(T0.timestamp()), int(T0.timestamp()) + 60]
    assert series.close.tolist() == [100.5, 100.25]
    assert series.volume.dtype == np.int64 and series.oi.tolist() == [1500, 1500]


def test_each_bad_row_is_dropped_and_counted_by_reason_never_read_as_zero() -> None:
    rows: list[object] = [
        _row(0),
        "not a dict",
        _row(2, date="2026-01-05 09:17:00"),  # a string, not an aware datetime
        _row(3, date=datetime(2026, 1, 5, 9, 18, tzinfo=IST).replace(tzinfo=None)),  # naive
        _row(4, close=None),
        _row(5, open=float("nan")),
        _row(6, low=0.0),
        _row(7, high=98.0),  # below open/close
        _row(8, volume=-1),
        _row(9, oi=None),
        _row(10, volume=True),
        _row(0, close=100.75),  # the same time again: the first row stays
    ]
    checked = candles_validate(instrument_token=7, interval="minute", rows=rows)
    assert len(checked.series) == 1
    assert checked.series.close.tolist() == [100.5]
    assert checked.bad_by_reason == {
        "not_an_object": 1, "bad_date": 2, "bad_close": 1, "bad_open": 1, "bad_low": 1,
        "inconsistent_ohlc": 1, "bad_volume": 2, "bad_oi": 1, "duplicate_ts": 1,
    }  # fmt: skip
    assert checked.examples[0].index == 1 and checked.examples[0].reason == "not_an_object"


def test_an_empty_response_is_an_empty_series() -> None:
    checked = candles_validate(instrument_token=7, interval="day", rows=[])
    assert len(checked.series) == 0 and checked.bad_rows == 0

"""The pure pricing core of historical candles: alignment, close times, time to expiry,
the running candle, and values against the engine and mibian."""

from __future__ import annotations

from datetime import UTC, date, datetime

import mibian
import numpy as np
import pytest

from greeks.engine import (
    GreeksDefaults,
    bsm_implied_volatility,
    calendar_years_to_expiry,
    expiry_close_epoch,
    time_to_expiry_years,
    years_to_expiry_at,
)
from greeks.expiry_time import IST
from greeks.history.intervals import candle_close_epoch, interval_seconds
from greeks.history.pricing import (
    NO_UNDERLYING_PRICE,
    OptionContract,
    aligned_underlying_close,
    price_option_candles,
)
from tests.greeks.history_candles import index_path, option_closes, series, session_minute_starts

EXPIRY = date(2025, 12, 30)
CONTRACT = OptionContract(strike=24000.0, is_call=False, expiry=EXPIRY)
DEFAULTS = GreeksDefaults(rate=0.10)


def _ist(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=IST).timestamp())


def _one_day() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = session_minute_starts(date(2025, 12, 29), 1)
    spot = index_path(ts)
    close = option_closes(ts=ts, spot=spot, strike=CONTRACT.strike, is_call=False,
                          expiry=EXPIRY, sigma=0.13, rate=DEFAULTS.rate)  # fmt: skip
    return ts, spot, close


def test_candles_close_one_interval_after_their_start_but_never_after_the_session() -> None:
    starts = np.array([_ist(2025, 12, 29, 9, 15), _ist(2025, 12, 29, 15, 15)], dtype=np.int64)
    assert candle_close_epoch(starts, "minute").tolist() == (starts + 60).tolist()
    assert candle_close_epoch(starts, "60minute").tolist() == [
        _ist(2025, 12, 29, 10, 15), _ist(2025, 12, 29, 15, 30),
    ]  # fmt: skip
    day = np.array([_ist(2025, 12, 29, 0, 0)], dtype=np.int64)
    assert candle_close_epoch(day, "day").tolist() == [_ist(2025, 12, 29, 15, 30)]
    with pytest.raises(ValueError, match="unknown interval 'hour'"):
        interval_seconds("hour")


def test_alignment_by_timestamp_leaves_gaps_empty_and_never_borrows_a_neighbour() -> None:
    option_ts = np.array([60, 120, 180, 240, 300, 360], dtype=np.int64)
    index = series(1, np.array([0, 120, 240, 300, 420], dtype=np.int64),
                   np.array([10.0, 12.0, 14.0, 15.0, 17.0]))  # fmt: skip
    aligned = aligned_underlying_close(option_ts, index)
    np.testing.assert_array_equal(aligned, [np.nan, 12.0, np.nan, 14.0, 15.0, np.nan])
    assert np.isnan(aligned_underlying_close(option_ts, None)).all()


def test_time_to_expiry_is_measured_from_each_candles_close() -> None:
    ts, spot, close = _one_day()
    priced = price_option_candles(
        option=series(2, ts, close), underlying=series(1, ts, spot), contract=CONTRACT,
        defaults=DEFAULTS, now_epoch=float(ts[-1] + 3600),
    )  # fmt: skip
    expected = calendar_years_to_expiry((ts + 60).astype(float), expiry_close_epoch(EXPIRY))
    np.testing.assert_array_equal(priced.t_years, expected)
    first_close = datetime.fromtimestamp(float(ts[0] + 60), UTC)
    assert priced.t_years[0] == pytest.approx(time_to_expiry_years(first_close, EXPIRY), abs=1e-15)


def test_the_last_candle_of_expiry_day_closes_at_expiry_and_has_no_volatility() -> None:
    ts = np.array([_ist(2025, 12, 30, 15, 28), _ist(2025, 12, 30, 15, 29)], dtype=np.int64)
    spot = np.array([24010.0, 24012.0])
    priced = price_option_candles(
        option=series(2, ts, np.array([3.0, 0.05])), underlying=series(1, ts, spot),
        contract=CONTRACT, defaults=DEFAULTS, now_epoch=float(ts[-1] + 60),
    )  # fmt: skip
    assert priced.t_years[1] == 0.0 and priced.t_years[0] > 0.0
    assert priced.failed_by_reason().get("expired") == 1
    assert priced.delta[1] == 0.0  # the engine's expiry limit: an OTM put expires worthless


def test_the_running_candle_is_dropped() -> None:
    ts, spot, close = _one_day()
    now = float(ts[-1] + 59)
    priced = price_option_candles(option=series(2, ts, close), underlying=series(1, ts, spot),
                                  contract=CONTRACT, defaults=DEFAULTS, now_epoch=now)  # fmt: skip
    assert priced.dropped_running == 1 and len(priced) == len(ts) - 1
    assert priced.candles.ts[-1] == ts[-2]
    at_close = price_option_candles(
        option=series(2, ts, close),
        underlying=series(1, ts, spot),
        contract=CONTRACT,
        defaults=DEFAULTS,
        now_epoch=now + 1,
    )
    assert at_close.dropped_running == 0


def test_values_are_the_engines_on_the_same_inputs_and_gaps_say_why() -> None:
    ts, spot, close = _one_day()
    gaps = np.zeros(len(ts), dtype=bool)
    gaps[[3, 100]] = True
    index = series(1, ts[~gaps], spot[~gaps])
    priced = price_option_candles(option=series(2, ts, close), underlying=index,
                                  contract=CONTRACT, defaults=DEFAULTS,
                                  now_epoch=float(ts[-1] + 60))  # fmt: skip
    solved = bsm_implied_volatility(
        price=close,
        spot=spot,
        strike=CONTRACT.strike,
        t_years=priced.t_years,
        rate=DEFAULTS.rate,
        is_call=False,
    )
    np.testing.assert_array_equal(priced.iv[~gaps], solved.iv[~gaps])
    assert np.isnan(priced.iv[gaps]).all() and np.isnan(priced.delta[gaps]).all()
    assert priced.failed_by_reason()[NO_UNDERLYING_PRICE] == 2
    assert priced.priced == int(solved.ok[~gaps].sum())


@pytest.mark.parametrize("index", [0, 120, 374])
def test_values_agree_with_mibian(index: int) -> None:
    ts, spot, close = _one_day()
    priced = price_option_candles(option=series(2, ts, close), underlying=series(1, ts, spot),
                                  contract=CONTRACT, defaults=DEFAULTS,
                                  now_epoch=float(ts[-1] + 60))  # fmt: skip
    days = float(priced.t_years[index]) * 365.0  # mibian: calendar days, rate and vol in percent
    inputs = [float(spot[index]), CONTRACT.strike, DEFAULTS.rate * 100, days]
    mibian_iv = mibian.BS(inputs, putPrice=float(close[index])).impliedVolatility
    assert float(priced.iv[index]) * 100 == pytest.approx(mibian_iv, abs=0.3)  # tick prices
    at_our_iv = mibian.BS(inputs, volatility=float(priced.iv[index]) * 100)
    assert float(priced.delta[index]) == pytest.approx(at_our_iv.putDelta, rel=1e-6)
    assert float(priced.gamma[index]) == pytest.approx(at_our_iv.gamma, rel=1e-6)
    assert float(priced.theta[index]) == pytest.approx(at_our_iv.putTheta, rel=1e-6)
    assert float(priced.vega[index]) == pytest.approx(at_our_iv.vega, rel=1e-6)
    assert float(priced.rho[index]) == pytest.approx(at_our_iv.putRho, rel=1e-6)


def test_trading_basis_counts_each_candles_own_day() -> None:
    holidays = frozenset({date(2025, 12, 25)})
    times = [
        datetime(2025, 12, 24, 9, 0, tzinfo=IST), datetime(2025, 12, 24, 12, 1, tzinfo=IST),
        datetime(2025, 12, 25, 11, 0, tzinfo=IST), datetime(2025, 12, 27, 10, 0, tzinfo=IST),
        datetime(2025, 12, 29, 15, 45, tzinfo=IST), datetime(2025, 12, 30, 15, 0, tzinfo=IST),
        datetime(2025, 12, 31, 10, 0, tzinfo=IST),
    ]  # fmt: skip
    vector = years_to_expiry_at([t.timestamp() for t in times], EXPIRY, basis="trading",
                                holidays=holidays)  # fmt: skip
    scalar = [time_to_expiry_years(t, EXPIRY, basis="trading", holidays=holidays) for t in times]
    np.testing.assert_allclose(vector, scalar, rtol=1e-12, atol=0)


def test_an_underlying_of_another_interval_is_refused() -> None:
    ts, spot, close = _one_day()
    with pytest.raises(ValueError, match="5minute"):
        price_option_candles(option=series(2, ts, close),
                             underlying=series(1, ts, spot, interval="5minute"),
                             contract=CONTRACT, defaults=DEFAULTS, now_epoch=1e10)  # fmt: skip


def test_an_empty_series_prices_nothing() -> None:
    empty = np.array([], dtype=np.int64)
    priced = price_option_candles(option=series(2, empty, np.array([])), underlying=None,
                                  contract=CONTRACT, defaults=DEFAULTS, now_epoch=1e10)  # fmt: skip
    assert len(priced) == 0 and priced.priced == 0 and priced.failed_by_reason() == {}


def test_candles_out_of_time_order_are_refused() -> None:
    ts, spot, close = _one_day()
    shuffled = ts.copy()
    shuffled[[3, 4]] = shuffled[[4, 3]]
    with pytest.raises(ValueError, match="strictly increasing"):
        price_option_candles(option=series(2, shuffled, close), underlying=series(1, ts, spot),
                             contract=CONTRACT, defaults=DEFAULTS, now_epoch=1e10)  # fmt: skip
    repeated = ts.copy()
    repeated[10] = repeated[9]
    with pytest.raises(ValueError, match="underlying candles"):
        price_option_candles(option=series(2, ts, close), underlying=series(1, repeated, spot),
                             contract=CONTRACT, defaults=DEFAULTS, now_epoch=1e10)  # fmt: skip


def test_the_defaults_basis_and_holidays_are_used() -> None:
    ts, spot, close = _one_day()
    holidays = frozenset({date(2025, 12, 30)})  # the expiry day itself, for the test
    trading = GreeksDefaults(rate=0.10, basis="trading", holidays=holidays)
    priced = price_option_candles(option=series(2, ts, close), underlying=series(1, ts, spot),
                                  contract=CONTRACT, defaults=trading,
                                  now_epoch=float(ts[-1] + 60))  # fmt: skip
    closes = candle_close_epoch(ts, "minute").astype(float)
    expected = years_to_expiry_at(closes, EXPIRY, basis="trading", holidays=holidays)
    np.testing.assert_array_equal(priced.t_years, expected)
    without_holiday = years_to_expiry_at(closes, EXPIRY, basis="trading")
    assert (priced.t_years < without_holiday).all()  # the holiday's session is not counted

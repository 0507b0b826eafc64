"""Pricing and storing one contract's candles (and an index's) on PostgreSQL: values as the
engine gives them, missing underlying candles, the running candle, idempotent reruns and a
query count that does not grow with the number of candles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from greeks.engine import GreeksDefaults, bsm_greeks, bsm_implied_volatility, years_to_expiry_at
from greeks.history.intervals import candle_close_epoch
from greeks.history.records import CandleSeries
from greeks.history.services import option_candles_price_and_store, underlying_candles_store
from greeks.models import OptionCandle, UnderlyingCandle
from subscriptions.models import Instrument
from tests.greeks.history_candles import (
    aware,
    index_path,
    option_closes,
    series,
    session_minute_starts,
)
from tests.subscriptions.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

EXPIRY = date(2025, 12, 30)
DEFAULTS = GreeksDefaults(rate=0.10)
STRIKE = 24000.0


@pytest.fixture
def option() -> Instrument:
    return InstrumentFactory.create(strike=STRIKE, instrument_type="CE", expiry=EXPIRY)


@pytest.fixture
def index() -> Instrument:
    return InstrumentFactory.create(
        tradingsymbol="NIFTY 50", segment="INDICES", exchange="NSE", instrument_type="EQ",
        strike=0.0, expiry=None, name="NIFTY 50",
    )  # fmt: skip


def _candles(
    option: Instrument, index: Instrument, days: int = 2
) -> tuple[CandleSeries, CandleSeries]:
    ts = session_minute_starts(date(2025, 12, 22), days)
    spot = index_path(ts)
    close = option_closes(ts=ts, spot=spot, strike=STRIKE, is_call=True, expiry=EXPIRY,
                          sigma=0.14, rate=DEFAULTS.rate)  # fmt: skip
    return series(option.instrument_token, ts, close, oi=1500), series(
        index.instrument_token, ts, spot
    )


def _after(ts: npt.NDArray[np.int64]) -> datetime:
    return aware(int(ts[-1]) + 3600)


def test_every_candle_is_stored_with_the_engines_values(
    option: Instrument, index: Instrument
) -> None:
    opt, und = _candles(option, index)
    report = option_candles_price_and_store(
        instrument=option, option=opt, underlying=und, defaults=DEFAULTS, now=_after(opt.ts)
    )
    assert report.received == len(opt) == report.stored == report.inserted
    assert report.dropped_running == 0 and report.updated == report.unchanged == 0
    assert report.priced + sum(report.failed.values()) == len(opt)

    t_years = years_to_expiry_at(candle_close_epoch(opt.ts, "minute").astype(float), EXPIRY)
    iv = bsm_implied_volatility(price=opt.close, spot=und.close, strike=STRIKE, t_years=t_years,
                                rate=DEFAULTS.rate, is_call=True)  # fmt: skip
    greeks = bsm_greeks(spot=und.close, strike=STRIKE, t_years=t_years, rate=DEFAULTS.rate,
                        sigma=iv.iv, is_call=True)  # fmt: skip
    rows = list(
        OptionCandle.objects.filter(instrument=option).order_by("ts").values_list(
            "ts", "close", "underlying_close", "iv", "delta", "gamma", "theta", "vega", "rho",
            "iv_error", "oi", "volume", "underlying", "expiry", "interval",
        )
    )  # fmt: skip
    assert [int(r[0].timestamp()) for r in rows] == opt.ts.tolist()
    stored = np.array([[np.nan if v is None else v for v in r[1:9]] for r in rows])
    expected = np.column_stack([opt.close, und.close, iv.iv, greeks.delta, greeks.gamma,
                                greeks.theta, greeks.vega, greeks.rho])  # fmt: skip
    np.testing.assert_array_equal(np.isnan(stored), np.isnan(expected))
    np.testing.assert_allclose(stored, expected, rtol=1e-12, equal_nan=True)
    labels = iv.reason_labels()
    assert [r[9] for r in rows] == ["" if label == "ok" else label for label in labels]
    assert {(r[10], r[12], r[13], r[14]) for r in rows} == {(1500, "NIFTY", EXPIRY, "minute")}
    assert [r[11] for r in rows] == opt.volume.tolist()


def test_missing_underlying_candles_get_no_price_and_no_greeks(
    option: Instrument, index: Instrument
) -> None:
    opt, und = _candles(option, index, days=1)
    holes = np.zeros(len(und), dtype=bool)
    holes[[0, 17, 18, 200, len(und) - 1]] = True
    sparse = series(index.instrument_token, und.ts[~holes], und.close[~holes])
    report = option_candles_price_and_store(
        instrument=option, option=opt, underlying=sparse, defaults=DEFAULTS, now=_after(opt.ts)
    )
    assert report.failed.get("no_underlying_price") == 5
    missing = OptionCandle.objects.filter(iv_error="no_underlying_price").order_by("ts")
    assert [int(c.ts.timestamp()) for c in missing] == opt.ts[holes].tolist()
    for candle in missing:
        assert candle.underlying_close is None and candle.iv is None
        assert (candle.delta, candle.gamma, candle.theta, candle.vega, candle.rho) == (None,) * 5
        assert candle.close > 0  # the option's own prices are kept
    priced = OptionCandle.objects.exclude(iv_error="no_underlying_price")
    assert priced.filter(underlying_close__isnull=True).count() == 0


def test_without_any_underlying_candles_nothing_is_invented(
    option: Instrument, index: Instrument
) -> None:
    opt, _ = _candles(option, index, days=1)
    report = option_candles_price_and_store(
        instrument=option, option=opt, underlying=None, defaults=DEFAULTS, now=_after(opt.ts)
    )
    assert report.priced == 0 and report.failed == {"no_underlying_price": len(opt)}
    assert OptionCandle.objects.filter(iv__isnull=False).count() == 0


def test_the_running_candle_is_neither_priced_nor_stored(
    option: Instrument, index: Instrument
) -> None:
    opt, und = _candles(option, index, days=1)
    last_start = int(opt.ts[-1])
    now = aware(last_start + 30)  # half-way through the last minute
    report = option_candles_price_and_store(
        instrument=option, option=opt, underlying=und, defaults=DEFAULTS, now=now
    )
    assert report.dropped_running == 1 and report.stored == len(opt) - 1
    assert not OptionCandle.objects.filter(ts=aware(last_start)).exists()
    # At its close it is complete and is stored.
    report = option_candles_price_and_store(
        instrument=option, option=opt, underlying=und, defaults=DEFAULTS, now=aware(last_start + 60)
    )
    assert (report.dropped_running, report.inserted, report.unchanged) == (0, 1, len(opt) - 1)


def _physical_versions(model: type[OptionCandle] | type[UnderlyingCandle]) -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text FROM {model._meta.db_table} ORDER BY id")  # noqa: S608
        return list(cursor.fetchall())


def test_a_second_run_over_the_same_range_changes_nothing(
    option: Instrument, index: Instrument
) -> None:
    opt, und = _candles(option, index, days=1)
    kwargs: dict[str, Any] = {"instrument": option, "option": opt, "underlying": und,
                              "defaults": DEFAULTS, "now": _after(opt.ts)}  # fmt: skip
    option_candles_price_and_store(**kwargs)
    before = _physical_versions(OptionCandle)
    rerun = option_candles_price_and_store(**kwargs)
    assert (rerun.inserted, rerun.updated, rerun.unchanged) == (0, 0, len(opt))
    assert _physical_versions(OptionCandle) == before  # not even rewritten

    corrected = opt.close.copy()
    corrected[10] += 0.05
    fixed = series(option.instrument_token, opt.ts, corrected, oi=1500)
    report = option_candles_price_and_store(**{**kwargs, "option": fixed})
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, len(opt) - 1)
    assert OptionCandle.objects.get(ts=aware(int(opt.ts[10]))).close == pytest.approx(corrected[10])


def test_queries_do_not_grow_with_the_number_of_candles(
    option: Instrument, index: Instrument, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    opt, und = _candles(option, index, days=5)
    counts = []
    for n in (3, len(opt)):
        small_option = series(option.instrument_token, opt.ts[:n], opt.close[:n])
        small_index = series(index.instrument_token, und.ts[:n], und.close[:n])
        with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(8):
            option_candles_price_and_store(instrument=option, option=small_option,
                                           underlying=small_index, defaults=DEFAULTS,
                                           now=_after(opt.ts))  # fmt: skip
            underlying_candles_store(instrument=index, candles=small_index, now=_after(opt.ts))
        counts.append(len(captured.captured_queries))
    # Per call: savepoint, create/truncate the staging table, upsert, release (Django does not
    # see the COPY, which goes through the driver's cursor: one more statement per call).
    assert counts[0] == counts[1]
    assert OptionCandle.objects.count() == len(opt)


def test_underlying_candles_are_stored_idempotently(index: Instrument, option: Instrument) -> None:
    _, und = _candles(option, index, days=1)
    now = aware(int(und.ts[-1]) + 10)  # the last minute is still running
    first = underlying_candles_store(instrument=index, candles=und, now=now)
    assert (first.received, first.dropped_running, first.inserted) == (len(und), 1, len(und) - 1)
    before = _physical_versions(UnderlyingCandle)
    again = underlying_candles_store(instrument=index, candles=und, now=now)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(und) - 1)
    assert _physical_versions(UnderlyingCandle) == before
    row = UnderlyingCandle.objects.order_by("ts").first()
    assert row is not None and row.close == und.close[0] and row.volume == und.volume[0]


def test_refuses_a_non_option_or_another_tokens_candles(
    index: Instrument, option: Instrument
) -> None:
    opt, und = _candles(option, index, days=1)
    with pytest.raises(ValueError, match="not an option"):
        option_candles_price_and_store(instrument=index, option=und, underlying=und,
                                       defaults=DEFAULTS, now=_after(opt.ts))  # fmt: skip
    with pytest.raises(ValueError, match="token"):
        option_candles_price_and_store(instrument=option, option=und, underlying=und,
                                       defaults=DEFAULTS, now=_after(opt.ts))  # fmt: skip
    assert OptionCandle.objects.count() == 0


def test_an_instrument_with_candles_cannot_be_deleted(
    option: Instrument, index: Instrument
) -> None:
    opt, und = _candles(option, index, days=1)
    option_candles_price_and_store(instrument=option, option=opt, underlying=und,
                                   defaults=DEFAULTS, now=_after(opt.ts))  # fmt: skip
    underlying_candles_store(instrument=index, candles=und, now=_after(opt.ts))
    for instrument in (option, index):
        with pytest.raises(ProtectedError):
            instrument.delete()
    assert OptionCandle.objects.count() == UnderlyingCandle.objects.count() == len(opt)

"""Historical candles priced and stored on PostgreSQL: one contract-year of minute candles.

A year of NSE sessions (248 x 375 = 93,000 minute candles) of one NIFTY call, with its index's
candles: an index path (geometric random walk, seeded) and option closes priced by the engine on
a gently moving volatility and rounded to the 0.05 tick, so the IV solver works on realistic
quotes. Synthetic arrays, no simulator, no HTTP: this measures pricing and storage only.

Measured: ``option_candles_price_and_store`` (align, one engine call, binary COPY + one upsert)
on an empty table, then again over the same range (every row unchanged, nothing rewritten);
``underlying_candles_store`` for the index. Baseline, in the same run: what the old service did
per candle — mibian's IV (bisection) and Greeks object, then one ORM ``save()`` per row — timed on
a sample (the first candles of the year, at the money with months left: mibian's fast case) and
extrapolated to the year.

Runs in its own database (created and migrated, dropped afterwards) on the server
``DATABASE_URL`` points at; never the demo's or the tests' data.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.bench_database import setup_bench_database, teardown

BENCH_DATABASE = "ticker_bench_candle_store"
FULL = {"sessions": 248, "baseline": 200}
SMOKE = {"sessions": 2, "baseline": 5}
FIRST_DAY = date(2025, 1, 1)
STRIKE = 24_000.0
TARGET_SECONDS = 2.0


def _minute_starts(sessions: int) -> tuple[npt.NDArray[np.int64], date]:
    from greeks.expiry_time import IST  # noqa: PLC0415

    days: list[date] = []
    day = FIRST_DAY
    while len(days) < sessions:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    opens = np.array(
        [datetime(d.year, d.month, d.day, 9, 15, tzinfo=IST).timestamp() for d in days],
        dtype=np.int64,
    )
    starts = (opens[:, None] + 60 * np.arange(375, dtype=np.int64)[None, :]).reshape(-1)
    return starts, days[-1]


def _candles(token: int, ts: npt.NDArray[np.int64], close: npt.NDArray[np.float64]) -> Any:
    from greeks.history.records import CandleSeries  # noqa: PLC0415

    n = ts.shape[0]
    return CandleSeries(
        instrument_token=token, interval="minute", ts=ts,
        open=np.round(close * 1.0004, 2), high=np.round(close * 1.001, 2),
        low=np.round(close * 0.999, 2), close=close,
        volume=np.full(n, 1_500, dtype=np.int64), oi=np.full(n, 120_000, dtype=np.int64),
    )  # fmt: skip


def _market(sessions: int) -> tuple[Any, Any, date]:
    from greeks.engine import bsm_price, years_to_expiry_at  # noqa: PLC0415
    from greeks.history.intervals import candle_close_epoch  # noqa: PLC0415

    ts, last_day = _minute_starts(sessions)
    rng = np.random.default_rng(20250101)
    spot = np.round(STRIKE * np.exp(np.cumsum(rng.normal(0.0, 0.0004, ts.shape[0]))), 2)
    sigma = 0.13 + 0.02 * np.sin(np.arange(ts.shape[0]) / 5_000.0)
    expiry = last_day
    t_years = years_to_expiry_at(candle_close_epoch(ts, "minute").astype(float), expiry)
    price = bsm_price(spot=spot, strike=STRIKE, t_years=t_years, rate=0.10, sigma=sigma,
                      is_call=True)  # fmt: skip
    close = np.maximum(np.round(price / 0.05) * 0.05, 0.05)
    return _candles(1002, ts, close), _candles(256265, ts, spot), expiry


def _instruments(expiry: date) -> tuple[Any, Any, Any]:
    from subscriptions.models import Instrument  # noqa: PLC0415

    def make(token: int, symbol: str, **fields: Any) -> Instrument:
        return Instrument.objects.create(
            instrument_token=token, exchange_token=token // 256, tradingsymbol=symbol,
            **fields,
        )  # fmt: skip

    option = dict(name="NIFTY", segment="NFO-OPT", exchange="NFO", instrument_type="CE",
                  strike=STRIKE, expiry=expiry, lot_size=65)  # fmt: skip
    return (
        make(1002, "NIFTYBENCHCE", **option),
        make(2002, "NIFTYBASELINECE", **option),
        make(256265, "NIFTY 50", name="NIFTY 50", segment="INDICES", exchange="NSE",
             instrument_type="EQ"),
    )  # fmt: skip


def _baseline_seconds_per_candle(
    option: Any, underlying: Any, instrument: Any, sample: int
) -> float:
    """The old way, per candle: mibian IV, a mibian Greeks object, one ORM save."""
    import mibian  # noqa: PLC0415

    from greeks.engine import years_to_expiry_at  # noqa: PLC0415
    from greeks.history.intervals import candle_close_epoch  # noqa: PLC0415
    from greeks.models import OptionCandle  # noqa: PLC0415

    closes = candle_close_epoch(option.ts[:sample], "minute").astype(float)
    started = time.perf_counter()
    for i in range(sample):
        days = float(years_to_expiry_at(closes[i], instrument.expiry)) * 365.0
        spot, price = float(underlying.close[i]), float(option.close[i])
        iv = mibian.BS([spot, STRIKE, 10.0, days], callPrice=price).impliedVolatility
        greeks = mibian.BS([spot, STRIKE, 10.0, days], volatility=iv)
        OptionCandle(
            instrument=instrument, interval="minute", underlying="NIFTY", expiry=instrument.expiry,
            ts=datetime.fromtimestamp(int(option.ts[i]), UTC), open=float(option.open[i]),
            high=float(option.high[i]), low=float(option.low[i]), close=price,
            volume=int(option.volume[i]), oi=int(option.oi[i]), underlying_close=spot,
            iv=iv / 100.0, delta=greeks.callDelta, gamma=greeks.gamma, theta=greeks.callTheta,
            vega=greeks.vega, rho=greeks.callRho,
        ).save()  # fmt: skip
    return (time.perf_counter() - started) / sample


def _lines(sizes: dict[str, int]) -> list[str]:
    from greeks.engine import GreeksDefaults  # noqa: PLC0415
    from greeks.history.pricing import OptionContract, price_option_candles  # noqa: PLC0415
    from greeks.history.services import (  # noqa: PLC0415
        option_candles_price_and_store,
        underlying_candles_store,
    )

    option, underlying, expiry = _market(sizes["sessions"])
    instrument, baseline_instrument, index = _instruments(expiry)
    defaults = GreeksDefaults(rate=0.10)
    now = datetime.fromtimestamp(float(option.ts[-1]) + 3600, UTC)
    n = len(option)
    store: dict[str, Any] = {"instrument": instrument, "option": option, "underlying": underlying,
                             "defaults": defaults, "now": now}  # fmt: skip

    started = time.perf_counter()
    priced = price_option_candles(
        option=option, underlying=underlying, defaults=defaults, now_epoch=now.timestamp(),
        contract=OptionContract(strike=STRIKE, is_call=True, expiry=expiry),
    )  # fmt: skip
    pricing = time.perf_counter() - started

    started = time.perf_counter()
    first = option_candles_price_and_store(**store)
    fresh = time.perf_counter() - started
    started = time.perf_counter()
    again = option_candles_price_and_store(**store)
    rerun = time.perf_counter() - started
    started = time.perf_counter()
    index_report = underlying_candles_store(instrument=index, candles=underlying, now=now)
    index_seconds = time.perf_counter() - started

    per_candle = _baseline_seconds_per_candle(option, underlying, baseline_instrument,
                                              sizes["baseline"])  # fmt: skip
    baseline = per_candle * n
    verdict = "within" if fresh < TARGET_SECONDS else "OVER"
    return [
        f"one contract, {n:,} minute candles ({sizes['sessions']} sessions): priced "
        f"{first.priced:,}, failed {first.failed}, stored {first.inserted:,} new",
        f"pricing alone (align + one IV solve + Greeks): {pricing * 1000:.0f} ms, "
        f"{len(priced) / pricing:,.0f} candles/s",
        f"price and store, empty table: {fresh:.2f} s, {n / fresh:,.0f} candles/s "
        f"({verdict} the {TARGET_SECONDS:.0f} s target)",
        f"rerun over the same range: {rerun:.2f} s ({again.unchanged:,} unchanged, "
        f"{again.inserted + again.updated} written)",
        f"index candles stored: {index_report.inserted:,} in {index_seconds:.2f} s",
        f"baseline mibian IV + Greeks + ORM save per candle: {1 / per_candle:,.0f} candles/s "
        f"({sizes['baseline']} candles, extrapolated {baseline:,.0f} s for {n:,}); "
        f"ratio {baseline / fresh:,.0f}x",
    ]


def run(smoke: bool) -> list[str]:
    connection, old = setup_bench_database(BENCH_DATABASE, benchmark="candle_store_bench")
    try:
        return _lines(SMOKE if smoke else FULL)
    finally:
        teardown(connection, old)

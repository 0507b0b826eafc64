"""The market model alone: determinism, expiries, seeding, smile recovery, history vs live."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from greeks.engine import bsm_implied_volatility
from market_model.clock import IST, VirtualClock
from market_model.config import MarketConfig
from market_model.expiries import last_tuesday
from market_model.market import MarketModel, years_to_expiry
from market_model.path import SESSION_SECONDS
from market_model.smile import smile_vol
from market_model.universe import KIND_OPTION
from simulator.history import candles

START = datetime(2025, 11, 12, 10, 0, tzinfo=IST)  # a Wednesday


def _model(seed: int = 5, **kwargs: object) -> MarketModel:
    clock = VirtualClock.starting_at(START, wall=lambda: 1_000_000.0)
    return MarketModel(MarketConfig(), seed=seed, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_same_seed_same_market() -> None:
    a, b, c = _model(5), _model(5), _model(6)
    t = START.timestamp() + 3600
    np.testing.assert_array_equal(a.state_at(t).last_price, b.state_at(t).last_price)
    assert not np.array_equal(a.state_at(t).last_price, c.state_at(t).last_price)


def test_expiries_are_tuesdays_monthly_last_tuesday() -> None:
    model = _model()
    nifty = [r for r in model.instruments if r.name == "NIFTY" and r.instrument_type == "CE"]
    expiries = sorted({r.expiry for r in nifty if r.expiry})
    assert len(expiries) == 7
    assert all(e.weekday() == 1 for e in expiries)
    monthly = [e for e in expiries if e == last_tuesday(e.year, e.month)]
    assert len(monthly) == 3
    assert expiries[0] == START.date() + timedelta(days=6)  # next Tuesday
    bank = {r.expiry for r in model.instruments if r.name == "BANKNIFTY" and r.expiry}
    assert all(e == last_tuesday(e.year, e.month) for e in bank if e)
    assert any(r.tradingsymbol == "NIFTY25NOVFUT" for r in model.instruments)


def test_seeded_from_given_last_prices() -> None:
    model = _model(last_prices={256265: 25_000.0, 260105: 50_000.0})
    state = model.state_at(START.timestamp())
    spots = state.last_price[list(model.universe.index_position)]
    np.testing.assert_allclose(spots, [25_000.0, 50_000.0])
    strikes = {r.strike for r in model.instruments if r.name == "NIFTY" and r.strike}
    assert min(strikes) == 25_000 - 30 * 50


def test_smile_is_recoverable_from_prices() -> None:
    model = _model()
    config = model.config
    t = START.timestamp() + 600
    state = model.state_at(t)
    u = model.universe
    spot = state.underlying_spot[u.underlying]
    tte = years_to_expiry(t, u.expiry_epoch)
    # Options worth several ticks: below that the 0.05 rounding dominates the IV.
    pick = (u.kind == KIND_OPTION) & (state.last_price > 20) & (tte > 0.05)
    assert pick.sum() > 200
    recovered = bsm_implied_volatility(
        price=state.last_price[pick],
        spot=spot[pick],
        strike=u.strike[pick],
        t_years=tte[pick],
        rate=config.rate,
        is_call=u.is_call[pick],
    )
    fed = smile_vol(
        spot=spot[pick], strike=u.strike[pick], t_years=tte[pick], rate=config.rate,
        params=config.smile,
    )  # fmt: skip
    error = np.abs(recovered.iv - fed)
    assert np.nanmax(error) < 0.01
    assert np.isfinite(recovered.iv).mean() > 0.98


def test_minute_candles_agree_with_live_state() -> None:
    model = _model()
    now = START.timestamp() + 1800
    minute = candles(
        model,
        position=0,
        interval="minute",
        start=START - timedelta(minutes=5),
        end=datetime.fromtimestamp(now, IST),
        now=now,
        with_oi=False,
    )
    assert len(minute) == 36
    opened = datetime(2025, 11, 12, 9, 15, tzinfo=IST).timestamp()
    for candle in minute[:-1]:
        label = datetime.strptime(str(candle[0]), "%Y-%m-%dT%H:%M:%S%z").timestamp()
        assert candle[1] == model.state_at(label).last_price[0]
        assert candle[4] == model.state_at(label + 59).last_price[0]
    assert minute[-1][4] == model.state_at(now).last_price[0]  # running candle
    assert (now - opened) < SESSION_SECONDS

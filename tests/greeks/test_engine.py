"""greeks.engine: prices against textbook values, parity, IV round trips, failure reasons."""

from __future__ import annotations

import math
import warnings

import mibian
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greeks.engine import (
    GreeksDefaults,
    IVReason,
    black76_implied_volatility,
    black76_price,
    bsm_greeks,
    bsm_implied_volatility,
    bsm_price,
)

TICK = 0.05


def nifty_grid(n: int, seed: int = 12345) -> dict[str, np.ndarray]:
    """Random realistic NIFTY options: spot ~24,000, strikes +-10 % on the 50 grid, 1-60 days."""
    rng = np.random.default_rng(seed)
    spot = rng.uniform(23500.0, 24500.0, n)
    return {
        "spot": spot,
        "strike": np.round(spot * rng.uniform(0.9, 1.1, n) / 50.0) * 50.0,
        "t_years": rng.uniform(1.0, 60.0, n) / 365.0,
        "sigma": rng.uniform(0.08, 0.40, n),
        "is_call": rng.random(n) < 0.5,
    }


def otm_equivalent_price(price, spot, strike, t_years, rate, is_call, dividend_yield=0.0):
    """Price of the out-of-the-money side through parity: the option's time value."""
    forward_intrinsic = spot * np.exp(-dividend_yield * t_years) - strike * np.exp(-rate * t_years)
    return price - np.maximum(np.where(is_call, forward_intrinsic, -forward_intrinsic), 0.0)


# ---------------------------------------------------------------- textbook prices


@pytest.mark.parametrize(
    ("spot", "strike", "t_years", "rate", "sigma", "is_call", "dividend_yield", "expected"),
    [
        # Hull, Options, Futures and Other Derivatives, Example 15.6.
        (42, 40, 0.5, 0.10, 0.20, True, 0.0, 4.7594),
        (42, 40, 0.5, 0.10, 0.20, False, 0.0, 0.8086),
        # Haug, The Complete Guide to Option Pricing Formulas, generalized BSM (b = r - q).
        (75, 70, 0.5, 0.10, 0.35, False, 0.05, 4.0870),
        # Hull Example 17.1: European index option with a dividend yield (2 months).
        (930, 900, 2 / 12, 0.08, 0.20, True, 0.03, 51.83),
    ],
)
def test_bsm_price_matches_textbook_examples(
    spot, strike, t_years, rate, sigma, is_call, dividend_yield, expected
) -> None:
    price = bsm_price(spot=spot, strike=strike, t_years=t_years, rate=rate, sigma=sigma,
                      is_call=is_call, dividend_yield=dividend_yield)  # fmt: skip
    assert float(price) == pytest.approx(expected, abs=5e-4 if expected < 10 else 5e-3)


@pytest.mark.parametrize(
    ("forward", "strike", "t_years", "rate", "sigma", "is_call", "expected"),
    [
        # Hull, Black's model example: futures 20, strike 20, r=9 %, 4 months, 25 % -> put 1.12.
        (20, 20, 4 / 12, 0.09, 0.25, False, 1.1166),
        # Haug, Black-76: F=19, K=19, T=0.75, r=10 %, 28 % -> call = put = 1.7011.
        (19, 19, 0.75, 0.10, 0.28, True, 1.7011),
        (19, 19, 0.75, 0.10, 0.28, False, 1.7011),
    ],
)
def test_black76_price_matches_textbook_examples(
    forward, strike, t_years, rate, sigma, is_call, expected
) -> None:
    price = black76_price(forward=forward, strike=strike, t_years=t_years, rate=rate,
                          sigma=sigma, is_call=is_call)  # fmt: skip
    assert float(price) == pytest.approx(expected, abs=5e-4)


def test_bsm_and_black76_agree_on_the_forward() -> None:
    grid = nifty_grid(1000)
    rate, dividend_yield = 0.07, 0.012
    forward = grid["spot"] * np.exp((rate - dividend_yield) * grid["t_years"])
    on_spot = bsm_price(**grid, rate=rate, dividend_yield=dividend_yield)
    on_forward = black76_price(
        forward=forward,
        strike=grid["strike"],
        t_years=grid["t_years"],
        rate=rate,
        sigma=grid["sigma"],
        is_call=grid["is_call"],
    )
    np.testing.assert_allclose(on_spot, on_forward, rtol=1e-12, atol=1e-9)


def test_put_call_parity_holds() -> None:
    grid = nifty_grid(10_000)
    common = {k: v for k, v in grid.items() if k != "is_call"}
    rate, q = 0.1, 0.02
    call = bsm_price(**common, rate=rate, dividend_yield=q, is_call=True)
    put = bsm_price(**common, rate=rate, dividend_yield=q, is_call=False)
    t = grid["t_years"]
    parity = grid["spot"] * np.exp(-q * t) - grid["strike"] * np.exp(-rate * t)
    np.testing.assert_allclose(call - put, parity, atol=1e-8)


def test_prices_broadcast_and_keep_shape() -> None:
    strikes = np.array([[23000.0, 24000.0, 25000.0]])
    sigmas = np.array([[0.1], [0.2]])
    prices = bsm_price(
        spot=24000, strike=strikes, t_years=7 / 365, rate=0.1, sigma=sigmas, is_call=True
    )
    assert prices.shape == (2, 3)
    assert np.all(np.diff(prices, axis=1) < 0)  # calls cheaper at higher strikes
    assert np.all(prices[1] > prices[0])


def test_price_edge_cases_are_intrinsic_or_nan() -> None:
    prices = bsm_price(
        spot=[24000, 24000, 24000, -1, np.nan, 24000],
        strike=[23000, 23000, 25000, 23000, 23000, 23000],
        t_years=[0.0, -1.0, 0.0, 0.1, 0.1, 0.1],
        rate=0.1,
        sigma=[0.2, 0.2, 0.2, 0.2, 0.2, -0.1],
        is_call=True,
    )
    np.testing.assert_array_equal(prices[:3], [1000.0, 1000.0, 0.0])
    assert np.isnan(prices[3:]).all()


def test_zero_sigma_gives_discounted_forward_intrinsic() -> None:
    price = bsm_price(spot=100, strike=90, t_years=1.0, rate=0.1, sigma=0.0, is_call=True)
    assert float(price) == pytest.approx(100 - 90 * math.exp(-0.1))


def test_string_option_types_are_refused() -> None:
    with pytest.raises(TypeError, match="is_call"):
        bsm_price(spot=1, strike=1, t_years=1, rate=0, sigma=0.2, is_call=np.array(["CE"]))


# ---------------------------------------------------------------- implied volatility


def test_iv_round_trip_on_100k_nifty_grid_is_within_1e_10() -> None:
    grid = nifty_grid(100_000)
    rate = GreeksDefaults().rate
    prices = bsm_price(**grid, rate=rate)
    result = bsm_implied_volatility(
        price=prices,
        spot=grid["spot"],
        strike=grid["strike"],
        t_years=grid["t_years"],
        rate=rate,
        is_call=grid["is_call"],
    )
    time_value = otm_equivalent_price(
        prices, grid["spot"], grid["strike"], grid["t_years"], rate, grid["is_call"]
    )
    tradeable = time_value >= TICK
    assert tradeable.mean() > 0.9
    assert (result.reason[tradeable] == IVReason.OK).all()
    error = np.abs(result.iv - grid["sigma"])[tradeable]
    assert error.max() <= 1e-10
    # Below a tick: an answer or an explicit reason, never a made-up number.
    answered = result.reason == IVReason.OK
    assert np.isfinite(result.iv[answered]).all()
    assert np.isnan(result.iv[~answered]).all()


def test_itm_and_otm_at_one_strike_give_the_same_iv() -> None:
    common = {"spot": 24000.0, "strike": 23000.0, "t_years": 9 / 365, "rate": 0.1}
    call = bsm_price(**common, sigma=0.15, is_call=True)
    put = bsm_price(**common, sigma=0.15, is_call=False)
    both = bsm_implied_volatility(price=[call, put], is_call=[True, False], **common)
    np.testing.assert_allclose(both.iv, 0.15, atol=1e-10)


def test_black76_iv_round_trip() -> None:
    grid = nifty_grid(20_000, seed=7)
    forward = grid["spot"] * 1.003
    prices = black76_price(
        forward=forward,
        strike=grid["strike"],
        t_years=grid["t_years"],
        rate=0.065,
        sigma=grid["sigma"],
        is_call=grid["is_call"],
    )
    result = black76_implied_volatility(
        price=prices,
        forward=forward,
        strike=grid["strike"],
        t_years=grid["t_years"],
        rate=0.065,
        is_call=grid["is_call"],
    )
    discount = np.exp(-0.065 * grid["t_years"])
    intrinsic = discount * np.maximum(
        np.where(grid["is_call"], forward - grid["strike"], grid["strike"] - forward), 0.0
    )
    tradeable = prices - intrinsic >= TICK
    assert np.abs(result.iv - grid["sigma"])[tradeable].max() <= 1e-10


def test_each_bad_input_class_gives_nan_and_its_reason_without_warnings() -> None:
    cases = [
        # (price, spot, strike, t, is_call, reason)
        (100.0, 24000.0, 24000.0, 0.02, True, IVReason.OK),
        (np.nan, 24000.0, 24000.0, 0.02, True, IVReason.NON_FINITE),
        (100.0, np.inf, 24000.0, 0.02, True, IVReason.NON_FINITE),
        (100.0, 24000.0, 24000.0, np.nan, True, IVReason.NON_FINITE),
        (0.0, 24000.0, 24000.0, 0.02, True, IVReason.NON_POSITIVE_INPUT),
        (-5.0, 24000.0, 24000.0, 0.02, True, IVReason.NON_POSITIVE_INPUT),
        (100.0, 0.0, 24000.0, 0.02, True, IVReason.NON_POSITIVE_INPUT),
        (100.0, 24000.0, -50.0, 0.02, True, IVReason.NON_POSITIVE_INPUT),
        (100.0, 24000.0, 24000.0, 0.0, True, IVReason.EXPIRED),
        (100.0, 24000.0, 24000.0, -0.01, False, IVReason.EXPIRED),
        (900.0, 24000.0, 23000.0, 0.02, True, IVReason.BELOW_INTRINSIC),
        (24001.0, 24000.0, 23000.0, 0.02, True, IVReason.ABOVE_MAX),
        (23500.0, 24000.0, 23500.0, 0.02, False, IVReason.ABOVE_MAX),
        (1e-12, 24000.0, 30000.0, 0.02, True, IVReason.NO_TIME_VALUE),
    ]
    price, spot, strike, t, is_call, expected = (
        np.array(column) for column in zip(*cases, strict=True)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = bsm_implied_volatility(
            price=price, spot=spot, strike=strike, t_years=t, rate=0.1, is_call=is_call.astype(bool)
        )
    np.testing.assert_array_equal(result.reason, expected.astype(np.uint8))
    assert np.isfinite(result.iv[0])
    assert np.isnan(result.iv[1:]).all()
    assert list(result.reason_labels()[[0, 10]]) == ["ok", "below_intrinsic"]
    assert IVReason.ABOVE_MAX.label == "above_max"
    assert result.ok.tolist() == [True] + [False] * (len(cases) - 1)


def test_scalar_iv_call_returns_zero_dimensional_arrays() -> None:
    result = bsm_implied_volatility(
        price=4.759422392871536, spot=42, strike=40, t_years=0.5, rate=0.1, is_call=True
    )
    assert result.iv.shape == ()
    assert float(result.iv) == pytest.approx(0.2, abs=1e-12)


def test_iv_of_empty_batch_is_empty() -> None:
    empty = np.array([])
    result = bsm_implied_volatility(
        price=empty, spot=empty, strike=empty, t_years=empty, rate=0.1, is_call=empty.astype(bool)
    )
    assert result.iv.shape == (0,)
    assert result.reason.shape == (0,)


# ---------------------------------------------------------------- properties (hypothesis)

spots = st.floats(50.0, 50_000.0)
moneyness = st.floats(0.5, 2.0)
years = st.floats(1.0 / 365.0, 3.0)
vols = st.floats(0.01, 2.0)
rates = st.floats(-0.01, 0.15)
yields = st.floats(0.0, 0.08)


@settings(max_examples=200, deadline=None)
@given(spot=spots, m=moneyness, t=years, r=rates, q=yields, call=st.booleans())
def test_price_is_monotone_in_sigma_and_within_no_arbitrage_bounds(spot, m, t, r, q, call) -> None:
    strike = spot * m
    sigmas = np.linspace(0.01, 2.0, 50)
    prices = bsm_price(spot=spot, strike=strike, t_years=t, rate=r, sigma=sigmas, is_call=call,
                       dividend_yield=q)  # fmt: skip
    assert np.all(np.diff(prices) >= -1e-9 * spot)
    forward_intrinsic = spot * math.exp(-q * t) - strike * math.exp(-r * t)
    lower = max(forward_intrinsic if call else -forward_intrinsic, 0.0)
    upper = spot * math.exp(-q * t) if call else strike * math.exp(-r * t)
    assert np.all(prices >= lower - 1e-9 * spot)
    assert np.all(prices <= upper + 1e-9 * spot)


@settings(max_examples=300, deadline=None)
@given(spot=spots, m=moneyness, t=years, sigma=vols, r=rates, q=yields, call=st.booleans())
def test_iv_of_price_returns_sigma(spot, m, t, sigma, r, q, call) -> None:
    strike = spot * m
    price = float(bsm_price(spot=spot, strike=strike, t_years=t, rate=r, sigma=sigma,
                            is_call=call, dividend_yield=q))  # fmt: skip
    result = bsm_implied_volatility(price=price, spot=spot, strike=strike, t_years=t, rate=r,
                                    is_call=call, dividend_yield=q)  # fmt: skip
    time_value = float(otm_equivalent_price(price, spot, strike, t, r, call, q))
    # Relative to the price scale, at least a NIFTY tick on 24,000 of time value: sigma is
    # determined; below that an explicit reason or a consistent answer is all that can be asked.
    if time_value >= TICK / 24000.0 * spot:
        assert result.reason == IVReason.OK
        assert abs(float(result.iv) - sigma) <= 1e-10
    elif result.reason == IVReason.OK:
        repriced = float(bsm_price(spot=spot, strike=strike, t_years=t, rate=r, sigma=result.iv,
                                   is_call=call, dividend_yield=q))  # fmt: skip
        assert repriced == pytest.approx(price, rel=1e-6, abs=1e-9 * spot)
    else:
        assert np.isnan(result.iv)


# ---------------------------------------------------------------- mibian cross-check


def test_greeks_match_mibian_at_a_given_sigma() -> None:
    grid = nifty_grid(60, seed=3)
    rate = 0.1
    ours = bsm_greeks(**grid, rate=rate)
    for i in range(60):
        model = mibian.BS(
            [grid["spot"][i], grid["strike"][i], rate * 100, grid["t_years"][i] * 365],
            volatility=grid["sigma"][i] * 100,
        )
        call = bool(grid["is_call"][i])
        expected = {
            "delta": model.callDelta if call else model.putDelta,
            "gamma": model.gamma,
            "theta": model.callTheta if call else model.putTheta,
            "vega": model.vega,
            "rho": model.callRho if call else model.putRho,
        }
        for name, value in expected.items():
            assert ours[name][i] == pytest.approx(value, rel=1e-7, abs=1e-12), name
        price = model.callPrice if call else model.putPrice
        assert float(bsm_price(spot=grid["spot"][i], strike=grid["strike"][i],
                               t_years=grid["t_years"][i], rate=rate, sigma=grid["sigma"][i],
                               is_call=call)) == pytest.approx(price, rel=1e-9)  # fmt: skip


def test_iv_matches_mibian_loosely_on_tick_rounded_prices() -> None:
    """mibian bisects until the price rounds to the quote's decimals: ~0.3 vol points off."""
    grid = nifty_grid(40, seed=11)
    rate = 0.1
    prices = np.round(bsm_price(**grid, rate=rate) / TICK) * TICK
    time_value = otm_equivalent_price(
        prices, grid["spot"], grid["strike"], grid["t_years"], rate, grid["is_call"]
    )
    keep = (time_value >= 1.0) & (prices >= 1.0)  # mibian fails on sub-1e-4 prices
    ours = bsm_implied_volatility(
        price=prices,
        spot=grid["spot"],
        strike=grid["strike"],
        t_years=grid["t_years"],
        rate=rate,
        is_call=grid["is_call"],
    )
    checked = 0
    for i in np.flatnonzero(keep)[:15]:
        price = round(float(prices[i]), 2)
        args = [grid["spot"][i], grid["strike"][i], rate * 100, grid["t_years"][i] * 365]
        model = (
            mibian.BS(args, callPrice=price)
            if grid["is_call"][i]
            else mibian.BS(args, putPrice=price)
        )
        assert model.impliedVolatility / 100 == pytest.approx(ours.iv[i], abs=0.003)
        checked += 1
    assert checked >= 10

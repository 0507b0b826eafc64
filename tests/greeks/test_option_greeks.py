"""greeks.option_greeks: textbook Greeks, finite differences of the price, expiry limits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from greeks.engine import GREEK_NAMES, black76_greeks, black76_price, bsm_greeks, bsm_price

from .test_engine import nifty_grid


def test_hull_example_greeks_in_published_units() -> None:
    # Hull, Examples 19.1-19.6: S=49, K=50, r=5 %, sigma=20 %, T=20 weeks (0.3846 years).
    g = bsm_greeks(spot=49, strike=50, t_years=0.3846, rate=0.05, sigma=0.2, is_call=True)
    assert float(g.delta) == pytest.approx(0.522, abs=1e-3)
    assert float(g.gamma) == pytest.approx(0.066, abs=1e-3)
    assert float(g.theta) * 365 == pytest.approx(-4.31, abs=1e-2)  # Hull: -4.31 per year
    assert float(g.vega) * 100 == pytest.approx(12.1, abs=0.05)  # Hull: 12.1 per 1.00 of vol
    assert float(g.rho) * 100 == pytest.approx(8.91, abs=0.01)  # Hull: 8.91 per 1.00 of rate


def test_greeks_are_attributes_and_mapping_keys() -> None:
    g = bsm_greeks(spot=42, strike=40, t_years=0.5, rate=0.1, sigma=0.2, is_call=[True, False])
    assert list(g) == list(GREEK_NAMES)
    assert dict(g).keys() == {"delta", "gamma", "theta", "vega", "rho"}
    for name in GREEK_NAMES:
        assert g[name] is getattr(g, name)
        assert g[name].shape == (2,)
    with pytest.raises(KeyError):
        g["expired"]
    assert g.expired.tolist() == [False, False]


def _bsm(grid, **overrides):
    return bsm_price(**{**grid, **overrides})


@pytest.mark.parametrize("dividend_yield", [0.0, 0.03])
def test_bsm_greeks_match_finite_differences(dividend_yield: float) -> None:
    grid: dict[str, Any] = {
        **nifty_grid(2000, seed=5),
        "rate": 0.07,
        "dividend_yield": dividend_yield,
    }
    g = bsm_greeks(**grid)
    s, t, v, r = grid["spot"], grid["t_years"], grid["sigma"], grid["rate"]
    hs, ht, hv, hr = s * 1e-5, 1e-7, 1e-6, 1e-6
    delta = (_bsm(grid, spot=s + hs) - _bsm(grid, spot=s - hs)) / (2 * hs)
    gamma = (_bsm(grid, spot=s + hs) - 2 * _bsm(grid) + _bsm(grid, spot=s - hs)) / hs**2
    theta = -(_bsm(grid, t_years=t + ht) - _bsm(grid, t_years=t - ht)) / (2 * ht) / 365
    vega = (_bsm(grid, sigma=v + hv) - _bsm(grid, sigma=v - hv)) / (2 * hv) / 100
    rho = (_bsm(grid, rate=r + hr) - _bsm(grid, rate=r - hr)) / (2 * hr) / 100
    np.testing.assert_allclose(g.delta, delta, atol=1e-7)
    np.testing.assert_allclose(g.gamma, gamma, atol=2e-6)
    np.testing.assert_allclose(g.theta, theta, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(g.vega, vega, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(g.rho, rho, atol=1e-6, rtol=1e-6)


def test_black76_greeks_match_finite_differences() -> None:
    grid = nifty_grid(2000, seed=6)
    forward = grid.pop("spot") * 1.004
    base: dict[str, Any] = {**grid, "forward": forward, "rate": 0.065}
    g = black76_greeks(**base)

    def price(**overrides):
        return black76_price(**{**base, **overrides})

    f, t, v, r = forward, grid["t_years"], grid["sigma"], 0.065
    hf, ht, hv, hr = f * 1e-5, 1e-7, 1e-6, 1e-6
    np.testing.assert_allclose(
        g.delta, (price(forward=f + hf) - price(forward=f - hf)) / (2 * hf), atol=1e-7
    )
    np.testing.assert_allclose(
        g.gamma, (price(forward=f + hf) - 2 * price() + price(forward=f - hf)) / hf**2, atol=2e-6
    )
    theta = -(price(t_years=t + ht) - price(t_years=t - ht)) / (2 * ht) / 365
    np.testing.assert_allclose(g.theta, theta, atol=1e-5, rtol=1e-5)
    vega = (price(sigma=v + hv) - price(sigma=v - hv)) / (2 * hv) / 100
    np.testing.assert_allclose(g.vega, vega, atol=1e-6, rtol=1e-6)
    rho = (price(rate=r + hr) - price(rate=r - hr)) / (2 * hr) / 100
    np.testing.assert_allclose(g.rho, rho, atol=1e-6, rtol=1e-6)


def test_expired_options_carry_intrinsic_limits_even_without_sigma() -> None:
    g = bsm_greeks(
        spot=24000,
        strike=[23000, 25000, 23000, 25000, 24000],
        t_years=[0.0, 0.0, -0.01, 0.0, 0.0],
        rate=0.1,
        sigma=np.nan,  # a failed IV: expiry limits do not need it
        is_call=[True, True, False, False, True],
    )
    np.testing.assert_array_equal(g.delta, [1.0, 0.0, 0.0, -1.0, 0.0])
    for name in ("gamma", "theta", "vega", "rho"):
        np.testing.assert_array_equal(g[name], 0.0)
    assert g.expired.all()


def test_bad_inputs_give_nan_greeks_not_exceptions() -> None:
    g = bsm_greeks(
        spot=[24000, -1, np.nan, 24000, 24000],
        strike=24000,
        t_years=0.02,
        rate=0.1,
        sigma=[np.nan, 0.2, 0.2, 0.0, 0.2],
        is_call=True,
    )
    for name in GREEK_NAMES:
        assert np.isnan(g[name][:4]).all()
        assert np.isfinite(g[name][4])
    assert not g.expired.any()

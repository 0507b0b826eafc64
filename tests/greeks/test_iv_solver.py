"""greeks._iv_solver: the start table's accuracy and the solver on the normalised form."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from greeks._iv_solver import initial_guess, solve_total_volatility


def normalised_price(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.exp(x / 2) * ndtr(x / s + s / 2) - np.exp(-x / 2) * ndtr(x / s - s / 2)


def test_start_is_within_5e_4_on_the_realistic_domain() -> None:
    rng = np.random.default_rng(1)
    x = -rng.uniform(0.0, 0.12, 50_000)
    s = rng.uniform(0.08, 0.40, 50_000) * np.sqrt(rng.uniform(1, 60, 50_000) / 365)
    beta = normalised_price(x, s)
    keep = beta > 1e-10
    assert np.abs(initial_guess(x[keep], beta[keep]) / s[keep] - 1).max() < 5e-4


def test_solver_recovers_total_volatility_over_a_wide_domain() -> None:
    rng = np.random.default_rng(2)
    x = -rng.uniform(0.0, 1.0, 50_000)
    s = rng.uniform(0.001, 3.0, 50_000)
    beta = normalised_price(x, s)
    keep = (beta > 1e-8) & (beta < 0.99 * np.exp(x / 2))
    total_vol, converged = solve_total_volatility(x[keep], beta[keep])
    assert converged.all()
    np.testing.assert_allclose(total_vol, s[keep], rtol=1e-9)


def test_start_outside_the_table_still_converges() -> None:
    x = np.array([-3.0, -0.0, -1e-9])
    s = np.array([0.5, 4.0, 0.0001])
    total_vol, converged = solve_total_volatility(x, normalised_price(np.where(x == 0, -0.0, x), s))
    assert converged.all()
    np.testing.assert_allclose(total_vol, s, rtol=1e-9)

"""greeks._normal_cdf: the numpy-only ndtr gives scipy.special.ndtr's numbers, tails included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from greeks._normal_cdf import ndtr

# numpy's exp and the C library's may differ in the last place; everything else rounds as
# Cephes does, so the results stay within a few ulp (measured: at most 4, in the subnormal tail).
MAX_ULPS = 4
# Elements at most this many take the small-array evaluation; more take the chunked one.
SMALL = 30


def _grid() -> np.ndarray:
    dense = np.linspace(-40.0, 40.0, 800_001)
    # Each branch point of x = a/sqrt(2) (|x| = 1, 8, and where exp(-x^2) underflows) with the
    # doubles on either side of it.
    edges = []
    for x_edge in (1.0, 8.0, math.sqrt(709.782712893384)):
        for sign in (1.0, -1.0):
            a = sign * x_edge * math.sqrt(2.0)
            for _ in range(40):
                a = math.nextafter(a, -math.inf)
            for _ in range(80):
                edges.append(a)
                a = math.nextafter(a, math.inf)
    tiny = [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-8, -1e-8]
    return np.concatenate([dense, edges, tiny])


def _ulps_apart(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    # Both are in [0, 1], so their bit patterns order like their values.
    return np.abs(ours.view(np.int64) - reference.view(np.int64))


@pytest.mark.parametrize("chunk", [None, SMALL], ids=["whole-array", "30-element-calls"])
def test_matches_scipy_over_the_whole_range(chunk: int | None) -> None:
    grid = _grid()
    reference = special.ndtr(grid)
    if chunk is None:
        ours = ndtr(grid)
    else:
        ours = np.concatenate([ndtr(part) for part in np.array_split(grid, grid.size // chunk)])
    assert _ulps_apart(ours, reference).max() <= MAX_ULPS
    normal = reference >= np.finfo(np.float64).tiny
    relative = np.abs(ours[normal] - reference[normal]) / reference[normal]
    assert relative.max() < 1e-15
    assert (ours == reference).mean() > 0.95  # mostly bit for bit


@pytest.mark.parametrize("size", [1, SMALL, 100_000])
def test_special_values(size: int) -> None:
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 38.5, -38.5, 1e308, -1e308])
    values = np.resize(specials, size)  # repeated to size: both evaluations see them
    np.testing.assert_array_equal(ndtr(values), special.ndtr(values))  # NaN where scipy's is
    assert ndtr(specials).tolist()[1:] == [1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 1.0, 0.0]


def test_keeps_the_shape_and_returns_a_new_writable_array() -> None:
    values = np.linspace(-3.0, 3.0, 12).reshape(3, 4)
    result = ndtr(values)
    assert result.shape == (3, 4)
    assert result.dtype == np.float64
    result *= 2.0  # callers scale the result in place (greeks._iv_solver)
    np.testing.assert_array_equal(values, np.linspace(-3.0, 3.0, 12).reshape(3, 4))
    assert ndtr(0.0).shape == ()
    assert float(ndtr(1.0)) == special.ndtr(1.0)
    assert ndtr([1, 2]).tolist() == special.ndtr([1.0, 2.0]).tolist()

"""The implied-volatility core: invert a normalised out-of-the-money Black price.

Every option is reduced (by ``greeks.engine``) to an out-of-the-money call in Jäckel's
normalised form: ``x = -|ln(F/K)| <= 0`` and ``beta = otm_price / (discount * sqrt(F*K))``,
with ``0 < beta < exp(x/2)``. This module finds the total volatility ``s = sigma*sqrt(t)`` with

    b(x, s) = exp(x/2) N(x/s + s/2) - exp(-x/2) N(x/s - s/2) = beta

Start: bilinear interpolation of ``ln s`` in a table over ``(ln beta - x/2, ln|x|)``, built once
at import by this same solver (relative error below 5e-4 over the table). Then fourth-order
Householder steps on ``g(s) = ln b(s) - ln beta`` (the log keeps ``g`` close to linear for the
small prices of short-dated out-of-the-money options), kept inside a bracket with a Newton and
then a bisection fall-back. Elements leave the working set as soon as they converge, so the
rare slow element costs only itself. Usually one step suffices: from a start within 5e-4, a
quartic step leaves an error of order 1e-13, and the step size itself certifies it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from greeks._normal_cdf import ndtr

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
# Householder steps converge quartically: after a step of relative size d the error is of order
# d**4 (times a constant of order one for this objective), so stopping once a step is below
# 1e-3 leaves ~1e-12 relative in sigma; the tests bound the error at 1e-10 absolute (measured
# worst: 1.7e-12 on 100k NIFTY options, 3.7e-12 on a wider 1M grid).
_RELATIVE_STEP_DONE = 1e-3
# Bisection from a bad start halves the bracket; 100 steps cover any float64 bracket.
MAX_ITERATIONS = 100

# The start table: ln s on a grid of c = ln(beta) - x/2 (log of the price over its upper bound)
# and l = ln|x|. Outside it the start is clamped to its edge and the iteration does the rest.
_GRID_STEP = 0.1
_C_GRID = np.arange(-32.0, -0.02, _GRID_STEP)
_L_GRID = np.arange(-14.0, 0.0 + 1e-9, _GRID_STEP)


def _crude_guess(x: FloatArray, beta: FloatArray) -> FloatArray:
    """The deep out-of-the-money asymptote or the at-the-money slope, whichever is larger."""
    deep = np.abs(x) / np.sqrt(-2.0 * np.log(beta))
    return np.maximum(deep, _SQRT_2PI * beta)


def _step(
    x: FloatArray, s: FloatArray, log_beta: FloatArray, ex_half: FloatArray, ex_mhalf: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Objective ``g = ln b - ln beta``, the Householder step and the Newton step at ``s``.

    Written with in-place operations: at a million options every temporary costs a page-faulted
    8 MB allocation, about as much as the arithmetic itself.
    """
    x_over_s = x / s
    half_s = 0.5 * s
    n = x.shape[0]
    # Both arguments in one ndtr call: its fixed cost dominates the live worker's small batches.
    d_both = np.empty(2 * n)
    d = d_both[:n]
    np.add(x_over_s, half_s, out=d)
    np.subtract(x_over_s, half_s, out=d_both[n:])
    both = ndtr(d_both)
    b = both[:n]
    b *= ex_half
    nd2 = both[n:]
    nd2 *= ex_mhalf
    b -= nd2
    g = np.log(b)
    g -= log_beta
    x_over_s *= x_over_s  # now (x/s)^2
    # ln(vega) of the normalised price is -x^2/(2 s^2) - s^2/8 - ln sqrt(2 pi).
    vega = nd2  # reuse the buffer
    np.multiply(half_s, half_s, out=vega)
    vega += x_over_s
    vega *= -0.5
    vega -= _LOG_SQRT_2PI
    np.exp(vega, out=vega)
    slope = vega
    slope /= b  # g'
    # h = vega'/vega = x^2/s^3 - s/4; dh = h' = -3 x^2/s^4 - 1/4.
    h = np.divide(x_over_s, s, out=d)
    h -= 0.5 * half_s
    dh = np.divide(x_over_s, s * s, out=x_over_s)
    dh *= -3.0
    dh -= 0.25
    a = h - slope  # g''/g'
    # c = g'''/g' = h^2 + h' - 3 g' h + 2 g'^2, accumulated in dh.
    dh += h * h
    h *= slope
    h *= 3.0
    dh -= h
    np.multiply(slope, slope, out=h)
    h *= 2.0
    dh += h
    newton = np.divide(g, slope, out=slope)
    np.negative(newton, out=newton)
    a *= newton  # a * n
    numerator = a * 0.5
    numerator += 1.0
    numerator *= newton
    np.multiply(newton, newton, out=b)
    b *= dh
    b *= 1.0 / 6.0
    b += a
    b += 1.0
    numerator /= b
    return g, numerator, newton


def _iterate(x: FloatArray, beta: FloatArray, start: FloatArray) -> tuple[FloatArray, BoolArray]:
    n = x.shape[0]
    result = np.full(n, np.nan)
    converged = np.zeros(n, dtype=bool)
    index: IntArray = np.arange(n)
    s = start
    log_beta = np.log(beta)
    ex_half = np.exp(0.5 * x)
    ex_mhalf = 1.0 / ex_half
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    for _ in range(MAX_ITERATIONS):
        if index.shape[0] == 0:
            break
        g, step, newton = _step(x, s, log_beta, ex_half, ex_mhalf)
        below = g < 0.0
        np.copyto(lo, s, where=below)
        np.copyto(hi, s, where=~below)
        new_s = s + step
        # A zero objective is convergence, not a bracket miss (g == 0 puts s on the bracket).
        exact = g == 0.0
        inside = ((new_s > lo) & (new_s < hi)) | exact
        done = inside & (np.abs(step) <= _RELATIVE_STEP_DONE * s)
        if not inside.all():
            # Rare: a Householder step left the bracket; try Newton, else bisect (or double
            # while no upper bound is known).
            out = ~inside
            fallback = s[out] + newton[out]
            lo_out, hi_out = lo[out], hi[out]
            bisect = np.where(np.isfinite(hi_out), 0.5 * (lo_out + hi_out), 2.0 * s[out])
            usable = (fallback > lo_out) & (fallback < hi_out)
            new_s[out] = np.where(usable, fallback, bisect)
        if done.all():  # the usual end: one step from the table's start
            result[index] = new_s
            converged[index] = True
            break
        if done.any():
            finished = index[done]
            result[finished] = new_s[done]
            converged[finished] = True
            keep = ~done
            # Compaction copies a few arrays: far cheaper than iterating finished elements.
            index, x, log_beta = index[keep], x[keep], log_beta[keep]
            ex_half, ex_mhalf = ex_half[keep], ex_mhalf[keep]
            lo, hi, new_s = lo[keep], hi[keep], new_s[keep]
        s = new_s
    return result, converged


def _build_start_table() -> FloatArray:
    c_mesh, l_mesh = np.meshgrid(_C_GRID, _L_GRID, indexing="ij")
    x = -np.exp(l_mesh.ravel())
    beta = np.exp(c_mesh.ravel() + 0.5 * x)
    with np.errstate(all="ignore"):
        s, converged = _iterate(x, beta, _crude_guess(x, beta))
        # A few extreme corners (tiny prices far from the money) lose all precision in float64;
        # the crude start is good enough for them.
        s = np.where(converged, s, _crude_guess(x, beta))
        return np.log(s).reshape(c_mesh.shape)


_LOG_S_TABLE = _build_start_table().ravel()


def initial_guess(x: FloatArray, beta: FloatArray) -> FloatArray:
    """Start for ``s``: bilinear interpolation of ``ln s`` in the table (relative error < 5e-4)."""
    n_l = _L_GRID.shape[0]
    fc = np.log(beta)
    fc -= 0.5 * x
    fc -= _C_GRID[0]
    fc *= 1.0 / _GRID_STEP
    np.clip(fc, 0.0, _C_GRID.shape[0] - 1.000001, out=fc)
    fl = np.log(-x)
    fl -= _L_GRID[0]
    fl *= 1.0 / _GRID_STEP
    # At the money (x == 0) ln|x| is -inf: the lowest grid line is at-the-money enough.
    np.clip(fl, 0.0, n_l - 1.000001, out=fl)
    ic = fc.astype(np.intp)
    il = fl.astype(np.intp)
    fc -= ic  # weights within the cell
    fl -= il
    k = ic * n_l
    k += il
    low = np.take(_LOG_S_TABLE, k)
    high = np.take(_LOG_S_TABLE, k + n_l)
    high -= low
    high *= fc
    low += high  # interpolated along c at the lower l line
    k += 1
    low2 = np.take(_LOG_S_TABLE, k)
    k += n_l
    high = np.take(_LOG_S_TABLE, k, out=high)
    high -= low2
    high *= fc
    low2 += high  # along c at the upper l line
    low2 -= low
    low2 *= fl
    low += low2
    return np.exp(low, out=low)


def solve_total_volatility(x: FloatArray, beta: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Total volatility ``s`` with ``b(x, s) = beta`` for 1-d arrays of valid inputs.

    Returns ``(s, converged)``; ``s`` is NaN where the iteration cap was reached.
    """
    if x.shape[0] == 0:
        return np.empty(0), np.zeros(0, dtype=bool)
    with np.errstate(all="ignore"):
        return _iterate(x, beta, initial_guess(x, beta))

"""The standard normal CDF in numpy alone: ``ndtr(a)``, the numbers ``scipy.special.ndtr`` gives.

Why not scipy: ``ndtr`` is the only part of scipy the product uses, and importing
``scipy.special`` costs every streaming worker about 18 MB of RSS (docs/fleet.md, "Benchmark").
scipy stays a dependency of the tests and benchmarks (the reference here, and mibian's).

Where the numbers come from: Cephes ``ndtr``/``erf``/``erfc`` (Cephes Math Library 2.2, Stephen
L. Moshier, 1992) as SciPy runs them (``include/xsf/cephes/ndtr.h`` in scipy/xsf, scipy 1.17):
the same rational approximations (``erf`` = x T(x^2)/U(x^2) for |x| < 1; ``erfc`` =
exp(-x^2) P(x)/Q(x) for 1 <= x < 8 and exp(-x^2) R(x)/S(x) beyond), the same branch points, the
same Horner order, and 0 once x^2 exceeds Cephes' MAXLOG. Every step rounds as the C code does,
so the result is scipy's bit for bit except where numpy's ``exp`` and the C library's differ in
the last place (at most 3 ulp apart, measured on a dense grid over [-40, 40];
tests/greeks/test_normal_cdf.py).

Two evaluations of the same arithmetic. Small arrays (the live worker prices a few dozen options
per call) gather each element's coefficients into one table and run one Horner loop over all of
them: about 30 numpy calls whatever mix of branches the array holds. Large arrays (candle
backfills) evaluate each branch on its own elements with scalar coefficients, which does less
work per element. Timings (2-CPU machine, scipy's in brackets): 30 elements ~16 us (0.5 us: the
overhead of ~30 numpy calls), 1,000 ~44 us (10 us), 100,000 ~1.8 ms (1.8 ms).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

# Cephes ndtr.c coefficients, highest power first; the denominators' leading 1 is written out.
_P: Final = (
    2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
    4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
    9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2,
)  # fmt: skip
_Q: Final = (
    1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
    9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
    1.65666309194161350182e3, 5.57535340817727675546e2,
)  # fmt: skip
_R: Final = (
    5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
    6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0,
)  # fmt: skip
_S: Final = (
    1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
    1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0,
)  # fmt: skip
_T: Final = (
    9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
    7.00332514112805075473e3, 5.55923013010394962768e4,
)  # fmt: skip
_U: Final = (
    1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
    2.26290000613890934246e4, 4.92673942608635921086e4,
)  # fmt: skip
_MAXLOG: Final = 7.09782712893383996843e2  # Cephes: erfc underflows to 0 once x^2 > MAXLOG
_MID: Final = 8.0  # erfc's switch from P/Q to R/S
_SQRT1_2: Final = math.sqrt(0.5)


def _first_underflowing() -> float:
    """The least double ``z`` whose rounded square exceeds MAXLOG: erfc(z) is 0 from there."""
    z = math.sqrt(_MAXLOG)
    while z * z > _MAXLOG:
        z = math.nextafter(z, 0.0)
    while not z * z > _MAXLOG:
        z = math.nextafter(z, math.inf)
    return z


_Z_UNDER: Final = _first_underflowing()

# The gathered evaluation. Bins of x = a / sqrt(2), sign folded in so one lookup serves both the
# coefficients and the final affine step (Cephes: |x| < 1 is erf, |x| >= 1 is erfc):
#   0: x <= -Z_UNDER  1: (-Z_UNDER, -8]  2: (-8, -1]  3: (-1, 0)  4: [0, 1)  5: [1, 8)
#   6: [8, Z_UNDER)   7: x >= Z_UNDER (and NaN, which sorts last)
# searchsorted(side="right") puts x in bin i when bound[i-1] <= x < bound[i]; the negative side
# needs x <= bound, hence each negative bound's next double up.
_BOUNDS: Final = np.array(
    [math.nextafter(-b, math.inf) for b in (_Z_UNDER, _MID, 1.0)] + [0.0, 1.0, _MID, _Z_UNDER]
)
_STEPS: Final = len(_P)  # the longest polynomial; shorter ones are padded with leading zeros
_ZERO: Final = (0.0,)
_ONE: Final = (1.0,)
_BIN_POLYNOMIALS: Final = (
    (_ZERO, _ONE), (_R, _S), (_P, _Q), (_T, _U), (_T, _U), (_P, _Q), (_R, _S), (_ZERO, _ONE),
)  # fmt: skip


def _padded(coefficients: tuple[float, ...]) -> tuple[float, ...]:
    # A leading 0 keeps Horner exact: 0*t + c is c, and 1*t is t (t is finite, see the clamp).
    return (0.0,) * (_STEPS - len(coefficients)) + coefficients


# Row 2*step is the numerators' coefficient at that Horner step, row 2*step+1 the denominators';
# one column per bin.
_TABLE: Final = np.array(
    [[_padded(num), _padded(den)] for num, den in _BIN_POLYNOMIALS], dtype=np.float64
).transpose(2, 1, 0).reshape(2 * _STEPS, len(_BIN_POLYNOMIALS)).copy()  # fmt: skip
_IS_ERF: Final = np.array([False, False, False, True, True, False, False, False])
# ndtr = OFFSET + SCALE * rational: 0.5 + 0.5*erf(x) (erf is odd), 0.5*erfc(|x|) for x < 0,
# 1 - 0.5*erfc(x) for x > 0. The multiplication by +-0.5 and the addition round as Cephes does.
_SCALE: Final = np.array([0.5, 0.5, 0.5, -0.5, 0.5, -0.5, -0.5, -0.5])
_OFFSET: Final = np.array([0.0, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.0])
# Past Z_UNDER every |x| gives 0 or 1; clamping keeps infinities out of 0*t in the padded steps.
_CLAMP: Final = np.float64(64.0)
# Measured crossover between the two evaluations (both exact): ~2,000 elements.
_GATHERED_MAX_SIZE: Final = 2048
# Large arrays go through in chunks whose temporaries (96 KB) stay under glibc's default mmap
# threshold (128 KB): they are reused from the heap instead of page-faulted afresh, which on the
# 2-CPU machine made 100k elements 2x faster.
_CHUNK: Final = 12_288


def ndtr(a: ArrayLike) -> FloatArray:
    """The standard normal CDF of every element of ``a``, as a new float64 array of its shape."""
    values = np.asarray(a, dtype=np.float64)
    flat = values.ravel()
    if flat.size <= _GATHERED_MAX_SIZE:
        result = _gathered(flat * _SQRT1_2)
    else:
        result = np.empty_like(flat)
        for start in range(0, flat.size, _CHUNK):
            end = start + _CHUNK
            _by_branch(flat[start:end] * _SQRT1_2, out=result[start:end])
    return result.reshape(values.shape)


def _gathered(x: FloatArray) -> FloatArray:
    """One Horner loop over all elements, each with its bin's coefficients (few numpy calls)."""
    n = x.size
    z = np.abs(x)
    np.minimum(z, _CLAMP, out=z)
    bin_of = _BOUNDS.searchsorted(x, side="right")
    is_erf = _IS_ERF.take(bin_of)
    zz = z * z
    t = np.where(is_erf, zz, z)  # erf's polynomials are in x^2, erfc's in |x|
    np.negative(zz, out=zz)
    exp_minus_zz = np.exp(zz, out=zz)
    factor = np.where(is_erf, z, exp_minus_zz)
    # Numerators then denominators, side by side, so each Horner step is one multiply, one add.
    coefficients = _TABLE.take(bin_of, axis=1).reshape(_STEPS, 2 * n)
    t2 = np.concatenate((t, t))
    acc = coefficients[0] * t2
    for row in coefficients[1:-1]:
        acc += row
        acc *= t2
    acc += coefficients[-1]
    factor *= acc[:n]
    factor /= acc[n:]
    factor *= _SCALE.take(bin_of)
    factor += _OFFSET.take(bin_of)
    return factor


def _polevl(t: FloatArray, coefficients: tuple[float, ...]) -> FloatArray:
    """Cephes ``polevl``: Horner from the highest power."""
    acc = t * coefficients[0]
    for c in coefficients[1:-1]:
        acc += c
        acc *= t
    acc += coefficients[-1]
    return acc


def _by_branch(x: FloatArray, *, out: FloatArray) -> None:
    """Each Cephes branch on its own elements, scalar coefficients (less work per element).

    Elements are picked by index and updated in place: boolean-mask indexing and ``np.where`` on
    a mixed array cost several times more.
    """
    z = np.abs(x)
    at = np.flatnonzero(z < 1.0)
    if at.size:
        xs = x[at]
        zz = xs * xs
        value = _polevl(zz, _T)
        value *= xs
        value /= _polevl(zz, _U)
        value *= 0.5
        value += 0.5
        out[at] = value
    for chosen, num, den in (
        ((z >= 1.0) & (z < _MID), _P, _Q),
        ((z >= _MID) & (z < _Z_UNDER), _R, _S),
    ):
        at = np.flatnonzero(chosen)
        if at.size:
            zs = z[at]
            value = zs * zs
            np.negative(value, out=value)
            np.exp(value, out=value)
            value *= _polevl(zs, num)
            value /= _polevl(zs, den)
            value *= 0.5
            np.subtract(1.0, value, out=value, where=x[at] > 0.0)
            out[at] = value
    at = np.flatnonzero(~(z < _Z_UNDER))  # erfc underflowed (0 or 1), infinities, NaN
    if at.size:
        out[at] = 0.5 + 0.5 * np.sign(x[at])

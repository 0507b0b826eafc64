"""Input coercion shared by the engine's modules: float64 arrays, boolean option flags."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def as_flags(is_call: ArrayLike) -> BoolArray:
    """Option type as booleans; strings such as "CE" are refused rather than guessed."""
    flags = np.asarray(is_call)
    if flags.dtype.kind not in "biu":
        raise TypeError(f"is_call must be boolean (True for calls), got dtype {flags.dtype}")
    return flags.astype(bool, copy=False)


def as_float(value: ArrayLike) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def invalid_inputs(underlying: FloatArray, strike: FloatArray, *others: FloatArray) -> BoolArray:
    """Non-finite inputs or a non-positive underlying or strike."""
    bad = ~(np.isfinite(underlying) & np.isfinite(strike)) | (underlying <= 0.0) | (strike <= 0.0)
    for value in others:
        bad |= ~np.isfinite(value)
    return bad

"""Kite segment codes, price divisors and instrument-token arithmetic (as kiteconnect 5.2.2)."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

NSE: Final = 1
NFO: Final = 2
CDS: Final = 3
BSE: Final = 4
BFO: Final = 5
BCD: Final = 6
MCX: Final = 7
MCXSX: Final = 8
INDICES: Final = 9
NCO: Final = 12

# Currency segments carry more decimals; kiteconnect 5.2.2 divides CDS by 1e7 and BCD/NCO by 1e4
# (the docs' prose differs; the client is what every consumer actually sees).
_SPECIAL_DIVISORS: Final[dict[int, float]] = {CDS: 10_000_000.0, BCD: 10_000.0, NCO: 10_000.0}
DEFAULT_DIVISOR: Final = 100.0


def price_divisors(segments: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Divisors turning packets' integer prices into rupees, per segment code."""
    seg = np.asarray(segments)
    out = np.full(seg.shape, DEFAULT_DIVISOR, dtype=np.float64)
    for code, divisor in _SPECIAL_DIVISORS.items():
        out[seg == code] = divisor
    return out


def instrument_token(exchange_token: int, segment: int) -> int:
    """Kite's token: the exchange token shifted left one byte, with the segment in the low byte."""
    if not 0 <= segment <= 0xFF:
        raise ValueError(f"segment code {segment} does not fit in one byte")
    return (exchange_token << 8) | segment


def segments_of(tokens: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Segment codes carried in tokens' low byte."""
    return tokens & 0xFF

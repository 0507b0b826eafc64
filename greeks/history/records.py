"""Typed historical candles: what the fetcher hands to pricing and storage.

A ``CandleSeries`` is one instrument's candles for one interval as column arrays, already
validated at the Kite edge (bad rows were counted and dropped there), so pricing and storage
work on arrays and never loop per candle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """Candles of one instrument and interval, oldest first, one entry per candle."""

    instrument_token: int
    interval: str
    ts: npt.NDArray[np.int64]  # candle start, epoch seconds (UTC), strictly increasing
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.int64]
    oi: npt.NDArray[np.int64]  # 0 where Kite sends none (indices)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

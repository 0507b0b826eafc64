"""Kite's candle intervals and when a candle of each closes (pure: no Django, no clock).

A candle is stamped with its START. It closes ``interval`` later, but never after the session
close (15:30 IST) of its day: Kite's last 60minute candle starts at 15:15 and holds 15 minutes,
and a day candle (stamped 00:00 IST) closes at 15:30.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from greeks.expiry_time import SESSION_CLOSE_MINUTE

# Kite's interval names -> their length in seconds.
KITE_INTERVAL_SECONDS: Final[dict[str, int]] = {
    "minute": 60,
    "3minute": 180,
    "5minute": 300,
    "10minute": 600,
    "15minute": 900,
    "30minute": 1800,
    "60minute": 3600,
    "day": 86400,
}
KITE_INTERVALS: Final = tuple(KITE_INTERVAL_SECONDS)
_IST_OFFSET_SECONDS: Final = 330 * 60
_DAY_SECONDS: Final = 86400


def interval_seconds(interval: str) -> int:
    """The length of a Kite interval; ``ValueError`` naming the valid ones for anything else."""
    try:
        return KITE_INTERVAL_SECONDS[interval]
    except KeyError:
        raise ValueError(
            f"unknown interval {interval!r}; Kite's are {', '.join(KITE_INTERVALS)}"
        ) from None


def candle_close_epoch(start_epoch: npt.NDArray[np.int64], interval: str) -> npt.NDArray[np.int64]:
    """Close time of each candle (epoch seconds): start + interval, capped at 15:30 IST that day."""
    length = interval_seconds(interval)
    start = np.asarray(start_epoch, dtype=np.int64)
    ist_midnight = (start + _IST_OFFSET_SECONDS) // _DAY_SECONDS * _DAY_SECONDS
    session_close = ist_midnight - _IST_OFFSET_SECONDS + SESSION_CLOSE_MINUTE * 60
    closes: npt.NDArray[np.int64] = np.minimum(start + length, session_close)
    return closes

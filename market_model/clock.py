"""A virtual clock: wall time shifted by a fixed offset, so a session can run at any hour."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Final

IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")
SESSION_OPEN: Final = (9, 15)
SESSION_CLOSE: Final = (15, 30)


def session_start_for(wall: datetime, *, at: tuple[int, int] = (9, 30)) -> datetime:
    """The IST moment a pretend session starts at: today's ``at`` (or the next weekday's)."""
    day: date = wall.astimezone(IST).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, at[0], at[1], tzinfo=IST)


class VirtualClock:
    """``now()`` = wall clock + offset, in epoch seconds; ``offset`` is fixed at construction.

    ``wall`` is injectable so tests (and the in-process mock mode) can drive time themselves.
    """

    def __init__(self, *, offset_seconds: float = 0.0, wall: Callable[[], float] = time.time):
        self.offset_seconds = offset_seconds
        self._wall = wall

    @classmethod
    def starting_at(
        cls, virtual_start: datetime, *, wall: Callable[[], float] = time.time
    ) -> VirtualClock:
        """A clock whose ``now()`` is ``virtual_start`` at the moment of construction."""
        return cls(offset_seconds=virtual_start.timestamp() - wall(), wall=wall)

    def now(self) -> float:
        return self._wall() + self.offset_seconds

    def now_ist(self) -> datetime:
        return datetime.fromtimestamp(self.now(), IST)

    def wall_now(self) -> float:
        """The real (unshifted) time, for latency stamps a benchmark compares with its own clock."""
        return self._wall()

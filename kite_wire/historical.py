"""Kite's historical candles endpoint: intervals, span limits per request, and chunking (pure).

One definition shared by the fetcher (which splits a range into requests Kite accepts) and the
simulator (which refuses wider requests as Kite does). Kite's rule, as the forum states it and
the simulator enforces it: a request whose ``to - from`` exceeds the interval's limit answers
``InputException: interval exceeds max limit: N days``; a span of exactly N days is accepted.
``to`` is inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Final

MAX_SPAN_DAYS: Final[dict[str, int]] = {
    "minute": 60,
    "3minute": 100,
    "5minute": 100,
    "10minute": 100,
    "15minute": 200,
    "30minute": 200,
    "60minute": 400,
    "day": 2000,
}
INTERVALS: Final = tuple(MAX_SPAN_DAYS)
HISTORICAL_REQUESTS_PER_SECOND: Final = 3  # per api_key (Kite's documented limit)
# Kite's wire format of ``from``/``to`` (kiteconnect formats datetimes the same way).
REQUEST_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


class SpanError(ValueError):
    """A request Kite would refuse with an InputException (bad interval or span)."""


def check_span(interval: str, start: datetime, end: datetime) -> None:
    """Raise `SpanError` with Kite's message when Kite would refuse ``[start, end]``."""
    if interval not in MAX_SPAN_DAYS:
        raise SpanError(f"invalid interval: {interval}")
    if end < start:
        raise SpanError("from date is after to date")
    limit = MAX_SPAN_DAYS[interval]
    if end - start > timedelta(days=limit):
        raise SpanError(f"interval exceeds max limit: {limit} days")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One request's inclusive range."""

    start: datetime
    end: datetime


def span_chunks(interval: str, start: datetime, end: datetime) -> list[Chunk]:
    """``[start, end]`` as consecutive requests Kite accepts, each spanning at most the limit.

    Chunks do not overlap: the next starts one second after the previous ends (Kite's
    ``from``/``to`` have one-second resolution and ``to`` is inclusive).
    """
    if interval not in MAX_SPAN_DAYS:
        raise SpanError(f"invalid interval: {interval}")
    if end < start:
        raise SpanError("from date is after to date")
    span = timedelta(days=MAX_SPAN_DAYS[interval])
    chunks: list[Chunk] = []
    cursor = start
    while cursor <= end:
        chunk_end = min(cursor + span, end)
        chunks.append(Chunk(cursor, chunk_end))
        cursor = chunk_end + timedelta(seconds=1)
    return chunks


@dataclass(frozen=True, slots=True)
class DayRun:
    """Consecutive calendar days fetched by one request: ``first`` 00:00:00 to ``last`` 23:59:59."""

    first: date
    last: date

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The request's ``from`` and ``to`` in the exchange's zone ``tz``."""
        return (
            datetime.combine(self.first, time(0, 0, 0), tzinfo=tz),
            datetime.combine(self.last, time(23, 59, 59), tzinfo=tz),
        )

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def day_runs(interval: str, days: list[date]) -> list[DayRun]:
    """Group sorted distinct ``days`` into runs of consecutive days, each one request.

    A run of N days spans N days minus one second, so it may hold up to the interval's limit
    in days; a gap in ``days`` (a day already fetched) starts a new run.
    """
    if interval not in MAX_SPAN_DAYS:
        raise SpanError(f"invalid interval: {interval}")
    limit = MAX_SPAN_DAYS[interval]
    runs: list[DayRun] = []
    for day in sorted(set(days)):
        if (
            runs
            and day == runs[-1].last + timedelta(days=1)
            and ((day - runs[-1].first).days < limit)
        ):
            runs[-1] = DayRun(runs[-1].first, day)
        else:
            runs.append(DayRun(day, day))
    return runs

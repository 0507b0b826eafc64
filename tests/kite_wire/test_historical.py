"""Kite's historical span limits and the chunking of a range into requests, at the exact limits."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from kite_wire.historical import (
    INTERVALS,
    MAX_SPAN_DAYS,
    Chunk,
    DayRun,
    SpanError,
    check_span,
    day_runs,
    span_chunks,
)
from market_model.clock import IST

START = datetime(2026, 1, 1, 9, 15, tzinfo=IST)


def test_the_span_table_is_kites() -> None:
    assert MAX_SPAN_DAYS == {
        "minute": 60, "3minute": 100, "5minute": 100, "10minute": 100,
        "15minute": 200, "30minute": 200, "60minute": 400, "day": 2000,
    }  # fmt: skip


@pytest.mark.parametrize("interval", INTERVALS)
def test_check_span_accepts_exactly_the_limit_and_refuses_one_second_more(interval: str) -> None:
    limit = timedelta(days=MAX_SPAN_DAYS[interval])
    check_span(interval, START, START + limit)
    with pytest.raises(SpanError, match=f"interval exceeds max limit: {limit.days} days"):
        check_span(interval, START, START + limit + timedelta(seconds=1))


@pytest.mark.parametrize("interval", INTERVALS)
def test_a_range_of_exactly_the_limit_is_one_request(interval: str) -> None:
    end = START + timedelta(days=MAX_SPAN_DAYS[interval])
    assert span_chunks(interval, START, end) == [Chunk(START, end)]


@pytest.mark.parametrize("interval", INTERVALS)
def test_one_second_past_the_limit_is_two_requests_each_accepted(interval: str) -> None:
    limit = timedelta(days=MAX_SPAN_DAYS[interval])
    end = START + limit + timedelta(seconds=1)
    chunks = span_chunks(interval, START, end)
    assert chunks == [Chunk(START, START + limit), Chunk(end, end)]
    for chunk in chunks:
        check_span(interval, chunk.start, chunk.end)


def test_chunks_cover_the_range_without_overlap() -> None:
    end = START + timedelta(days=250, hours=3)
    chunks = span_chunks("minute", START, end)
    assert len(chunks) == 5  # 60 + 60 + 60 + 60 + 10 days
    assert chunks[0].start == START and chunks[-1].end == end
    for before, after in itertools.pairwise(chunks):
        assert after.start == before.end + timedelta(seconds=1)
        check_span("minute", after.start, after.end)


def test_bad_interval_and_reversed_range_are_refused() -> None:
    with pytest.raises(SpanError, match="invalid interval"):
        span_chunks("2minute", START, START)
    with pytest.raises(SpanError, match="after"):
        span_chunks("minute", START, START - timedelta(seconds=1))


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


@pytest.mark.parametrize("interval", INTERVALS)
def test_day_runs_hold_the_limit_in_days_and_each_request_is_accepted(interval: str) -> None:
    limit = MAX_SPAN_DAYS[interval]
    first = date(2026, 1, 1)
    assert day_runs(interval, _days(first, limit)) == [
        DayRun(first, first + timedelta(days=limit - 1))
    ]
    runs = day_runs(interval, _days(first, limit + 1))
    assert [len(r.days) for r in runs] == [limit, 1]
    for run in runs:
        check_span(interval, *run.bounds(IST))


def test_day_runs_split_at_a_gap() -> None:
    first = date(2026, 3, 2)
    days = [first, first + timedelta(days=1), first + timedelta(days=3)]
    assert day_runs("minute", days) == [
        DayRun(first, first + timedelta(days=1)),
        DayRun(first + timedelta(days=3), first + timedelta(days=3)),
    ]
    start, end = day_runs("minute", [first])[0].bounds(IST)
    assert (start.isoformat(), end.isoformat()) == (
        "2026-03-02T00:00:00+05:30",
        "2026-03-02T23:59:59+05:30",
    )

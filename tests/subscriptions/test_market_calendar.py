"""The NSE calendar: sessions, weekends and holidays as data, all from a given ``now``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from subscriptions.market_calendar import (
    MARKET_TZ,
    MarketCalendar,
    is_market_open,
    load_holidays,
    next_open,
    nse_calendar,
)


def ist(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=MARKET_TZ)


def test_holiday_file_lists_known_nse_holidays() -> None:
    holidays = load_holidays()
    assert date(2025, 10, 2) in holidays  # Gandhi Jayanti
    assert date(2025, 12, 25) in holidays
    assert date(2026, 1, 26) in holidays
    assert all(day.weekday() < 5 for day in holidays)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ist(2025, 12, 1, 9, 14, 59), False),  # Monday, before the open
        (ist(2025, 12, 1, 9, 15), True),  # the open
        (ist(2025, 12, 1, 15, 29, 59), True),
        (ist(2025, 12, 1, 15, 30), False),  # the close
        (ist(2025, 12, 6, 11, 0), False),  # Saturday
        (ist(2025, 12, 7, 11, 0), False),  # Sunday
        (ist(2025, 12, 25, 11, 0), False),  # Christmas, a Thursday
        (datetime(2025, 12, 1, 4, 0, tzinfo=UTC), True),  # 09:30 IST given in UTC
    ],
)
def test_is_market_open(now: datetime, expected: bool) -> None:
    assert is_market_open(now) is expected


def test_next_open_skips_weekends_and_holidays() -> None:
    # Wednesday 24 Dec after the close -> Thursday is Christmas -> Friday 26 Dec 09:15.
    assert next_open(ist(2025, 12, 24, 16, 0)) == ist(2025, 12, 26, 9, 15)
    assert next_open(ist(2025, 12, 26, 8, 0)) == ist(2025, 12, 26, 9, 15)
    assert next_open(ist(2025, 12, 26, 10, 0)) == ist(2025, 12, 29, 9, 15)  # Friday -> Monday


def test_custom_holidays_and_naive_now_refused() -> None:
    calendar = MarketCalendar(holidays=frozenset({date(2025, 12, 1)}))
    assert not calendar.is_open(ist(2025, 12, 1, 10, 0))
    assert nse_calendar().is_open(ist(2025, 12, 1, 10, 0))
    with pytest.raises(ValueError, match="aware"):
        calendar.is_open(datetime(2025, 12, 1, 10, 0))  # noqa: DTZ001


def test_first_live_expiry_rolls_at_the_close() -> None:
    calendar = nse_calendar()
    assert calendar.first_live_expiry(ist(2025, 12, 30, 15, 29)) == date(2025, 12, 30)
    assert calendar.first_live_expiry(ist(2025, 12, 30, 15, 30)) == date(2025, 12, 31)

"""Which expiry dates are still live: today's contracts until 15:30 IST, then tomorrow's."""

from __future__ import annotations

from datetime import date, datetime

from chain.selectors import first_live_expiry_date
from greeks.expiry_time import IST


def _at(hour: int, minute: int, second: int = 0) -> float:
    return datetime(2026, 12, 3, hour, minute, second, tzinfo=IST).timestamp()


def test_today_is_live_until_the_close_and_tomorrow_after_it() -> None:
    assert first_live_expiry_date(_at(0, 5)) == date(2026, 12, 3)
    assert first_live_expiry_date(_at(15, 29, 59)) == date(2026, 12, 3)
    assert first_live_expiry_date(_at(15, 30)) == date(2026, 12, 4)
    assert first_live_expiry_date(_at(23, 59)) == date(2026, 12, 4)


def test_the_date_is_indias_not_utcs() -> None:
    # 02:00 IST on the 4th is still the 3rd in UTC.
    at = datetime(2026, 12, 4, 2, 0, tzinfo=IST).timestamp()
    assert first_live_expiry_date(at) == date(2026, 12, 4)

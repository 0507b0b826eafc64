"""NSE trading days and hours: one pure module, every function takes ``now`` (no clock inside).

The regular session is 09:15-15:30 Asia/Kolkata on weekdays that are not exchange holidays;
the holidays are data (``subscriptions/data/nse_holidays.json``), not code. Special sessions
(Diwali muhurat trading) are not modelled: the calendar says closed on those days.

DESIGN.md lists the market calendar under ``streaming``; it lives here because ``streaming``
imports ``subscriptions`` and never the reverse, while the beat jobs and the strike rebalancer
(here) need it too. The account worker's mock mode imports it from this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

MARKET_TZ: Final = ZoneInfo("Asia/Kolkata")
SESSION_OPEN: Final = time(9, 15)
SESSION_CLOSE: Final = time(15, 30)
HOLIDAYS_FILE: Final = Path(__file__).parent / "data" / "nse_holidays.json"
SATURDAY: Final = 5


def load_holidays(path: Path = HOLIDAYS_FILE) -> frozenset[date]:
    """The holiday dates of a JSON file shaped ``{"holidays": {"YYYY-MM-DD": "name"}}``."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    return frozenset(date.fromisoformat(day) for day in payload["holidays"])


@dataclass(frozen=True, slots=True)
class MarketCalendar:
    """A trading calendar: weekdays minus ``holidays``, one session per day in ``tz``."""

    holidays: frozenset[date]
    tz: ZoneInfo = MARKET_TZ
    open_time: time = SESSION_OPEN
    close_time: time = SESSION_CLOSE

    def local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.astimezone(self.tz)

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and day not in self.holidays

    def session(self, day: date) -> tuple[datetime, datetime]:
        """Open and close of ``day``'s session (aware, in the market's zone)."""
        return (
            datetime.combine(day, self.open_time, tzinfo=self.tz),
            datetime.combine(day, self.close_time, tzinfo=self.tz),
        )

    def is_open(self, now: datetime) -> bool:
        """True during the regular session of a trading day (open inclusive, close exclusive)."""
        local = self.local(now)
        if not self.is_trading_day(local.date()):
            return False
        return self.open_time <= local.time() < self.close_time

    def next_trading_day(self, day: date) -> date:
        """The first trading day strictly after ``day``."""
        candidate = day + timedelta(days=1)
        while not self.is_trading_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def next_open(self, now: datetime) -> datetime:
        """The next session open after ``now`` (the current session's open is never returned)."""
        local = self.local(now)
        day = local.date()
        if self.is_trading_day(day) and local.time() < self.open_time:
            return self.session(day)[0]
        return self.session(self.next_trading_day(day))[0]

    def first_live_expiry(self, now: datetime) -> date:
        """The earliest expiry date still trading at ``now``: contracts die at today's close."""
        local = self.local(now)
        if local.time() >= self.close_time:
            return local.date() + timedelta(days=1)
        return local.date()


@cache
def nse_calendar() -> MarketCalendar:
    """The NSE calendar with the packaged holiday list (read once; pure data afterwards)."""
    return MarketCalendar(holidays=load_holidays())


def is_market_open(now: datetime, calendar: MarketCalendar | None = None) -> bool:
    return (calendar or nse_calendar()).is_open(now)


def next_open(now: datetime, calendar: MarketCalendar | None = None) -> datetime:
    return (calendar or nse_calendar()).next_open(now)

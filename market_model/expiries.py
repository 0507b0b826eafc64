"""NSE-style expiry calendar and tradingsymbols, derived from the virtual date.

Monthly expiry = last Tuesday of the month; weeklies = the other Tuesdays. Holidays are not
modelled (the simulator trades every weekday).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

from greeks.engine import expiry_close_epoch
from market_model.clock import IST

TUESDAY: Final = 1
_MONTHS: Final = tuple("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())
# Weekly contracts code the month in one character: 1-9, then O, N, D.
_WEEKLY_MONTH_CODES: Final = "123456789OND"


def last_tuesday(year: int, month: int) -> date:
    next_month = date(year + month // 12, month % 12 + 1, 1)
    day = next_month - timedelta(days=1)
    while day.weekday() != TUESDAY:
        day -= timedelta(days=1)
    return day


def monthly_expiries(today: date, count: int) -> list[date]:
    """The next ``count`` monthly expiries on or after ``today``."""
    out: list[date] = []
    year, month = today.year, today.month
    while len(out) < count:
        expiry = last_tuesday(year, month)
        if expiry >= today:
            out.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def weekly_expiries(today: date, count: int, *, monthlies: set[date]) -> list[date]:
    """The next ``count`` Tuesdays on or after ``today`` that are not monthly expiries."""
    out: list[date] = []
    day = today + timedelta(days=(TUESDAY - today.weekday()) % 7)
    while len(out) < count:
        if day not in monthlies:
            out.append(day)
        day += timedelta(days=7)
    return out


def expiry_close(expiry: date) -> datetime:
    """Contracts expire at the 15:30 IST close of their expiry date."""
    return datetime.fromtimestamp(expiry_close_epoch(expiry), IST)


def option_symbol(prefix: str, expiry: date, strike: float, *, monthly: bool, call: bool) -> str:
    """``NIFTY25NOV24000CE`` (monthly) or ``NIFTY25N0424000CE`` (weekly), as NSE writes them."""
    yy = f"{expiry.year % 100:02d}"
    if monthly:
        stem = f"{prefix}{yy}{_MONTHS[expiry.month - 1]}"
    else:
        stem = f"{prefix}{yy}{_WEEKLY_MONTH_CODES[expiry.month - 1]}{expiry.day:02d}"
    return f"{stem}{int(strike) if float(strike).is_integer() else strike}{'CE' if call else 'PE'}"


def future_symbol(prefix: str, expiry: date) -> str:
    return f"{prefix}{expiry.year % 100:02d}{_MONTHS[expiry.month - 1]}FUT"

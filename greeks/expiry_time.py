"""Time to expiry in years for NSE options: to 15:30 IST on the expiry date, to the minute.

Pure: the current time is passed in (an aware datetime), never read from a clock.

Bases:
* ``"calendar"`` (default, as mibian, India VIX and the old service): minutes / (365 * 1440).
* ``"trading"`` (as Sensibull): trading minutes in NSE sessions 09:15-15:30 (375 a day) on
  weekdays that are not in ``holidays``, over 252 sessions a year.

After expiry (``now`` at or past 15:30 IST on the expiry date) the time is 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

# India has kept one fixed offset without daylight saving since 1945; a fixed offset needs no
# tz database and lets the vectorized path work in plain datetime64 arithmetic.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
SESSION_OPEN_MINUTE = 9 * 60 + 15
SESSION_CLOSE_MINUTE = 15 * 60 + 30  # contracts expire at the normal close
SESSION_MINUTES = SESSION_CLOSE_MINUTE - SESSION_OPEN_MINUTE  # 375
MINUTES_PER_CALENDAR_YEAR = 365 * 1440
SECONDS_PER_CALENDAR_YEAR = MINUTES_PER_CALENDAR_YEAR * 60.0
MINUTES_PER_TRADING_YEAR = 252 * SESSION_MINUTES
# The close in UTC minutes after midnight of the same date (15:30 IST = 10:00 UTC).
_CLOSE_UTC_MINUTE = SESSION_CLOSE_MINUTE - 330

Basis = Literal["calendar", "trading"]


def expiry_close_epoch(expiry: date) -> float:
    """15:30 IST on ``expiry`` (when NSE contracts expire), in Unix epoch seconds."""
    midnight = datetime(expiry.year, expiry.month, expiry.day, tzinfo=IST)
    return midnight.timestamp() + SESSION_CLOSE_MINUTE * 60


def calendar_years_to_expiry(now_epoch: ArrayLike, expiry_epoch: ArrayLike) -> NDArray[np.float64]:
    """Calendar-basis years between epoch seconds, 0 after expiry (vectorized, no datetimes).

    The same minutes / (365 x 1440) as ``time_to_expiry_years``, in the form the tick path and
    the simulator hold their times in (``expiry_epoch`` from ``expiry_close_epoch``).
    """
    now = np.asarray(now_epoch, dtype=np.float64)
    expiry = np.asarray(expiry_epoch, dtype=np.float64)
    years: NDArray[np.float64] = np.maximum(expiry - now, 0.0) / SECONDS_PER_CALENDAR_YEAR
    return years


def _now_in_ist(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    return now.astimezone(IST)


def _holiday_array(holidays: Iterable[date | np.datetime64 | str]) -> NDArray[np.datetime64]:
    return np.array(list(holidays), dtype="datetime64[D]")


def times_to_expiry_years(
    now: datetime,
    expiry_dates: ArrayLike,
    *,
    basis: Basis = "calendar",
    holidays: Iterable[date | np.datetime64 | str] = (),
) -> NDArray[np.float64]:
    """Vectorized ``time_to_expiry_years`` over an array of expiry dates (``datetime64[D]``)."""
    now_ist = _now_in_ist(now)
    expiries = np.asarray(expiry_dates, dtype="datetime64[D]")
    if basis == "calendar":
        now_utc = np.array(now.astimezone(UTC).replace(tzinfo=None), dtype="datetime64[us]")
        close_utc = expiries.astype("datetime64[us]") + np.timedelta64(_CLOSE_UTC_MINUTE, "m")
        minutes = (close_utc - now_utc) / np.timedelta64(1, "m")
        years: NDArray[np.float64] = np.maximum(minutes, 0.0) / MINUTES_PER_CALENDAR_YEAR
        return years
    if basis != "trading":
        raise ValueError(f"basis must be 'calendar' or 'trading', got {basis!r}")
    holiday_days = _holiday_array(holidays)
    today = np.datetime64(now_ist.date(), "D")
    minute_of_day = now_ist.hour * 60 + now_ist.minute + now_ist.second / 60.0
    minute_of_day += now_ist.microsecond / 60e6
    today_is_session = bool(np.is_busday(today, holidays=holiday_days))
    left_today = 0.0
    if today_is_session:
        left_today = min(max(SESSION_CLOSE_MINUTE - minute_of_day, 0.0), float(SESSION_MINUTES))
    one_day = np.timedelta64(1, "D")
    # Whole sessions after today, up to and including the expiry date.
    later = np.busday_count(today + one_day, np.maximum(expiries, today) + one_day,
                            holidays=holiday_days)  # fmt: skip
    minutes = np.where(expiries < today, 0.0, left_today + later * float(SESSION_MINUTES))
    trading_years: NDArray[np.float64] = minutes / MINUTES_PER_TRADING_YEAR
    return trading_years


def time_to_expiry_years(
    now: datetime,
    expiry_date: date,
    *,
    basis: Basis = "calendar",
    holidays: Iterable[date | np.datetime64 | str] = (),
) -> float:
    """Years from ``now`` (aware; naive raises ``ValueError``) to 15:30 IST on ``expiry_date``.

    ``basis="calendar"``: minutes / (365 * 1440). ``basis="trading"``: minutes inside NSE
    sessions (09:15-15:30 on weekdays not in ``holidays``) / (252 * 375). 0 after expiry.
    """
    expiry = np.datetime64(expiry_date, "D")
    return float(times_to_expiry_years(now, expiry, basis=basis, holidays=holidays))


def years_to_expiry_at(
    now_epoch: ArrayLike,
    expiry_date: date,
    *,
    basis: Basis = "calendar",
    holidays: Iterable[date | np.datetime64 | str] = (),
) -> NDArray[np.float64]:
    """Years from each of many times (epoch seconds) to 15:30 IST on one expiry date.

    The many-times counterpart of ``times_to_expiry_years`` (one time, many expiries): what a
    contract's candles need, each priced at its own close. Same minutes and bases, 0 after
    expiry; the trading basis counts each time's own day (no batch-wide approximation).
    """
    now = np.asarray(now_epoch, dtype=np.float64)
    if basis == "calendar":
        return calendar_years_to_expiry(now, expiry_close_epoch(expiry_date))
    if basis != "trading":
        raise ValueError(f"basis must be 'calendar' or 'trading', got {basis!r}")
    holiday_days = _holiday_array(holidays)
    ist_seconds = now + 330 * 60.0
    day_number = np.floor(ist_seconds / 86400.0)
    today = day_number.astype(np.int64).astype("datetime64[D]")
    minute_of_day = (ist_seconds - day_number * 86400.0) / 60.0
    is_session = np.is_busday(today, holidays=holiday_days)
    left_today = np.where(
        is_session, np.clip(SESSION_CLOSE_MINUTE - minute_of_day, 0.0, float(SESSION_MINUTES)), 0.0
    )
    expiry = np.datetime64(expiry_date, "D")
    one_day = np.timedelta64(1, "D")
    later = np.busday_count(today + one_day, np.maximum(expiry, today) + one_day,
                            holidays=holiday_days)  # fmt: skip
    minutes = np.where(expiry < today, 0.0, left_today + later * float(SESSION_MINUTES))
    trading_years: NDArray[np.float64] = minutes / MINUTES_PER_TRADING_YEAR
    return trading_years

"""greeks.expiry_time: calendar and trading bases, holidays, after expiry, naive datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from greeks.expiry_time import (
    IST,
    calendar_years_to_expiry,
    expiry_close_epoch,
    time_to_expiry_years,
    times_to_expiry_years,
)

FRIDAY_CLOSE = datetime(2026, 1, 2, 15, 30, tzinfo=IST)  # Friday 2 Jan 2026
TUESDAY = date(2026, 1, 6)


def test_calendar_basis_counts_minutes_to_1530_ist_over_365_days() -> None:
    assert time_to_expiry_years(FRIDAY_CLOSE, TUESDAY) == pytest.approx(4 / 365, rel=1e-15)
    one_minute_before = datetime(2026, 1, 6, 15, 29, tzinfo=IST)
    assert time_to_expiry_years(one_minute_before, TUESDAY) == pytest.approx(1 / (365 * 1440))


def test_calendar_basis_accepts_any_time_zone() -> None:
    same_instant = FRIDAY_CLOSE.astimezone(UTC)
    assert time_to_expiry_years(same_instant, TUESDAY) == time_to_expiry_years(
        FRIDAY_CLOSE, TUESDAY
    )


def test_trading_basis_skips_the_weekend() -> None:
    # Friday after the close -> Monday and Tuesday sessions: 2 x 375 minutes over 252 x 375.
    assert time_to_expiry_years(FRIDAY_CLOSE, TUESDAY, basis="trading") == pytest.approx(2 / 252)


def test_trading_basis_counts_the_rest_of_todays_session_and_skips_holidays() -> None:
    monday_noon = datetime(2026, 1, 5, 12, 0, tzinfo=IST)
    minutes = time_to_expiry_years(monday_noon, TUESDAY, basis="trading") * 252 * 375
    assert minutes == pytest.approx(210 + 375)
    before_open = datetime(2026, 1, 5, 8, 0, tzinfo=IST)
    minutes = time_to_expiry_years(before_open, date(2026, 1, 7), basis="trading",
                                   holidays=[date(2026, 1, 6)]) * 252 * 375  # fmt: skip
    assert minutes == pytest.approx(2 * 375)  # Monday and Wednesday; Tuesday is a holiday


def test_after_expiry_time_is_zero() -> None:
    after_close = datetime(2026, 1, 6, 15, 31, tzinfo=IST)
    assert time_to_expiry_years(after_close, TUESDAY) == 0.0
    assert time_to_expiry_years(after_close, TUESDAY, basis="trading") == 0.0
    assert time_to_expiry_years(after_close + timedelta(days=3), TUESDAY) == 0.0
    assert time_to_expiry_years(after_close, date(2026, 1, 1), basis="trading") == 0.0


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        time_to_expiry_years(datetime(2026, 1, 2, 15, 30), TUESDAY)  # noqa: DTZ001


def test_unknown_basis_is_rejected() -> None:
    with pytest.raises(ValueError, match="basis"):
        time_to_expiry_years(FRIDAY_CLOSE, TUESDAY, basis="business")  # type: ignore[arg-type]


def test_vectorized_variant_matches_the_scalar_one() -> None:
    expiries = np.array(
        ["2026-01-01", "2026-01-06", "2026-01-13", "2026-01-27"], dtype="datetime64[D]"
    )
    for basis in ("calendar", "trading"):
        vector = times_to_expiry_years(FRIDAY_CLOSE, expiries, basis=basis, holidays=["2026-01-26"])
        scalar = [
            time_to_expiry_years(
                FRIDAY_CLOSE, day.astype(date), basis=basis, holidays=["2026-01-26"]
            )
            for day in expiries
        ]
        np.testing.assert_allclose(vector, scalar, rtol=1e-15)
        assert vector[0] == 0.0


def test_epoch_form_agrees_with_the_datetime_form() -> None:
    expiry = date(2026, 12, 29)
    close = expiry_close_epoch(expiry)
    assert close == datetime(2026, 12, 29, 10, 0, tzinfo=UTC).timestamp()  # 15:30 IST
    now = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    assert float(calendar_years_to_expiry(now.timestamp(), close)) == pytest.approx(
        time_to_expiry_years(now, expiry), abs=1e-15
    )
    assert float(calendar_years_to_expiry(close + 60.0, close)) == 0.0  # after expiry

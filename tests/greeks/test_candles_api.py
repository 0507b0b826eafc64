"""GET /api/v1/greeks/candles/: cursor pages in time order, CSV streamed, filters in the
database, 400s naming the parameter, the admin's read-only lists."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import DjangoAssertNumQueries
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from greeks.engine import GreeksDefaults
from greeks.history.records import CandleSeries
from greeks.history.services import option_candles_price_and_store, underlying_candles_store
from greeks.models import OptionCandle
from subscriptions.models import Instrument
from tests.greeks.history_candles import (
    aware,
    index_path,
    option_closes,
    series,
    session_minute_starts,
)
from tests.subscriptions.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/greeks/candles/"
EXPIRY = date(2025, 12, 30)


@pytest.fixture
def api() -> APIClient:
    user = User.objects.create_user("reader", password="pw-123456789")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def stored() -> tuple[Instrument, CandleSeries]:
    """Two sessions of minute candles of one call, priced and stored; a second contract too."""
    option = InstrumentFactory.create(strike=24000.0, instrument_type="CE", expiry=EXPIRY)
    other = InstrumentFactory.create(strike=24100.0, instrument_type="PE", expiry=EXPIRY)
    index = InstrumentFactory.create(tradingsymbol="NIFTY 50", instrument_type="EQ",
                                     segment="INDICES", strike=0.0, expiry=None)  # fmt: skip
    ts = session_minute_starts(date(2025, 12, 22), 2)
    spot = index_path(ts)
    gaps = np.zeros(len(ts), dtype=bool)
    gaps[5] = True
    und = series(index.instrument_token, ts[~gaps], spot[~gaps])
    now = aware(int(ts[-1]) + 600)
    for instrument in (option, other):
        close = option_closes(ts=ts, spot=spot, strike=instrument.strike,
                              is_call=instrument.instrument_type == "CE", expiry=EXPIRY,
                              sigma=0.15, rate=0.1)  # fmt: skip
        candles = series(instrument.instrument_token, ts, close, oi=900)
        option_candles_price_and_store(instrument=instrument, option=candles, underlying=und,
                                       defaults=GreeksDefaults(), now=now)  # fmt: skip
    underlying_candles_store(instrument=index, candles=und, now=now)
    mine = series(option.instrument_token, ts, np.zeros(len(ts)))
    return option, mine


def _streamed(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def test_pages_walk_the_range_in_time_order_without_gaps_or_repeats(
    api: APIClient, stored: tuple[Instrument, CandleSeries],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:  # fmt: skip
    option, candles = stored
    seen: list[str] = []
    url: str | None = f"{URL}?instrument={option.instrument_token}&page_size=300"
    while url:
        with django_assert_max_num_queries(4):  # auth, instrument, page (+ throttle's none)
            body = api.get(url).json()
        seen += [row["ts"] for row in body["results"]]
        url = body["next"]
    assert seen == [_iso(int(t)) for t in candles.ts]
    assert len(seen) == OptionCandle.objects.filter(instrument=option).count() == len(candles)


def test_a_candle_carries_its_prices_pricing_and_reason(
    api: APIClient, stored: tuple[Instrument, CandleSeries]
) -> None:
    option, _ = stored
    body = api.get(URL, {"instrument": str(option.instrument_token), "page_size": "10"}).json()
    first, gap = body["results"][0], body["results"][5]
    assert set(first) == {"ts", "open", "high", "low", "close", "volume", "oi",
                          "underlying_close", "iv", "delta", "gamma", "theta", "vega", "rho",
                          "iv_error"}  # fmt: skip
    assert first["iv_error"] is None and 0.05 < first["iv"] < 1.0 and first["oi"] == 900
    assert gap["iv_error"] == "no_underlying_price"
    assert gap["underlying_close"] is None and gap["iv"] is None and gap["delta"] is None


def test_from_and_to_select_in_the_database_dates_being_ist_days(
    api: APIClient, stored: tuple[Instrument, CandleSeries]
) -> None:
    option, _ = stored
    token = str(option.instrument_token)
    day_two = api.get(URL, {"instrument": token, "from": "2025-12-23", "page_size": "1000"}).json()
    assert len(day_two["results"]) == 375
    assert day_two["results"][0]["ts"] == "2025-12-23T03:45:00Z"  # 09:15 IST
    day_one = api.get(URL, {"instrument": token, "to": "2025-12-22", "page_size": "1000"}).json()
    assert len(day_one["results"]) == 375
    window = api.get(URL, {"instrument": token, "from": "2025-12-22T09:20:00+05:30",
                           "to": "2025-12-22T04:00:00Z"}).json()  # fmt: skip
    assert [r["ts"] for r in window["results"]] == [
        f"2025-12-22T{h:02d}:{m:02d}:00Z" for h, m in [(3, 50), *((3, m) for m in range(51, 60)),
                                                       (4, 0)]
    ]  # fmt: skip
    other_interval = api.get(URL, {"instrument": token, "interval": "5minute"}).json()
    assert other_interval["results"] == []


def test_csv_streams_every_candle_of_the_range(
    api: APIClient, stored: tuple[Instrument, CandleSeries]
) -> None:
    option, candles = stored
    token = str(option.instrument_token)
    response = api.get(URL, {"instrument": token, "format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(_streamed(response))))
    assert rows[0][:5] == ["ts", "open", "high", "low", "close"] and rows[0][-1] == "iv_error"
    assert len(rows) == 1 + len(candles)
    assert rows[1][0] == "2025-12-22T03:45:00+00:00" and rows[6][-1] == "no_underlying_price"
    stored_first = OptionCandle.objects.filter(instrument=option).order_by("ts").first()
    assert stored_first is not None and float(rows[1][8]) == stored_first.iv
    limited = api.get(URL, {"instrument": token, "format": "csv",
                            "from": "2025-12-23T15:29:00+05:30"})  # fmt: skip
    assert len(_streamed(limited).splitlines()) == 2


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"instrument": None}, "instrument", "required"),
        ({"instrument": "abc"}, "instrument", "valid integer"),
        ({"instrument": "99999999999"}, "instrument", "less than or equal"),
        ({"instrument": "424242"}, "instrument", "no instrument with token 424242"),
        ({"interval": "hour"}, "interval", "not a valid choice"),
        ({"from": "yesterday"}, "from", "expected a date"),
        ({"to": "2025-12-01T09:15:00"}, "to", "offset"),
        ({"from": "2025-12-02", "to": "2025-12-01"}, "from", "must not be after to"),
        ({"format": "csv", "interval": "hour"}, "interval", "not a valid choice"),
    ],
)
def test_bad_parameters_are_400s_that_name_them(
    api: APIClient, stored: tuple[Instrument, CandleSeries], params: dict[str, str | None],
    field: str, message: str,
) -> None:  # fmt: skip
    option, _ = stored
    given = {"instrument": str(option.instrument_token), **params}
    response = api.get(URL, {name: value for name, value in given.items() if value is not None})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"  # CSV asked or not
    assert message in str(response.json()[field])


def test_the_api_needs_credentials() -> None:
    assert APIClient().get(URL, {"instrument": 1}).status_code == 401


def test_the_admin_lists_candles_read_only_with_its_filters(
    stored: tuple[Instrument, CandleSeries],
) -> None:
    option, _ = stored
    admin = User.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/greeks/optioncandle/",
                         {"underlying": "NIFTY", "expiry": "2025-12-30", "interval": "minute",
                          "day": "2025-12-23"})  # fmt: skip
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Dec. 23, 2025, 3:29 p.m." in page  # the last candle of the day, in IST
    assert "Dec. 22, 2025" not in page  # another day
    assert "Add option candle" not in page
    candle = OptionCandle.objects.filter(instrument=option).first()
    assert candle is not None
    detail = client.get(f"/admin/greeks/optioncandle/{candle.pk}/change/")
    assert detail.status_code == 200 and 'type="submit" value="Save"' not in detail.content.decode()
    assert client.post(f"/admin/greeks/optioncandle/{candle.pk}/delete/").status_code == 403
    assert client.get("/admin/greeks/underlyingcandle/", {"day": "2025-12-22"}).status_code == 200

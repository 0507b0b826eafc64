"""REST API of instruments and subscriptions: filters in the database, bounded queries, 400s
with field messages, unknown instruments reported back, staff-only writes."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from subscriptions.models import Instrument, Subscription, SubscriptionSource
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import InstrumentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

INSTRUMENTS = "/api/v1/instruments/"
SUBSCRIPTIONS = "/api/v1/subscriptions/"


def client_for(*, staff: bool) -> APIClient:
    user = User.objects.create_user(
        "staff" if staff else "reader", password="pw-123456789", is_staff=staff
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def chain() -> list[Instrument]:
    rows: list[Instrument] = []
    for expiry in (date(2026, 12, 1), date(2026, 12, 29)):
        for strike in range(23_800, 24_201, 100):
            for kind in ("CE", "PE"):
                rows.append(  # noqa: PERF401  (readability over a comprehension)
                    InstrumentFactory.create(
                        tradingsymbol=f"NIFTY{expiry:%y%m%d}{strike}{kind}",
                        strike=float(strike),
                        expiry=expiry,
                        instrument_type=kind,
                    )
                )
    InstrumentFactory.create(
        tradingsymbol="BANKNIFTY26DEC52000CE", name="BANKNIFTY", strike=52_000.0
    )
    InstrumentFactory.create(tradingsymbol="NIFTY26NOV24000CE", is_expired=True)
    return rows


def test_instrument_search_filters_in_the_database(chain, django_assert_max_num_queries) -> None:
    client = client_for(staff=False)
    with django_assert_max_num_queries(3):  # auth token, user, page
        response = client.get(
            INSTRUMENTS,
            {
                "tradingsymbol": "nifty261229",
                "name": "NIFTY",
                "expiry": "2026-12-29",
                "strike_min": "23900",
                "strike_max": "24100",
                "instrument_type": "PE",
                "segment": "NFO-OPT",
            },
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["strike"] for r in body["results"]] == [23_900.0, 24_000.0, 24_100.0]
    assert {r["instrument_type"] for r in body["results"]} == {"PE"}
    assert "next" in body and "count" not in body  # cursor pagination


def test_instrument_cursor_pages_and_expired_hidden_by_default(chain) -> None:
    client = client_for(staff=False)
    first = client.get(INSTRUMENTS, {"page_size": 7}).json()
    second = client.get(first["next"]).json()
    symbols = [r["tradingsymbol"] for r in first["results"] + second["results"]]
    assert len(symbols) == 14 and symbols == sorted(symbols)
    everything = client.get(INSTRUMENTS, {"page_size": 100}).json()["results"]
    assert "NIFTY26NOV24000CE" not in [r["tradingsymbol"] for r in everything]
    with_expired = client.get(INSTRUMENTS, {"page_size": "100", "include_expired": "true"}).json()
    assert "NIFTY26NOV24000CE" in [r["tradingsymbol"] for r in with_expired["results"]]


def test_instrument_bad_filters_are_400_with_field_messages(chain) -> None:
    client = client_for(staff=False)
    response = client.get(
        INSTRUMENTS, {"expiry": "29-12-2026", "strike_min": "x", "instrument_type": "XX"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"expiry", "strike_min", "instrument_type"}
    inverted = client.get(INSTRUMENTS, {"strike_min": 24_100, "strike_max": 23_900})
    assert inverted.status_code == 400 and "strike_min" in inverted.json()


def test_subscription_list_filters_and_bounded_queries(
    chain, django_assert_max_num_queries
) -> None:
    account = AccountFactory.create()
    for instrument in chain[:10]:
        SubscriptionFactory.create(instrument=instrument, account=account)
    for instrument in chain[10:15]:
        SubscriptionFactory.create(
            instrument=instrument, source=SubscriptionSource.REBALANCER, status="inactive"
        )
    banknifty = Instrument.objects.get(name="BANKNIFTY")
    SubscriptionFactory.create(instrument=banknifty)
    client = client_for(staff=False)
    with django_assert_max_num_queries(4):  # auth token, user, count, page
        response = client.get(SUBSCRIPTIONS, {"page_size": 100})
    assert response.json()["count"] == 16
    assert client.get(SUBSCRIPTIONS, {"status": "inactive"}).json()["count"] == 5
    assert client.get(SUBSCRIPTIONS, {"source": "rebalancer"}).json()["count"] == 5
    assert client.get(SUBSCRIPTIONS, {"account": account.pk}).json()["count"] == 10
    assert client.get(SUBSCRIPTIONS, {"underlying": "banknifty"}).json()["count"] == 1
    assert client.get(SUBSCRIPTIONS, {"unassigned": "true"}).json()["count"] == 6
    row = client.get(SUBSCRIPTIONS, {"account": account.pk}).json()["results"][0]
    assert row["account_name"] == account.name
    assert row["instrument"]["tradingsymbol"].startswith("NIFTY")
    assert client.get(SUBSCRIPTIONS, {"status": "bogus"}).status_code == 400


def test_create_by_token_or_symbol_and_errors(chain) -> None:
    client = client_for(staff=True)
    by_token = client.post(
        SUBSCRIPTIONS, {"instrument_token": chain[0].instrument_token}, format="json"
    )
    assert by_token.status_code == 201, by_token.content
    assert by_token.json()["source"] == "manual" and by_token.json()["status"] == "active"
    by_symbol = client.post(
        SUBSCRIPTIONS,
        {"tradingsymbol": f"NFO:{chain[1].tradingsymbol}", "mode": "ltp"},
        format="json",
    )
    assert by_symbol.status_code == 201 and by_symbol.json()["mode"] == "ltp"
    unknown = client.post(SUBSCRIPTIONS, {"instrument_token": 999}, format="json")
    assert unknown.status_code == 400
    assert unknown.json() == {"instrument_token": ["unknown instrument 999"]}
    twice = client.post(
        SUBSCRIPTIONS, {"instrument_token": chain[0].instrument_token}, format="json"
    )
    assert twice.status_code == 400 and "already subscribed" in twice.json()["instrument_token"][0]
    neither = client.post(SUBSCRIPTIONS, {"mode": "full"}, format="json")
    assert neither.status_code == 400 and "instrument_token" in neither.json()
    bad_mode = client.post(
        SUBSCRIPTIONS, {"instrument_token": chain[2].instrument_token, "mode": "x"}, format="json"
    )
    assert bad_mode.status_code == 400 and "mode" in bad_mode.json()


def test_bulk_create_reports_unknown_instead_of_dropping(
    chain, django_assert_max_num_queries
) -> None:
    SubscriptionFactory.create(instrument=chain[0])
    client = client_for(staff=True)
    tokens = [i.instrument_token for i in chain[:8]] + [123, 456]
    with django_assert_max_num_queries(10):
        response = client.post(
            f"{SUBSCRIPTIONS}bulk/",
            {
                "instrument_tokens": tokens,
                "tradingsymbols": [chain[9].tradingsymbol, "NOPE", "NIFTY26NOV24000CE"],
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["created"]) == 8  # 7 by token + 1 by symbol
    assert body["already_subscribed"] == [chain[0].instrument_token]
    assert body["unknown_tokens"] == [123, 456]
    assert body["unknown_tradingsymbols"] == ["NOPE"]
    assert len(body["expired"]) == 1
    empty = client.post(f"{SUBSCRIPTIONS}bulk/", {}, format="json")
    assert empty.status_code == 400 and "instrument_tokens" in empty.json()


def test_activate_and_deactivate_by_ids_or_query(chain) -> None:
    subs = [SubscriptionFactory.create(instrument=i) for i in chain[:6]]
    client = client_for(staff=True)
    off = client.post(
        f"{SUBSCRIPTIONS}deactivate/", {"ids": [subs[0].pk, subs[1].pk, 99_999]}, format="json"
    )
    assert off.json() == {"matched": 2, "changed": 2, "unknown_ids": [99_999]}
    on = client.post(f"{SUBSCRIPTIONS}activate/", {"filter": {"status": "inactive"}}, format="json")
    assert on.json()["changed"] == 2
    everything = client.post(f"{SUBSCRIPTIONS}deactivate/", {"filter": {}}, format="json")
    assert everything.status_code == 400 and "ids" in everything.json()
    assert Subscription.objects.filter(status="active").count() == 6


def test_delete_and_reader_cannot_write(chain) -> None:
    subscription = SubscriptionFactory.create(instrument=chain[0])
    reader = client_for(staff=False)
    assert reader.delete(f"{SUBSCRIPTIONS}{subscription.pk}/").status_code == 403
    assert (
        reader.post(f"{SUBSCRIPTIONS}bulk/", {"instrument_tokens": [1]}, format="json").status_code
        == 403
    )
    assert APIClient().get(INSTRUMENTS).status_code == 401
    staff = client_for(staff=True)
    assert staff.delete(f"{SUBSCRIPTIONS}{subscription.pk}/").status_code == 204
    assert not Subscription.objects.exists()


def test_assignment_overview(chain) -> None:
    account = AccountFactory.create()
    SubscriptionFactory.create(instrument=chain[0], account=account)
    SubscriptionFactory.create(instrument=chain[1])
    body = client_for(staff=False).get(f"{SUBSCRIPTIONS}assignment/").json()
    assert body["active"] == 2 and body["unassigned"] == 1
    assert body["unassigned_tokens"] == [chain[1].instrument_token]
    assert body["accounts"][0]["subscriptions"] == 1

"""Every list endpoint pages the same way: a cursor (``next``/``previous``/``results``), with
``count`` on the small tables; walking the pages gives every row once, in order."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import InstrumentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _reader() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("reader", password="pw-123456789"))
    return client


def _walk(client: APIClient, url: str, **params: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    rows: list[dict[str, Any]] = []
    counts: list[Any] = []
    page = client.get(url, {"page_size": 2, **params})
    while True:
        assert page.status_code == 200, page.content
        body = page.json()
        assert set(body) >= {"next", "previous", "results"}
        assert len(body["results"]) <= 2
        counts.append(body.get("count"))
        rows += body["results"]
        if body["next"] is None:
            return rows, counts
        page = client.get(body["next"])


def test_accounts_and_subscriptions_page_by_cursor_with_a_count() -> None:
    accounts = sorted((AccountFactory.create() for _ in range(5)), key=lambda a: a.name)
    subscriptions = [SubscriptionFactory.create() for _ in range(5)]
    client = _reader()

    rows, counts = _walk(client, "/api/v1/accounts/")
    assert [r["name"] for r in rows] == [a.name for a in accounts]
    assert counts == [5, 5, 5]

    rows, counts = _walk(client, "/api/v1/subscriptions/")
    assert [r["id"] for r in rows] == [s.pk for s in subscriptions]
    assert counts == [5, 5, 5]


def test_instruments_page_by_cursor_without_a_count() -> None:
    made = [InstrumentFactory.create() for _ in range(5)]
    rows, counts = _walk(_reader(), "/api/v1/instruments/", include_expired="true")
    assert sorted(r["instrument_token"] for r in rows) == sorted(i.instrument_token for i in made)
    assert counts == [None, None, None]


def test_a_made_up_cursor_is_a_json_404_and_the_schema_says_so() -> None:
    response = _reader().get("/api/v1/accounts/", {"cursor": "bogus"})
    assert response.status_code == 404
    assert response.json()["detail"]
    schema = Client().get("/api/schema/?format=json").json()
    for path in ("/api/v1/accounts/", "/api/v1/subscriptions/", "/api/v1/instruments/"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"cursor", "page_size"} <= names, path
        assert not names & {"limit", "offset"}, path
    page = schema["components"]["schemas"]["PaginatedAccountList"]
    assert "count" in page["properties"]
    assert "count" not in schema["components"]["schemas"]["PaginatedInstrumentList"]["properties"]

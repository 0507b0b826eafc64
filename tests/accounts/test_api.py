"""REST API: secrets are write-only, writes are for staff, token auth works."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounts/"


def _client(*, staff: bool) -> APIClient:
    user = User.objects.create_user(
        "staff" if staff else "reader", password="pw-123456789", is_staff=staff
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_anonymous_is_refused() -> None:
    assert APIClient().get(URL).status_code == 401


def test_staff_creates_and_secrets_never_come_back() -> None:
    client = _client(staff=True)
    response = client.post(
        URL,
        {
            "name": "api-desk",
            "api_key": "apikey-PLAINTEXT-4321",
            "api_secret": "sec-PLAINTEXT-1",
            "access_token": "tok-PLAINTEXT-2",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.content.decode()
    assert "PLAINTEXT" not in body
    data = response.json()
    assert data["api_key_hint"] == "****4321"
    assert data["has_api_secret"] is True
    assert data["has_access_token"] is True
    assert data["status"] == "active"
    for name in ("api_key", "api_secret", "access_token"):
        assert name not in data
    listing = client.get(URL)
    assert listing.status_code == 200
    assert "PLAINTEXT" not in listing.content.decode()
    account = Account.objects.get(name="api-desk")
    assert account.api_key_encrypted not in listing.content.decode()


def test_non_staff_reads_but_cannot_write() -> None:
    AccountFactory.create(name="visible")
    client = _client(staff=False)
    assert [a["name"] for a in client.get(URL).json()["results"]] == ["visible"]
    response = client.post(URL, {"name": "nope", "api_key": "abcdefghijkl"}, format="json")
    assert response.status_code == 403


def test_bad_input_is_a_400_with_field_messages() -> None:
    client = _client(staff=True)
    response = client.post(
        URL, {"name": "bad", "api_key": "abcdefghijkl", "max_connections": 5}, format="json"
    )
    assert response.status_code == 400
    assert "max_connections" in response.json()
    missing = client.post(URL, {"name": "no-key"}, format="json")
    assert missing.status_code == 400
    assert "api_key" in missing.json()


def test_update_changes_limits_and_keeps_secrets() -> None:
    account = AccountFactory.create(name="upd")
    before = account.api_key_encrypted
    client = _client(staff=True)
    response = client.patch(f"{URL}{account.pk}/", {"max_connections": 1}, format="json")
    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert account.max_connections == 1
    assert account.api_key_encrypted == before


def test_openapi_schema_and_docs_are_served() -> None:
    client = APIClient()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/accounts/" in schema.content
    assert client.get("/api/docs/").status_code == 200

"""Admin: accounts can be created and edited; no secret ever appears on a page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountStatus
from accounts.wiring import configured_cipher
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    user = User.objects.create_superuser("ops", "ops@example.com", "ops-password-123")
    client = Client()
    client.force_login(user)
    return client


def test_create_account_through_admin_encrypts_and_hides_secrets(staff_client: Client) -> None:
    response = staff_client.post(
        reverse("admin:accounts_account_add"),
        {
            "name": "desk-admin",
            "broker_user_id": "ZX1234",
            "api_key": "adminkey-PLAINTEXT-7788",
            "api_secret": "adminsecret-PLAINTEXT-5566",
            "access_token": "",
            "max_connections": 3,
            "instruments_per_connection": 3000,
            "api_root_override": "",
            "ws_root_override": "",
            "login_url_override": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account = Account.objects.get(name="desk-admin")
    assert account.status == AccountStatus.NEEDS_LOGIN
    cipher = configured_cipher()
    assert cipher.decrypt(account.api_secret_encrypted, account="a", field="s") == (
        "adminsecret-PLAINTEXT-5566"
    )

    change = staff_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    listing = staff_client.get(reverse("admin:accounts_account_changelist"))
    for page in (change, listing):
        html = page.content.decode()
        assert page.status_code == 200
        assert "PLAINTEXT" not in html
        assert account.api_key_encrypted not in html
        assert account.api_secret_encrypted not in html
    assert "****7788" in listing.content.decode()  # at most the last 4 characters
    assert "Log in with Kite" in change.content.decode()


def test_admin_requires_api_key_for_new_account(staff_client: Client) -> None:
    response = staff_client.post(
        reverse("admin:accounts_account_add"),
        {"name": "no-key", "max_connections": 3, "instruments_per_connection": 3000},
    )
    assert response.status_code == 200
    assert "A new account needs its API key." in response.content.decode()
    assert not Account.objects.filter(name="no-key").exists()


def test_admin_edit_with_blank_secret_keeps_stored_value(staff_client: Client) -> None:
    account = AccountFactory.create(name="keep-me")
    before = account.api_secret_encrypted
    response = staff_client.post(
        reverse("admin:accounts_account_change", args=[account.pk]),
        {
            "name": "keep-me",
            "broker_user_id": "Q1",
            "api_key": "",
            "api_secret": "",
            "access_token": "",
            "max_connections": 2,
            "instruments_per_connection": 1000,
            "api_root_override": "",
            "ws_root_override": "ws://127.0.0.1:9/",
            "login_url_override": "",
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.api_secret_encrypted == before
    assert account.max_connections == 2
    assert account.ws_root_override == "ws://127.0.0.1:9/"


def test_disable_and_enable_actions(staff_client: Client) -> None:
    accounts = [AccountFactory.create(), AccountFactory.create()]
    url = reverse("admin:accounts_account_changelist")
    ids = [str(a.pk) for a in accounts]
    staff_client.post(url, {"action": "disable_accounts", "_selected_action": ids})
    assert set(Account.objects.values_list("status", flat=True)) == {AccountStatus.DISABLED}
    staff_client.post(url, {"action": "enable_accounts", "_selected_action": ids})
    assert set(Account.objects.values_list("status", flat=True)) == {AccountStatus.ACTIVE}


def test_login_action_redirects_to_kite_with_signed_state(staff_client: Client) -> None:
    account = AccountFactory.create(
        api_key="loginkey0001", login_url_override="http://kite.test/login"
    )
    response = staff_client.get(reverse("admin:accounts_account_kite_login", args=[account.pk]))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("http://kite.test/login?v=3&api_key=loginkey0001&redirect_params=")
    assert "state%3D" in location

"""The Kite login flow and session checks, end to end against the simulator over real sockets.

Admin "Log in with Kite" -> the simulator's /connect/login -> our callback with request_token ->
generate_session (checksum) -> token stored encrypted, account active; failures change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountStatus
from accounts.services.account import SecretsUpdate, account_create, account_disable
from accounts.services.login import account_check_session
from accounts.wiring import configured_cipher, configured_kite_factory
from tests.simulator_fixtures import SimulatorHandle

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/accounts/kite/callback/"


@pytest.fixture
def sim(simulator_factory: Callable[..., SimulatorHandle]) -> SimulatorHandle:
    return simulator_factory("--redirect-url", CALLBACK, "--accounts", "1")


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-123456789"))
    return client


def _account_for(sim: SimulatorHandle, *, api_secret: str | None = None) -> Account:
    credentials = sim.accounts[0]
    return account_create(
        cipher=configured_cipher(),
        name="sim-desk",
        secrets=SecretsUpdate(
            api_key=credentials.api_key,
            api_secret=credentials.api_secret if api_secret is None else api_secret,
        ),
        api_root_override=sim.api_root,
        ws_root_override=sim.ws_root,
        login_url_override=f"{sim.api_root}/connect/login",
    )


def _kite_redirect(staff_client: Client, account: Account) -> str:
    """Follow the admin button to the simulator's login page; return where Kite sends us back."""
    to_kite = staff_client.get(reverse("admin:accounts_account_kite_login", args=[account.pk]))
    assert to_kite.status_code == 302
    at_kite = requests.get(to_kite["Location"], allow_redirects=False, timeout=10)
    assert at_kite.status_code == 302
    location = at_kite.headers["Location"]
    assert location.startswith(CALLBACK)
    return location


def test_login_stores_an_encrypted_token_and_activates(
    sim: SimulatorHandle, staff_client: Client
) -> None:
    account = _account_for(sim)
    assert account.status == AccountStatus.NEEDS_LOGIN
    back = _kite_redirect(staff_client, account)
    query = parse_qs(urlparse(back).query)
    assert "state" in query
    assert "request_token" in query

    response = staff_client.get(back)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.broker_user_id == sim.accounts[0].user_id
    assert account.access_token_expires_at is not None
    token = configured_kite_factory().access_token(account)
    assert token
    assert token not in account.access_token_encrypted

    page = staff_client.get(response["Location"]).content.decode()
    assert "is logged in" in page
    assert token not in page
    # The stored token works: the session check asks the simulator who we are.
    assert account_check_session(account=account, factory=configured_kite_factory()).valid


def test_a_replayed_request_token_fails_and_changes_nothing(
    sim: SimulatorHandle, staff_client: Client
) -> None:
    account = _account_for(sim)
    back = _kite_redirect(staff_client, account)
    assert staff_client.get(back).status_code == 302  # first use logs in
    account.refresh_from_db()
    stored = (account.access_token_encrypted, account.access_token_expires_at, account.status)

    response = staff_client.get(back, follow=True)  # request tokens are single-use
    assert "Kite rejected the login" in response.content.decode()
    account.refresh_from_db()
    assert (account.access_token_encrypted, account.access_token_expires_at, account.status) == (
        stored
    )


def test_a_wrong_api_secret_fails_with_a_clear_message(
    sim: SimulatorHandle, staff_client: Client
) -> None:
    account = _account_for(sim, api_secret="not-the-right-secret")
    back = _kite_redirect(staff_client, account)
    page = staff_client.get(back, follow=True).content.decode()
    assert "Kite login for account &#x27;sim-desk&#x27; failed" in page
    assert "not-the-right-secret" not in page
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN
    assert account.access_token_encrypted == ""


def test_kite_unreachable_is_reported_and_changes_nothing(
    sim: SimulatorHandle, staff_client: Client
) -> None:
    account = _account_for(sim)
    back = _kite_redirect(staff_client, account)
    Account.objects.filter(pk=account.pk).update(api_root_override="http://127.0.0.1:9/")
    page = staff_client.get(back, follow=True).content.decode()
    assert "Kite is unreachable" in page
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN


def test_forged_state_is_refused(staff_client: Client) -> None:
    page = staff_client.get(
        f"{CALLBACK}?request_token=abc&status=success&state=forged", follow=True
    ).content.decode()
    assert "the login link is invalid or has expired" in page


def test_session_check_marks_needs_login_when_kite_expires_the_token(
    sim: SimulatorHandle,
) -> None:
    credentials = sim.accounts[0]
    account = account_create(
        cipher=configured_cipher(),
        name="sim-token",
        secrets=SecretsUpdate(api_key=credentials.api_key, access_token=credentials.access_token),
        api_root_override=sim.api_root,
    )
    factory = configured_kite_factory()
    assert account_check_session(account=account, factory=factory).valid
    sim.control.fault("expire_tokens")
    result = account_check_session(account=account, factory=factory)
    assert not result.valid
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN
    assert "Kite rejected the session" in account.status_reason


def test_no_secret_reaches_the_logs_during_a_login_and_a_failed_one(
    sim: SimulatorHandle, staff_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    account = _account_for(sim)
    back = _kite_redirect(staff_client, account)
    request_token = parse_qs(urlparse(back).query)["request_token"][0]
    staff_client.get(back)  # logs in
    staff_client.get(back)  # the replay fails, and is logged
    account.refresh_from_db()
    factory = configured_kite_factory()
    secrets = {
        "api_key": factory.api_key(account),
        "api_secret": factory.api_secret(account),
        "access_token": factory.access_token(account),
        "request_token": request_token,
    }
    events = {str(r.msg.get("event")) for r in caplog.records if isinstance(r.msg, dict)}
    assert {"kite_login_completed", "kite_login_rejected"} <= events  # the flow was logged
    text = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    for name, value in secrets.items():
        assert value not in text, f"{name} leaked into the logs"


def test_a_login_for_a_disabled_account_stores_the_session_but_keeps_it_disabled(
    sim: SimulatorHandle, staff_client: Client
) -> None:
    account = account_disable(account=_account_for(sim))
    response = staff_client.get(_kite_redirect(staff_client, account))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == AccountStatus.DISABLED
    assert configured_kite_factory().access_token(account)  # the session is kept for later
    assert account.access_token_expires_at is not None

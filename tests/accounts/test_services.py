"""Account services against PostgreSQL: encryption at rest, status changes, key rotation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.crypto import CredentialCipher
from accounts.events import account_availability_changed
from accounts.models import Account, AccountStatus
from accounts.services.account import (
    SecretsUpdate,
    account_create,
    account_disable,
    account_enable,
    account_mark_needs_login,
    account_update,
)
from accounts.services.rotation import credentials_rotate
from accounts.token_expiry import access_token_expiry
from accounts.wiring import configured_cipher

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")

SECRETS = SecretsUpdate(
    api_key="kiteapikey-PLAIN-1234",
    api_secret="kitesecret-PLAIN-5678",
    access_token="kitetoken-PLAIN-9012",
)


def _raw_row(account_id: int) -> tuple[object, ...]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_account WHERE id = %s", [account_id])
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def test_secrets_are_never_stored_in_plaintext() -> None:
    account = account_create(cipher=configured_cipher(), name="desk-1", secrets=SECRETS)
    raw = " ".join(str(value) for value in _raw_row(account.pk))
    for plaintext in ("kiteapikey-PLAIN", "kitesecret-PLAIN", "kitetoken-PLAIN"):
        assert plaintext not in raw
    cipher = configured_cipher()
    assert cipher.decrypt(account.api_key_encrypted, account="desk-1", field="k") == (
        "kiteapikey-PLAIN-1234"
    )
    assert account.status == AccountStatus.ACTIVE  # an access token was given
    # An operator's token dies like any other, at the next 06:00 IST.
    assert account.access_token_expires_at is not None
    assert account.access_token_expires_at.astimezone(IST).time().isoformat() == "06:00:00"


def test_create_without_token_needs_login_and_validates_limits() -> None:
    account = account_create(
        cipher=configured_cipher(), name="desk-2", secrets=SecretsUpdate(api_key="k" * 12)
    )
    assert account.status == AccountStatus.NEEDS_LOGIN
    assert account.capacity == 9000
    with pytest.raises(ValidationError) as info:
        account_create(
            cipher=configured_cipher(),
            name="desk-3",
            secrets=SecretsUpdate(api_key="k" * 12),
            max_connections=4,
            instruments_per_connection=3001,
        )
    assert set(info.value.message_dict) == {"max_connections", "instruments_per_connection"}
    assert not Account.objects.filter(name="desk-3").exists()


def test_update_keeps_unset_secrets_and_new_token_reactivates() -> None:
    cipher = configured_cipher()
    account = account_create(cipher=cipher, name="desk-4", secrets=SECRETS)
    account_mark_needs_login(account=account, reason="token expired")
    before_secret = account.api_secret_encrypted
    account_update(
        account=account, cipher=cipher, secrets=SecretsUpdate(access_token="fresh-token-0000")
    )
    account.refresh_from_db()
    assert account.api_secret_encrypted == before_secret
    assert cipher.decrypt(account.access_token_encrypted, account="d", field="t") == (
        "fresh-token-0000"
    )
    assert account.status == AccountStatus.ACTIVE


def test_disable_and_enable_record_reason_and_time() -> None:
    account = account_create(cipher=configured_cipher(), name="desk-5", secrets=SECRETS)
    account_disable(account=account)
    account.refresh_from_db()
    assert account.status == AccountStatus.DISABLED
    assert account.status_reason == "disabled by an operator"
    changed_at = account.status_changed_at
    account_enable(account=account)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.status_changed_at > changed_at


def test_rotation_reencrypts_everything_and_old_key_can_be_dropped() -> None:
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    old_cipher = CredentialCipher.from_keys([old_key])
    accounts = [
        account_create(cipher=old_cipher, name=f"rot-{i}", secrets=SECRETS) for i in range(5)
    ]
    both = CredentialCipher.from_keys([new_key, old_key])
    progress: list[int] = []
    report = credentials_rotate(cipher=both, batch_size=2, on_progress=progress.append)
    assert report.accounts == 5
    assert report.rotated == 15
    assert report.failed == []
    assert progress == [2, 2, 1]
    new_only = CredentialCipher.from_keys([new_key])
    for account in accounts:
        account.refresh_from_db()
        assert new_only.decrypt(account.api_key_encrypted, account="r", field="k") == (
            SECRETS.api_key
        )
        assert new_only.decrypt(account.access_token_encrypted, account="r", field="t") == (
            SECRETS.access_token
        )
    # A rerun (e.g. after an interruption) has nothing left to do.
    again = credentials_rotate(cipher=both)
    assert again.rotated == 0
    assert again.already_current == 15


def test_rotation_reports_undecryptable_rows_without_losing_them() -> None:
    stray = CredentialCipher.from_keys([Fernet.generate_key().decode()])
    account = account_create(cipher=stray, name="lost-key", secrets=SECRETS)
    report = credentials_rotate(cipher=configured_cipher())
    assert len(report.failed) == 3
    assert all("lost-key" in problem for problem in report.failed)
    account.refresh_from_db()
    assert stray.decrypt(account.api_key_encrypted, account="x", field="k") == SECRETS.api_key


@pytest.mark.parametrize(
    ("login_utc", "expected_ist"),
    [
        (
            datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
            datetime(2026, 11, 25, 6, 0, tzinfo=IST),
        ),  # 08:30 IST
        (
            datetime(2026, 11, 24, 18, 0, tzinfo=UTC),
            datetime(2026, 11, 25, 6, 0, tzinfo=IST),
        ),  # 23:30 IST
        (
            datetime(2026, 11, 23, 21, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 6, 0, tzinfo=IST),
        ),  # 02:30 IST
    ],
)
def test_access_token_expires_at_the_next_0600_ist(
    login_utc: datetime, expected_ist: datetime
) -> None:
    assert access_token_expiry(login_utc, IST) == expected_ist


def test_availability_changes_are_announced_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    heard: list[tuple[int, str]] = []

    def listener(*, account_id: int, reason: str, **_kwargs: object) -> None:
        heard.append((account_id, reason))

    account_availability_changed.connect(listener, dispatch_uid="test-listener")
    try:
        with django_capture_on_commit_callbacks(execute=False) as pending:
            account = account_create(cipher=configured_cipher(), name="ev", secrets=SECRETS)
            account_disable(account=account)
            account_update(account=account, cipher=configured_cipher(), broker_user_id="Z9")
        assert heard == []  # nothing before commit
        for callback in pending:
            callback()
        # A change that cannot alter availability (the broker user id) announces nothing.
        assert heard == [(account.pk, "created"), (account.pk, "status_disabled")]
    finally:
        account_availability_changed.disconnect(dispatch_uid="test-listener")

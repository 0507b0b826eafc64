"""add_account and rotate_credentials_key as an operator runs them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Account, AccountStatus
from accounts.wiring import configured_cipher

pytestmark = pytest.mark.django_db


def test_add_account_reads_secrets_from_env_and_never_echoes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITE_API_SECRET", "env-secret-PLAINTEXT")
    monkeypatch.setenv("KITE_ACCESS_TOKEN", "env-token-PLAINTEXT")
    out = StringIO()
    call_command(
        "add_account",
        "--name",
        "cli-desk",
        "--api-key",
        "clikey-PLAINTEXT-9876",
        "--user-id",
        "AB1234",
        "--no-input",
        stdout=out,
    )
    text = out.getvalue()
    assert "PLAINTEXT" not in text
    assert "****9876" in text
    assert "api secret set" in text
    account = Account.objects.get(name="cli-desk")
    assert account.status == AccountStatus.ACTIVE
    assert configured_cipher().decrypt(account.api_secret_encrypted, account="c", field="s") == (
        "env-secret-PLAINTEXT"
    )


def test_add_account_reports_validation_errors_clearly() -> None:
    with pytest.raises(CommandError, match="max_connections"):
        call_command(
            "add_account",
            "--name",
            "bad",
            "--api-key",
            "abcdefghijkl",
            "--max-connections",
            "9",
            "--no-input",
            stdout=StringIO(),
        )
    assert not Account.objects.filter(name="bad").exists()


def test_rotate_command_reports_counts() -> None:
    call_command(
        "add_account",
        "--name",
        "r1",
        "--api-key",
        "abcdefghijkl",
        "--api-secret",
        "s" * 10,
        "--access-token",
        "",
        "--no-input",
        stdout=StringIO(),
    )
    out = StringIO()
    call_command("rotate_credentials_key", stdout=out, stderr=StringIO())
    assert "accounts: 1" in out.getvalue()
    assert "failed: 0" in out.getvalue()

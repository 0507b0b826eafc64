"""Account writes: create, update, replace secrets, change status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from accounts.crypto import CredentialCipher
from accounts.events import AVAILABILITY_FIELDS, announce_availability_changed
from accounts.models import Account, AccountStatus
from accounts.token_expiry import access_token_expiry

log = structlog.get_logger(__name__)

# Plain settings an operator may change (secrets and status have their own services).
EDITABLE_FIELDS = (
    "name",
    "broker_user_id",
    "max_connections",
    "instruments_per_connection",
    "api_root_override",
    "ws_root_override",
    "login_url_override",
)


@dataclass(frozen=True)
class SecretsUpdate:
    """New plaintext values; ``None`` keeps what is stored, ``""`` clears (not for api_key)."""

    api_key: str | None = None
    api_secret: str | None = None
    access_token: str | None = None

    def __repr__(self) -> str:  # never show values, even in tracebacks
        given = [name for name in ("api_key", "api_secret", "access_token") if getattr(self, name)]
        return f"SecretsUpdate(given={given})"


def _apply_secrets(account: Account, secrets: SecretsUpdate, cipher: CredentialCipher) -> list[str]:
    changed: list[str] = []
    if secrets.api_key is not None:
        if not secrets.api_key.strip():
            raise ValueError("api_key cannot be blank")
        account.api_key_encrypted = cipher.encrypt(secrets.api_key.strip())
        changed.append("api_key_encrypted")
    if secrets.api_secret is not None:
        value = secrets.api_secret.strip()
        account.api_secret_encrypted = cipher.encrypt(value) if value else ""
        changed.append("api_secret_encrypted")
    if secrets.access_token is not None:
        value = secrets.access_token.strip()
        account.access_token_encrypted = cipher.encrypt(value) if value else ""
        # A token handed over by an operator dies like any other: at the next 06:00 IST.
        account.access_token_expires_at = access_token_expiry(timezone.now()) if value else None
        changed += ["access_token_encrypted", "access_token_expires_at"]
    return changed


def account_create(
    *,
    cipher: CredentialCipher,
    name: str,
    secrets: SecretsUpdate,
    access_token_expires_at: datetime | None = None,
    **fields: Any,
) -> Account:
    """Validate and store a new account; with an access token it starts ``active``."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"account_create got unknown fields: {sorted(unknown)}")
    if secrets.api_key is None:
        raise ValueError("api_key is required")
    account = Account(name=name, **fields)
    _apply_secrets(account, secrets, cipher)
    if account.access_token_encrypted:
        account.status = AccountStatus.ACTIVE
        if access_token_expires_at is not None:
            account.access_token_expires_at = access_token_expires_at
    account.full_clean()
    account.save()
    announce_availability_changed(account_id=account.pk, reason="created")
    log.info("account_created", account_id=account.pk, account=account.name, status=account.status)
    return account


def account_update(
    *,
    account: Account,
    cipher: CredentialCipher,
    secrets: SecretsUpdate | None = None,
    **fields: Any,
) -> Account:
    """Change editable fields and, where given, secrets; a new access token reactivates."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"account_update got unknown fields: {sorted(unknown)}")
    for key, value in fields.items():
        setattr(account, key, value)
    changed = list(fields)
    if secrets is not None:
        changed += _apply_secrets(account, secrets, cipher)
        if secrets.access_token and account.status == AccountStatus.NEEDS_LOGIN:
            changed += status_apply(
                account, AccountStatus.ACTIVE, "access token set by an operator"
            )
    account.full_clean()
    account.save(update_fields=[*changed, "updated_at"] if changed else None)
    if AVAILABILITY_FIELDS & set(changed):
        announce_availability_changed(account_id=account.pk, reason="updated")
    log.info("account_updated", account_id=account.pk, account=account.name, fields=changed)
    return account


STATUS_FIELDS = ["status", "status_reason", "status_changed_at"]


def status_apply(account: Account, status: AccountStatus, reason: str) -> list[str]:
    """Set status, reason and time on ``account`` (unsaved) and log the change.

    Every status change goes through here, so each is logged alike; the caller saves the
    returned fields and announces the change.
    """
    log.info(
        "account_status_changed",
        account_id=account.pk,
        account=account.name,
        previous=account.status,
        status=status,
        reason=reason,
    )
    account.status = status
    account.status_reason = reason[:500]
    account.status_changed_at = timezone.now()
    return list(STATUS_FIELDS)


def account_set_status(*, account: Account, status: AccountStatus, reason: str = "") -> Account:
    """Record a status change with its reason and time (no-op when nothing changes)."""
    if account.status == status and account.status_reason == reason:
        return account
    account.save(update_fields=[*status_apply(account, status, reason), "updated_at"])
    announce_availability_changed(account_id=account.pk, reason=f"status_{status}")
    return account


def account_mark_needs_login(*, account: Account, reason: str) -> Account:
    return account_set_status(account=account, status=AccountStatus.NEEDS_LOGIN, reason=reason)


def account_enable(*, account: Account) -> Account:
    """Back into service: active when it holds a token, else waiting for a login."""
    with transaction.atomic():
        status = (
            AccountStatus.ACTIVE if account.access_token_encrypted else AccountStatus.NEEDS_LOGIN
        )
        return account_set_status(account=account, status=status, reason="enabled by an operator")


def account_delete(*, account: Account) -> None:
    """Remove an account; its subscriptions stay and are reassigned."""
    account_id, name = account.pk, account.name
    account.delete()
    announce_availability_changed(account_id=account_id, reason="deleted")
    log.info("account_deleted", account_id=account_id, account=name)


def account_disable(*, account: Account) -> Account:
    return account_set_status(
        account=account, status=AccountStatus.DISABLED, reason="disabled by an operator"
    )

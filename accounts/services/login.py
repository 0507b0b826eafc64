"""The Kite login flow and session checks.

1. ``account_login_url``: Kite's login page for the account's api_key, carrying a signed
   ``state`` in ``redirect_params`` so the callback knows (and trusts) which account it is.
2. ``account_complete_login``: the callback's ``request_token`` is exchanged by
   ``generate_session`` (checksum sha256(api_key + request_token + api_secret)); the token and
   its expiry are stored and the account becomes active (a disabled account stays disabled:
   only an operator enables it). On any failure nothing is written.
3. ``account_check_session``: ``profile()``; a TokenException marks the account needs_login.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
import structlog
from django.core import signing
from django.db import transaction
from django.utils import timezone
from kiteconnect import exceptions as kite_exceptions

from accounts.events import announce_availability_changed
from accounts.kite_client import KiteClientFactory
from accounts.models import Account, AccountStatus
from accounts.services.account import (
    account_mark_needs_login,
    account_set_status,
    status_apply,
)
from accounts.token_expiry import access_token_expiry

log = structlog.get_logger(__name__)

_STATE_SALT = "accounts.kite-login"
STATE_MAX_AGE_SECONDS = 15 * 60


class AccountLoginError(Exception):
    """The login could not be completed; the account's stored state is unchanged."""

    def __init__(self, *, account: str, reason: str) -> None:
        super().__init__(f"Kite login for account {account!r} failed: {reason}")
        self.account = account
        self.reason = reason


class KiteResponseError(ValueError):
    """Kite answered with a shape we cannot use (validated at the edge, never coerced)."""


def login_state_sign(account: Account) -> str:
    return signing.dumps({"account_id": account.pk}, salt=_STATE_SALT)


def login_state_account_id(state: str) -> int:
    """The account id in a state made by ``login_state_sign``; raises BadSignature if forged/old."""
    payload = signing.loads(state, salt=_STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    account_id = payload.get("account_id") if isinstance(payload, dict) else None
    if not isinstance(account_id, int):
        raise signing.BadSignature("login state carries no account id")
    return account_id


def account_login_url(*, account: Account, factory: KiteClientFactory) -> str:
    """Kite's login page (v3) for this account's api_key, with our signed state to echo back."""
    query = urlencode(
        {
            "v": "3",
            "api_key": factory.api_key(account),
            "redirect_params": urlencode({"state": login_state_sign(account)}),
        }
    )
    return f"{factory.roots(account).login_url}?{query}"


def _session_from_response(data: object) -> tuple[str, str]:
    if not isinstance(data, Mapping):
        raise KiteResponseError(f"session response is a {type(data).__name__}, not an object")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise KiteResponseError("session response has no access_token")
    user_id = data.get("user_id", "")
    if not isinstance(user_id, str):
        raise KiteResponseError("session response user_id is not a string")
    return token, user_id


def account_complete_login(
    *, account: Account, request_token: str, factory: KiteClientFactory
) -> Account:
    """Exchange ``request_token`` for an access token and store it; raise AccountLoginError."""
    if not request_token:
        raise AccountLoginError(account=account.name, reason="no request_token in the callback")
    api_secret = factory.api_secret(account)
    if not api_secret:
        raise AccountLoginError(account=account.name, reason="the account has no api_secret")
    client = factory.for_account(account, with_token=False)
    try:
        access_token, user_id = _session_from_response(
            client.generate_session(request_token, api_secret=api_secret)
        )
    except kite_exceptions.KiteException as exc:
        log.warning(
            "kite_login_rejected",
            account=account.name,
            error_type=type(exc).__name__,
            code=exc.code,
        )
        raise AccountLoginError(
            account=account.name, reason=f"Kite rejected the login ({type(exc).__name__}: {exc})"
        ) from exc
    except requests.RequestException as exc:
        log.warning("kite_login_unreachable", account=account.name, error_type=type(exc).__name__)
        raise AccountLoginError(
            account=account.name, reason=f"Kite is unreachable ({type(exc).__name__})"
        ) from exc
    except KiteResponseError as exc:
        log.warning("kite_login_invalid_response", account=account.name, problem=str(exc))
        raise AccountLoginError(account=account.name, reason=str(exc)) from exc

    now = timezone.now()
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        locked.access_token_encrypted = factory.cipher.encrypt(access_token)
        locked.access_token_expires_at = access_token_expiry(now)
        if user_id:
            locked.broker_user_id = user_id
        if locked.status == AccountStatus.DISABLED:
            # Disabled stays disabled until an operator enables it: the session is kept for
            # then, but the account does not stream.
            log.info("kite_login_stored_for_disabled_account", account_id=locked.pk)
            locked.save()
        else:
            status_apply(locked, AccountStatus.ACTIVE, "logged in with Kite")
            locked.save()
            announce_availability_changed(account_id=locked.pk, reason="logged_in")
    log.info(
        "kite_login_completed",
        account_id=locked.pk,
        account=locked.name,
        expires_at=locked.access_token_expires_at.isoformat(),
    )
    return locked


@dataclass(frozen=True)
class SessionCheck:
    account: str
    valid: bool
    reason: str = ""


def account_check_session(*, account: Account, factory: KiteClientFactory) -> SessionCheck:
    """Ask Kite who we are; a dead token marks the account needs_login.

    Network trouble is raised to the caller (the task retries it); it says nothing about the token.
    """
    if not account.access_token_encrypted:
        account_mark_needs_login(account=account, reason="no access token stored")
        return SessionCheck(account.name, valid=False, reason="no access token stored")
    client = factory.for_account(account)
    try:
        profile = client.profile()
    except kite_exceptions.TokenException as exc:
        reason = f"Kite rejected the session: {exc}"
        account_mark_needs_login(account=account, reason=reason)
        log.info("kite_session_invalid", account_id=account.pk, account=account.name)
        return SessionCheck(account.name, valid=False, reason=reason)
    if not isinstance(profile, Mapping) or not isinstance(profile.get("user_id"), str):
        raise KiteResponseError(f"profile response for {account.name!r} has no user_id")
    if account.status in (AccountStatus.NEEDS_LOGIN, AccountStatus.ERROR):
        account_set_status(account=account, status=AccountStatus.ACTIVE, reason="session verified")
    log.info("kite_session_valid", account_id=account.pk, account=account.name)
    return SessionCheck(account.name, valid=True)

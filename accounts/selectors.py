"""Reads on accounts."""

from __future__ import annotations

from datetime import datetime

import structlog
from django.db.models import Q, QuerySet

from accounts.crypto import CredentialCipher, CredentialDecryptError, mask_secret
from accounts.models import Account, AccountStatus

log = structlog.get_logger(__name__)


def accounts_streamable(*, now: datetime) -> QuerySet[Account]:
    """Accounts that may use Kite now: active, holding a token that has not expired.

    The one statement of the rule: the assignment, the instruments dump and the quote fallback
    all choose accounts with it.
    """
    return (
        Account.objects.filter(status=AccountStatus.ACTIVE)
        .exclude(access_token_encrypted="")
        .filter(Q(access_token_expires_at__isnull=True) | Q(access_token_expires_at__gt=now))
    )


def account_api_key_hint(account: Account, cipher: CredentialCipher) -> str:
    """The api_key's last 4 characters for display, or a marker when it cannot be read."""
    try:
        return mask_secret(
            cipher.decrypt(account.api_key_encrypted, account=account.name, field="api_key")
        )
    except CredentialDecryptError:
        log.warning("account_api_key_undecryptable", account_id=account.pk, account=account.name)
        return "(undecryptable)"

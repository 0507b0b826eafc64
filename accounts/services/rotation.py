"""Re-encrypt every stored secret with the newest key, so older keys can be dropped.

Resumable by construction: rows already readable with the newest key alone are skipped, each
batch commits on its own, and a rerun after an interruption continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from django.db import transaction

from accounts.crypto import CredentialCipher, CredentialDecryptError
from accounts.models import Account

log = structlog.get_logger(__name__)

SECRET_FIELDS = ("api_key_encrypted", "api_secret_encrypted", "access_token_encrypted")


@dataclass
class RotationReport:
    accounts: int = 0
    rotated: int = 0
    already_current: int = 0
    failed: list[str] = field(default_factory=list)


def credentials_rotate(
    *,
    cipher: CredentialCipher,
    batch_size: int = 100,
    on_progress: Callable[[int], object] | None = None,
) -> RotationReport:
    """Rotate every encrypted field of every account; undecryptable ones are reported, kept."""
    report = RotationReport()
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Account.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            for account in batch:
                _rotate_account(account, cipher, report)
        last_pk = batch[-1].pk
        report.accounts += len(batch)
        if on_progress is not None:
            on_progress(len(batch))
    log.info(
        "credentials_rotated",
        accounts=report.accounts,
        rotated=report.rotated,
        already_current=report.already_current,
        failed=len(report.failed),
    )
    return report


def _rotate_account(account: Account, cipher: CredentialCipher, report: RotationReport) -> None:
    changed: list[str] = []
    for name in SECRET_FIELDS:
        ciphertext: str = getattr(account, name)
        if not ciphertext:
            continue
        if cipher.is_current(ciphertext):
            report.already_current += 1
            continue
        label = name.removesuffix("_encrypted")
        try:
            setattr(account, name, cipher.rotate(ciphertext, account=account.name, field=label))
        except CredentialDecryptError as exc:
            # Reported and counted, and the row keeps its ciphertext: an operator can restore
            # the missing key and rerun. Dropping keys is unsafe until this list is empty.
            log.error(  # noqa: TRY400 (the reason is in the report; no traceback wanted)
                "credential_rotation_failed", account=account.name, field=label
            )
            report.failed.append(str(exc))
            continue
        changed.append(name)
    if changed:
        account.save(update_fields=changed)
        report.rotated += len(changed)

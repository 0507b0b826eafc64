"""Re-run the assignment after an account's status changes (on commit).

Conventions keep side effects out of signals; this is the one exception, and a deliberate
one: account status changes come from the accounts app (admin, API, login callback, session
checks, the streaming worker's needs_login), and ``accounts`` must not import
``subscriptions``. The receiver only enqueues the assignment after commit; the every-minute
beat run repairs anything it misses (e.g. ``QuerySet.update()``, which sends no signal).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Account
from subscriptions.triggers import assignment_request_on_commit

# Fields whose change can alter which accounts are healthy or how much they hold.
_ASSIGNMENT_FIELDS = frozenset(
    {"status", "access_token_encrypted", "max_connections", "instruments_per_connection"}
)


@receiver(post_save, sender=Account, dispatch_uid="subscriptions.account_saved")
def account_saved(sender: type[Account], instance: Account, created: bool, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if created or update_fields is None or _ASSIGNMENT_FIELDS & set(update_fields):
        assignment_request_on_commit(reason="account_changed")


@receiver(post_delete, sender=Account, dispatch_uid="subscriptions.account_deleted")
def account_deleted(sender: type[Account], instance: Account, **kwargs: Any) -> None:
    assignment_request_on_commit(reason="account_deleted")

"""Domain events the accounts services announce once their transaction commits.

Other apps react to them without ``accounts`` importing those apps: the control plane re-runs
the assignment when an account's availability changes (status, token, capacity). They are
sent explicitly by the services that make the change, never from ``save()`` or model signals;
a change made around the services (``QuerySet.update()``, raw SQL) is repaired by the
control plane's every-minute assignment run.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# Receivers get keyword arguments ``account_id: int`` and ``reason: str``.
account_availability_changed = Signal()

# Fields whose change alters whether an account can stream or how much it holds.
AVAILABILITY_FIELDS = frozenset(
    {"status", "access_token_encrypted", "max_connections", "instruments_per_connection"}
)


def announce_availability_changed(*, account_id: int, reason: str) -> None:
    """Send ``account_availability_changed`` after the surrounding transaction commits."""
    transaction.on_commit(
        lambda: account_availability_changed.send(
            sender="accounts", account_id=account_id, reason=reason
        )
    )

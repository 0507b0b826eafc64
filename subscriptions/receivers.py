"""Re-run the assignment when an account's availability changes.

The accounts services announce ``account_availability_changed`` after commit (see
accounts/events.py); ``accounts`` must not import ``subscriptions``, so the control plane
subscribes here. The receiver only enqueues the assignment; the every-minute beat run repairs
anything a missed event left behind.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.events import account_availability_changed
from subscriptions.triggers import assignment_request_on_commit


@receiver(account_availability_changed, dispatch_uid="subscriptions.account_availability_changed")
def on_account_availability_changed(*, account_id: int, reason: str, **_kwargs: Any) -> None:
    assignment_request_on_commit(reason=f"account_{reason}")

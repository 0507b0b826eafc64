"""Celery tasks for accounts: the morning session check, fanned out one task per account.

Thin shells over ``accounts.services.login.account_check_session``; a dead token marks the
account needs_login (and the subscriptions app's receiver re-runs the assignment). Network
trouble, 429 and DB/Redis hiccups retry with the project's one policy (infra.retry).
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from celery import shared_task

from accounts.models import Account, AccountStatus
from accounts.services.login import account_check_session
from accounts.wiring import configured_kite_factory
from infra.retry import TRANSIENT_RETRY

log = structlog.get_logger(__name__)

CHECK_SOFT_LIMIT: Final = 60
CHECK_HARD_LIMIT: Final = 75


@shared_task(
    name="accounts.tasks.check_account_sessions",
    acks_late=True,
    soft_time_limit=CHECK_SOFT_LIMIT,
    time_limit=CHECK_HARD_LIMIT,
    **TRANSIENT_RETRY,
)
def check_account_sessions() -> list[int]:
    """Enqueue one session check per active account; the ids enqueued."""
    account_ids = list(
        Account.objects.filter(status=AccountStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for account_id in account_ids:
        check_account_session.delay(account_id)
    log.info("account_session_checks_enqueued", account_ids=account_ids)
    return account_ids


@shared_task(
    name="accounts.tasks.check_account_session",
    acks_late=True,
    soft_time_limit=CHECK_SOFT_LIMIT,
    time_limit=CHECK_HARD_LIMIT,
    **TRANSIENT_RETRY,
)
def check_account_session(account_id: int) -> dict[str, Any] | None:
    """Ask Kite whether the account's session is alive; a dead one becomes needs_login."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        log.warning("account_session_check_missing", account_id=account_id)
        return None
    result = account_check_session(account=account, factory=configured_kite_factory())
    return {"account": result.account, "valid": result.valid, "reason": result.reason}

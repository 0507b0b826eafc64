"""The fleet's Django-side collaborators: the desired set, the failover, the child's command.

These are the only parts of the fleet that touch the ORM; each turns a database or Redis
outage into a logged, counted ``False``/empty answer so the supervisor retries later.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import Account, AccountStatus
from accounts.selectors import accounts_streamable
from accounts.services.account import account_mark_needs_login
from streaming.config import MockMode
from streaming.fleet.supervisor import DesiredAccounts
from subscriptions.market_calendar import is_market_open
from subscriptions.wiring import (
    configured_assignment,
    configured_single_flight,
    configured_unavailable_accounts,
)

log = structlog.get_logger(__name__)

FAILOVER_NEEDS_LOGIN_REASON = "the worker exited 3: Kite refused the access token"
ASSIGNMENT_LOCK_SECONDS = 120


def desired_accounts() -> DesiredAccounts:
    """Who should stream: ``accounts_streamable``, plus whatever mock mode would serve."""
    close_old_connections()
    now = timezone.now()
    desired = set(accounts_streamable(now=now).values_list("pk", flat=True))
    mode = MockMode(settings.STREAMING_MOCK_MODE)
    if mode is MockMode.ALWAYS:
        # Mock-only workers need no session: every account that is not disabled or broken.
        desired |= set(
            Account.objects.filter(
                status__in=[AccountStatus.ACTIVE, AccountStatus.NEEDS_LOGIN]
            ).values_list("pk", flat=True)
        )
    elif mode is MockMode.AUTO and not is_market_open(now):
        desired |= set(
            Account.objects.filter(status=AccountStatus.ACTIVE).values_list("pk", flat=True)
        )
    versions = {
        pk: f"{status}|{updated_at.isoformat()}"
        for pk, status, updated_at in Account.objects.values_list("pk", "status", "updated_at")
    }
    return DesiredAccounts(desired=sorted(desired), versions=versions)


def mark_needs_login(account_id: int) -> bool:
    """The failover's first half: the account is marked needs_login (if the child could not)."""
    try:
        close_old_connections()
        account = Account.objects.filter(pk=account_id).first()
        if account is not None and account.status == AccountStatus.ACTIVE:
            account_mark_needs_login(account=account, reason=FAILOVER_NEEDS_LOGIN_REASON)
    except DatabaseError as exc:
        log.warning(
            "fleet_mark_needs_login_failed", account_id=account_id, error=type(exc).__name__
        )
        return False
    return True


def run_assignment(reason: str) -> bool:
    """The failover's second half: the assignment, single-flight across fleets and Celery."""
    try:
        close_old_connections()
        with configured_single_flight("assign_subscriptions", ASSIGNMENT_LOCK_SECONDS) as mine:
            if not mine:
                return False
            report = configured_assignment(now=timezone.now(), reason=reason)
    except (DatabaseError, RedisError, OSError) as exc:
        log.warning("fleet_assignment_failed", reason=reason, error=type(exc).__name__)
        return False
    if report.unassigned:
        log.warning(
            "fleet_assignment_short", reason=reason, unassigned=report.unassigned,
            capacity=report.capacity, load=report.load,
        )  # fmt: skip
    return True


def unavailable_accounts() -> frozenset[int]:
    try:
        close_old_connections()
        return configured_unavailable_accounts(timezone.now())
    except DatabaseError as exc:
        log.warning("fleet_availability_unreadable", error=type(exc).__name__)
        return frozenset()


def child_argv(account_id: int, fleet_id: str) -> list[str]:
    """``manage.py run_account ID --fleet-id F``."""
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    return [sys.executable, manage, "run_account", str(account_id), "--fleet-id", fleet_id]


def child_env() -> dict[str, str]:
    return dict(os.environ)

"""Morning session check tasks (eager), against a Kite stand-in over a real socket."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AccountStatus
from accounts.tasks import check_account_session, check_account_sessions
from infra.retry import TRANSIENT_ERRORS
from tests.accounts.factories import AccountFactory
from tests.subscriptions.conftest import eager_celery, stub
from tests.subscriptions.kite_stub import KiteStub, kite_stub
from ticker_project.celery import app as celery_app

pytestmark = pytest.mark.django_db
__all__ = ["eager_celery", "stub"]


def test_fan_out_checks_each_active_account(eager_celery, stub: KiteStub) -> None:
    # kiteconnect drops any path in its root, so the dead account gets its own server.
    with kite_stub() as rejecting:
        alive = AccountFactory.create(name="alive", api_root_override=stub.root)
        dead = AccountFactory.create(name="dead", api_root_override=rejecting.root)
        AccountFactory.create(
            name="off", status=AccountStatus.DISABLED, api_root_override=stub.root
        )
        stub.json("/user/profile", {"status": "success", "data": {"user_id": "AB1234"}})
        rejecting.error("/user/profile", 403, "TokenException", "Token is invalid or has expired.")
        assert check_account_sessions.delay().get() == sorted([alive.pk, dead.pk])
    alive.refresh_from_db()
    dead.refresh_from_db()
    assert alive.status == AccountStatus.ACTIVE
    assert dead.status == AccountStatus.NEEDS_LOGIN
    assert [path for path, _ in stub.requests] == ["/user/profile"]


def test_missing_account_is_logged_not_raised(eager_celery) -> None:
    assert check_account_session.delay(987_654).get() is None


def test_rate_limit_is_transient() -> None:
    task: Any = celery_app.tasks["accounts.tasks.check_account_session"]
    assert task.autoretry_for == TRANSIENT_ERRORS and task.acks_late

"""Issue 12's correctness bugs: the health reason names each silent account once, and the admin's
"unassigned" filter shows only active subscriptions that no account streams."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Account
from subscriptions.models import Subscription, SubscriptionStatus
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def _account() -> Account:
    (account,) = Account.objects.bulk_create([AccountFactory.build()])  # no assignment signals
    return account


def _subscriptions(count: int, **fields: object) -> list[Subscription]:
    built = [SubscriptionFactory.build(**fields) for _ in range(count)]
    for subscription in built:
        subscription.instrument.save()
        subscription.instrument_id = subscription.instrument.pk
    return Subscription.objects.bulk_create(built)


def test_health_names_an_account_once_however_many_subscriptions_it_streams(
    redis_client: object,
) -> None:
    first, second = _account(), _account()
    _subscriptions(3, account=first)
    _subscriptions(2, account=second)

    reason = Client().get("/api/health/").json()["checks"]["workers"]["reason"]
    # One clause per account ("account 7: streamable but no worker runs (...)").
    listed = [int(n) for n in re.findall(r"account (\d+):", reason)]
    assert listed == sorted([first.pk, second.pk])


def test_admin_unassigned_filter_lists_only_active_unassigned_subscriptions() -> None:
    account = _account()
    active_unassigned = _subscriptions(2)
    inactive_unassigned = _subscriptions(3, status=SubscriptionStatus.INACTIVE)
    _subscriptions(1, account=account)
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-123456789"))

    page = client.get("/admin/subscriptions/subscription/", {"assigned": "no"})
    assert page.status_code == 200
    shown = set(page.context["cl"].result_list.values_list("pk", flat=True))
    assert shown == {s.pk for s in active_unassigned}
    assert not shown & {s.pk for s in inactive_unassigned}

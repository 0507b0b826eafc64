"""The assignment service on PostgreSQL: writes only changes, reloads the affected accounts on
the real Redis control channel after commit, and reports a capacity shortfall."""

from __future__ import annotations

import json
import time

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from accounts.models import AccountStatus
from accounts.services.account import account_mark_needs_login
from subscriptions.control_channel import ControlPublisher
from subscriptions.health import assignment_health
from subscriptions.models import Subscription
from subscriptions.selectors import assignment_overview
from subscriptions.services.assignment import subscriptions_assign
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import InstrumentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def publisher(redis_client: redis.Redis) -> ControlPublisher:
    return ControlPublisher(redis=redis_client, prefix=settings.TICKER_CHANNEL_PREFIX)


def listen(client: redis.Redis) -> redis.client.PubSub:
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"{settings.TICKER_CHANNEL_PREFIX}:control")
    pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    return pubsub


def next_message(pubsub: redis.client.PubSub) -> dict[str, object] | None:
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message is not None:
            return json.loads(message["data"])
    return None


def test_reload_names_affected_accounts_after_commit(
    publisher: ControlPublisher, redis_client: redis.Redis, django_capture_on_commit_callbacks
) -> None:
    first = AccountFactory.create(instruments_per_connection=10)
    second = AccountFactory.create(instruments_per_connection=10)
    SubscriptionFactory.create_batch(6, instrument__name="SOMETHING")
    pubsub = listen(redis_client)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = subscriptions_assign(now=timezone.now(), publisher=publisher)
        assert next_message(pubsub) is None  # nothing before the commit
    assert len(callbacks) == 1
    message = next_message(pubsub)
    assert message is not None
    assert message["type"] == "reload"
    assert message["account_ids"] == sorted([first.pk, second.pk])
    assert message["reason"] == "assignment_changed"
    assert isinstance(message["ts"], float)
    assert report.assigned == 6 and report.unassigned == 0
    assert sorted(report.load.values()) == [3, 3]

    # Nothing changed: no message at all.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = subscriptions_assign(now=timezone.now(), publisher=publisher)
    assert again.moved == 0 and callbacks == []
    assert next_message(pubsub) is None

    # An account needs a login: its subscriptions move; both accounts reload.
    account_mark_needs_login(account=second, reason="token expired")
    with django_capture_on_commit_callbacks(execute=True):
        moved = subscriptions_assign(now=timezone.now(), publisher=publisher)
    assert moved.moved == 3
    assert set(Subscription.objects.values_list("account_id", flat=True)) == {first.pk}
    message = next_message(pubsub)
    assert message is not None and message["account_ids"] == sorted([first.pk, second.pk])
    pubsub.close()


def test_shortfall_is_reported_in_report_overview_and_health(publisher: ControlPublisher) -> None:
    AccountFactory.create(max_connections=1, instruments_per_connection=4)
    AccountFactory.create(status=AccountStatus.NEEDS_LOGIN)  # unhealthy: not used
    AccountFactory.create(access_token="")  # no token: not used
    subscriptions = SubscriptionFactory.create_batch(6, instrument__name="X")
    report = subscriptions_assign(now=timezone.now(), publisher=publisher)
    assert (report.assigned, report.unassigned) == (4, 2)
    assert report.unassigned_tokens == sorted(
        s.instrument.instrument_token for s in subscriptions[4:]
    )
    overview = assignment_overview()
    assert overview.unassigned == 2 and overview.active == 6
    status, reason = assignment_health()
    assert status == "degraded"
    assert reason.startswith("2 active subscription(s) unassigned")


def test_index_of_options_is_streamed_and_counted(publisher: ControlPublisher) -> None:
    AccountFactory.create(max_connections=1, instruments_per_connection=3)
    for _ in range(3):  # NIFTY options need the NIFTY 50 index (256265, from the data migration)
        SubscriptionFactory.create(instrument__name="NIFTY")
    report = subscriptions_assign(now=timezone.now(), publisher=publisher)
    assert (report.assigned, report.unassigned) == (2, 1)  # 2 options + the index = 3
    # What the worker then streams is checked against this count in tests/streaming.


def test_inactive_subscriptions_are_released_and_their_account_reloads(
    publisher: ControlPublisher,
) -> None:
    account = AccountFactory.create()
    subscription = SubscriptionFactory.create(account=account, status="inactive")
    report = subscriptions_assign(now=timezone.now(), publisher=publisher)
    assert report.released == 1
    assert report.affected_account_ids == [account.pk]
    subscription.refresh_from_db()
    assert subscription.account_id is None


def test_assignment_query_count_does_not_grow_with_rows(
    publisher: ControlPublisher, django_assert_max_num_queries
) -> None:
    AccountFactory.create_batch(3)
    instruments = InstrumentFactory.create_batch(200)
    Subscription.objects.bulk_create([Subscription(instrument=i) for i in instruments])
    with django_assert_max_num_queries(12):
        report = subscriptions_assign(now=timezone.now(), publisher=publisher)
    assert report.assigned == 200


def test_publish_failure_is_logged_not_raised(django_capture_on_commit_callbacks) -> None:
    AccountFactory.create()
    SubscriptionFactory.create()
    dead = ControlPublisher(
        redis=redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2),
        prefix="t",
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = subscriptions_assign(now=timezone.now(), publisher=dead)
    assert report.assigned == 1

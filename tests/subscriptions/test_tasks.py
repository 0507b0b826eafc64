"""Celery tasks in eager mode, calling the real services: the on-commit trigger runs the
assignment and its reload reaches the control channel; single-flight skips overlapping runs;
routes and the retry policy are as declared."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis
from django.conf import settings
from kiteconnect import exceptions as kite_exceptions

from accounts.services.account import account_disable
from infra.retry import TRANSIENT_ERRORS
from subscriptions.locks import single_flight
from subscriptions.models import Instrument, Subscription
from subscriptions.services.subscriptions import subscriptions_bulk_create
from subscriptions.tasks import assign_subscriptions, rebalance_strikes, refresh_instruments
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import InstrumentFactory
from tests.subscriptions.kite_stub import KiteStub
from ticker_project.celery import app as celery_app

pytestmark = pytest.mark.django_db

CSV = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,"
    "lot_size,instrument_type,segment,exchange\n"
    "256265,1001,NIFTY 50,NIFTY 50,24000,,0,0.05,1,EQ,INDICES,NSE\n"
)


def test_bulk_create_triggers_assignment_and_reload_after_commit(
    eager_celery, redis_client: redis.Redis, django_capture_on_commit_callbacks
) -> None:
    account = AccountFactory.create()
    instruments = InstrumentFactory.create_batch(3, name="X")
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"{settings.TICKER_CHANNEL_PREFIX}:control")
    pubsub.get_message(timeout=1.0)
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_bulk_create(instrument_tokens=[i.instrument_token for i in instruments])
    assert set(Subscription.objects.values_list("account_id", flat=True)) == {account.pk}
    deadline, message = time.monotonic() + 2, None
    while message is None and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
    assert message is not None
    payload = json.loads(message["data"])
    assert payload["type"] == "reload" and payload["account_ids"] == [account.pk]
    pubsub.close()


def test_account_status_change_triggers_assignment(
    eager_celery, django_capture_on_commit_callbacks
) -> None:
    first = AccountFactory.create()
    instrument = InstrumentFactory.create(name="X")
    Subscription.objects.create(instrument=instrument, account=first)
    second = AccountFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        account_disable(account=first)
    assert Subscription.objects.get().account_id == second.pk


def test_refresh_task_runs_the_service_and_is_single_flight(
    eager_celery, stub: KiteStub, redis_client: redis.Redis
) -> None:
    AccountFactory.create(api_root_override=stub.root)
    stub.csv("/instruments", CSV)
    stub.csv("/instruments/NSE", CSV)
    result = refresh_instruments.delay().get()
    assert result["rows"] == 1 and Instrument.objects.count() == 1
    with single_flight(
        redis_client,
        prefix=settings.TICKER_CHANNEL_PREFIX,
        job="refresh_instruments",
        ttl_seconds=60,
    ) as held:
        assert held
        assert refresh_instruments.delay().get() is None  # skipped, not collided
    assert refresh_instruments.delay(exchanges=["NSE"]).get() is not None  # lock released


def test_rebalance_and_assign_tasks(eager_celery, redis_client: redis.Redis) -> None:
    result = rebalance_strikes.delay().get()
    assert result is not None and set(result) == {"skipped", "changes", "acted"}
    assigned = assign_subscriptions.delay().get()
    assert assigned == {"assigned": 0, "unassigned": 0, "moved": 0, "affected_account_ids": []}


def test_transient_errors_are_retried_and_routes_declared() -> None:
    task: Any = celery_app.tasks["subscriptions.tasks.refresh_instruments"]
    assert task.autoretry_for == TRANSIENT_ERRORS
    assert task.retry_jitter is True and task.max_retries == 5
    assert kite_exceptions.NetworkException in TRANSIENT_ERRORS
    assert kite_exceptions.TokenException not in TRANSIENT_ERRORS
    routes = settings.CELERY_TASK_ROUTES
    for name in (
        "subscriptions.tasks.refresh_instruments",
        "subscriptions.tasks.rebalance_strikes",
        "subscriptions.tasks.assign_subscriptions",
    ):
        assert routes[name]["queue"] in settings.CONTROL_PLANE_QUEUES
        limit = celery_app.tasks[name].time_limit
        assert celery_app.tasks[name].acks_late and limit is not None
        assert limit < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]

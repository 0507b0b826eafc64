"""The instruments admin's "Backfill historical Greeks" action queues the backfill after commit."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.subscriptions.factories import InstrumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    user = User.objects.create_superuser("ops", "ops@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(user)
    return client


def test_the_action_queues_the_backfill_of_the_selected_options_on_the_backfill_queue(
    staff_client: Client, redis_client: redis.Redis, django_capture_on_commit_callbacks: Any
) -> None:
    options = [InstrumentFactory.create(), InstrumentFactory.create(instrument_type="PE")]
    index = InstrumentFactory.create(instrument_type="EQ", segment="INDICES", name="NIFTY 50")
    url = reverse("admin:subscriptions_instrument_changelist")
    ids = [str(i.pk) for i in [*options, index]]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(url, {"action": "backfill_greeks", "_selected_action": ids})
    assert response.status_code == 302
    assert len(callbacks) == 1
    [raw] = redis_client.lrange("backfill", 0, -1)
    message = json.loads(raw)
    assert message["headers"]["task"] == "greeks.tasks.backfill_instruments"
    assert str(sorted(i.pk for i in options)) in message["headers"]["kwargsrepr"]
    assert str(index.pk) not in message["headers"]["kwargsrepr"].split("]")[0]

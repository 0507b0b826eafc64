"""The worker streams exactly what the assignment counted against the account's capacity."""

from __future__ import annotations

import pytest
from django.utils import timezone

from streaming.subscription_source import load_subscription_set
from subscriptions.services.assignment import subscriptions_assign
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import SubscriptionFactory

# transaction=True: the loader closes stale connections, as the worker does outside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)
NIFTY_INDEX = 256265  # from the Underlying data migration


def test_worker_streams_the_assigned_options_and_their_index() -> None:
    account = AccountFactory.create(max_connections=1, instruments_per_connection=3)
    for _ in range(3):
        SubscriptionFactory.create(instrument__name="NIFTY", instrument__instrument_type="CE")
    report = subscriptions_assign(now=timezone.now(), publisher=None)
    assert (report.assigned, report.unassigned) == (2, 1)  # 2 options + their index = 3 slots

    streamed = load_subscription_set(account.pk)
    assert len(streamed.modes) == account.capacity == 3
    assert NIFTY_INDEX in streamed.modes
    assert streamed.index_tokens == {NIFTY_INDEX}
    assert streamed.unpriceable == 0


def test_futures_do_not_bring_their_index() -> None:
    account = AccountFactory.create()
    SubscriptionFactory.create(
        account=account, instrument__name="NIFTY", instrument__instrument_type="FUT"
    )
    streamed = load_subscription_set(account.pk)
    assert NIFTY_INDEX not in streamed.modes
    assert len(streamed.modes) == 1

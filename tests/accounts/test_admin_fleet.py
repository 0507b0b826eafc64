"""Admin and the fleet: worker columns on the account list, restart/drain actions, fleet page.

The fleet's records are this admin's input: the tests write them into Redis as ``run_fleet``
would (encoded by ``contract.fleet``), and listen on the control channel for commands.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from contract.fleet import (
    FleetRecord,
    WorkerRecord,
    decode_command,
    encode,
    fleet_control_channel,
    fleet_host_key,
    fleet_worker_key,
)
from contract.names import heartbeat_key
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db
PREFIX = settings.TICKER_CHANNEL_PREFIX


@pytest.fixture
def staff_client() -> Client:
    user = User.objects.create_superuser("fleet-ops", "ops@example.com", "ops-password-123")
    client = Client()
    client.force_login(user)
    return client


def _running(client: redis.Redis, account: Account, *, host: str, tps: float) -> None:
    now = time.time()
    record = WorkerRecord(
        account_id=account.pk, state="running", fleet_id="fleet-x", host=host, pid=777,
        updated_at=now,
    )  # fmt: skip
    client.set(fleet_worker_key(PREFIX, account.pk), encode(record))
    beat = {"host": host, "pid": 777, "connections": 1, "ticks_per_second": tps,
            "last_tick_age_seconds": 0.4, "ts": now}  # fmt: skip
    client.set(heartbeat_key(PREFIX, account.pk), orjson.dumps(beat))


class CountingRedis(redis.Redis):
    """A real client that records the commands it sends (to count round trips)."""

    sent: list[str]

    def execute_command(self, *args: object, **options: object) -> object:
        self.sent.append(str(args[0]))
        return super().execute_command(*args, **options)


def test_account_list_shows_worker_state_host_rate_and_tick_age_in_one_redis_read(
    staff_client: Client, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = AccountFactory.create(name="live-desk")
    SubscriptionFactory.create(account=live)
    backing_off = AccountFactory.create(name="sick-desk")
    for _ in range(3):
        AccountFactory.create()
    _running(redis_client, live, host="fleet-host-7", tps=42.5)
    redis_client.set(
        fleet_worker_key(PREFIX, backing_off.pk),
        encode(WorkerRecord(account_id=backing_off.pk, state="backoff", fleet_id="fleet-x",
                            host="fleet-host-7", pid=None, restarts=3)),
    )  # fmt: skip
    counting = CountingRedis.from_url(settings.REDIS_URL)
    assert isinstance(counting, CountingRedis)
    counting.sent = []
    # The admin takes its client from the process factory; give it one that counts commands.
    monkeypatch.setattr("streaming.fleet_admin.process_redis", lambda url: counting)

    response = staff_client.get(reverse("admin:accounts_account_changelist"))

    assert response.status_code == 200
    html = response.content.decode()
    for header in ("Worker", "Host", "Ticks/s", "Last tick"):
        assert f">{header}<" in html or f">{header}</a>" in html
    assert "fleet-host-7" in html and "42.5" in html
    assert ">running</span>" in html and "#2e7d32" in html  # the green badge
    assert ">backoff</span>" in html and "#ef6c00" in html
    assert ">stopped</span>" in html  # the accounts no fleet supervises
    assert " s ago" in html
    assert counting.sent == ["MGET"]


def test_restart_and_drain_actions_publish_fleet_commands(
    staff_client: Client, redis_client: redis.Redis, settings: Any
) -> None:
    accounts = [AccountFactory.create(), AccountFactory.create()]
    # Pub/sub channels are server-wide (not per Redis db): this test's own prefix.
    settings.TICKER_CHANNEL_PREFIX = f"test-{uuid.uuid4().hex}"
    pubsub = redis_client.pubsub()
    pubsub.subscribe(fleet_control_channel(settings.TICKER_CHANNEL_PREFIX))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    url = reverse("admin:accounts_account_changelist")
    ids = [str(a.pk) for a in accounts]

    response = staff_client.post(
        url, {"action": "restart_workers", "_selected_action": ids}, follow=True
    )
    commands = [decode_command(pubsub.get_message(timeout=2)["data"]) for _ in ids]
    assert sorted((c.action, c.account_id) for c in commands) == sorted(
        ("restart", a.pk) for a in accounts
    )
    assert all("by fleet-ops (admin)" in c.reason for c in commands)
    assert "restart sent to the fleet" in response.content.decode()

    staff_client.post(url, {"action": "drain_workers", "_selected_action": ids[:1]})
    drained = decode_command(pubsub.get_message(timeout=2)["data"])
    assert (drained.action, drained.account_id) == ("drain", accounts[0].pk)
    pubsub.close()


def test_an_action_with_no_fleet_listening_says_so(
    staff_client: Client, redis_client: redis.Redis, settings: Any
) -> None:
    settings.TICKER_CHANNEL_PREFIX = f"test-{uuid.uuid4().hex}"  # no fleet of anyone's hears
    account = AccountFactory.create(name="lonely")
    response = staff_client.post(
        reverse("admin:accounts_account_changelist"),
        {"action": "drain_workers", "_selected_action": [str(account.pk)]},
        follow=True,
    )
    html = response.content.decode()
    assert "Lonely: no fleet is listening; nothing done." in html  # admin capitalises


def test_fleet_page_lists_every_host_with_its_accounts_and_is_linked_from_the_index(
    staff_client: Client, redis_client: redis.Redis
) -> None:
    held = AccountFactory.create(name="held-desk")
    orphan = AccountFactory.create(name="orphan-desk")  # streamable, no fleet holds it
    _running(redis_client, held, host="box-a", tps=9.0)
    for fleet_id, host, accounts in (("f-a", "box-a", [held.pk]), ("f-b", "box-b", [])):
        record = FleetRecord(fleet_id=fleet_id, host=host, pid=100, max_accounts=4,
                             accounts=accounts, updated_at=time.time())  # fmt: skip
        redis_client.set(fleet_host_key(PREFIX, fleet_id), encode(record))

    index = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:accounts_fleet") in index

    response = staff_client.get(reverse("admin:accounts_fleet"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="fleet-f-a"' in html and 'id="fleet-f-b"' in html
    assert "box-a" in html and "box-b" in html
    section_a = html[html.index('id="fleet-f-a"') : html.index('id="fleet-f-b"')]
    assert "held-desk" in section_a and ">running</span>" in section_a
    assert "No accounts held." in html[html.index('id="fleet-f-b"') :]
    assert "orphan-desk" in html[html.index('id="fleet-unheld"') :]
    assert orphan.pk != held.pk


def test_fleet_page_needs_staff(redis_client) -> None:
    response = Client().get(reverse("admin:accounts_fleet"))
    assert response.status_code == 302 and "/login/" in response["Location"]

"""The fleet's ops views: ``/api/v1/fleet/``, its restart/drain commands, and the health check.

Records are written in the exact form ``contract.fleet`` encodes (what ``run_fleet``
writes); Redis and PostgreSQL are real.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import orjson
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import AccountStatus
from contract.fleet import (
    FleetRecord,
    LeaseHolder,
    WorkerRecord,
    account_lease_key,
    decode_command,
    encode,
    fleet_control_channel,
    fleet_host_key,
    fleet_worker_key,
)
from infra.redis_factory import process_redis
from streaming.fleet.health import check_fleet
from streaming.fleet.selectors import fleet_hosts, fleet_overview
from streaming.fleet.services import fleet_worker_command
from streaming.fleet.supervisor import fleet_drained_key
from subscriptions.market_calendar import nse_calendar
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db
PREFIX = settings.TICKER_CHANNEL_PREFIX
# A Tuesday at 11:00 Asia/Kolkata (05:30 UTC), and a Sunday.
MARKET_OPEN = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
MARKET_CLOSED = datetime(2026, 12, 6, 5, 30, tzinfo=UTC)


def _heartbeat(client: redis.Redis, account_id: int, *, ts: float, tps: float, tick_age: float):
    document = {
        "account_id": account_id, "pid": 4242, "host": "h1", "state": "streaming",
        "connections": 2, "ticks_per_second": tps, "last_tick_age_seconds": tick_age, "ts": ts,
    }  # fmt: skip
    client.set(f"{PREFIX}:heartbeat:{account_id}", orjson.dumps(document), ex=60)


def _worker(client: redis.Redis, account_id: int, **fields) -> None:
    record = WorkerRecord(
        account_id=account_id, fleet_id="fleet-a", host="h1", updated_at=time.time(),
        **{"state": "running", "pid": 4242, **fields},
    )  # fmt: skip
    client.set(fleet_worker_key(PREFIX, account_id), encode(record), ex=60)


@pytest.fixture
def fleet(redis_client):
    """Three accounts: 1 streams, 2 is in backoff after exit 1, 3 is disabled and has no worker."""
    streaming = AccountFactory.create()
    backing_off = AccountFactory.create()
    disabled = AccountFactory.create(status=AccountStatus.DISABLED)
    for _ in range(3):
        SubscriptionFactory.create(account=streaming)
    SubscriptionFactory.create(account=backing_off)
    now = time.time()
    _worker(redis_client, streaming.id, restarts=1, started_at=now - 100)
    _heartbeat(redis_client, streaming.id, ts=now - 2, tps=120.5, tick_age=0.1)
    redis_client.set(
        account_lease_key(PREFIX, streaming.id),
        encode(LeaseHolder(host="h1", pid=4242, fleet_id="fleet-a")),
    )
    _worker(
        redis_client, backing_off.id, state="backoff", pid=None, restarts=4, last_exit_code=1,
        last_exit_reason="exit 1: transient failure", last_error="ConnectionResetError",
    )  # fmt: skip
    return streaming, backing_off, disabled


def _user(*, staff: bool) -> APIClient:
    client = APIClient()
    user = get_user_model().objects.create_user(
        "staff" if staff else "viewer", password="x" * 12, is_staff=staff
    )
    client.force_authenticate(user)
    return client


def test_fleet_api_joins_records_with_accounts_and_subscription_counts(
    fleet, django_assert_max_num_queries
):
    streaming, backing_off, disabled = fleet
    for _ in range(4):  # more accounts must not cost more queries
        SubscriptionFactory.create(account=AccountFactory.create(status=AccountStatus.DISABLED))
    client = _user(staff=False)
    with django_assert_max_num_queries(1):
        response = client.get("/api/v1/fleet/")
    assert response.status_code == 200
    workers = {w["account_id"]: w for w in response.json()}
    assert len(workers) == 7
    for extra in (i for i in list(workers) if i not in (streaming.id, backing_off.id, disabled.id)):
        workers.pop(extra)
    assert set(workers) == {streaming.id, backing_off.id, disabled.id}
    live = workers[streaming.id]
    assert live["state"] == "running" and live["host"] == "h1" and live["pid"] == 4242
    assert live["lease_holder"] == {"host": "h1", "pid": 4242, "fleet_id": "fleet-a"}
    assert live["ticks_per_second"] == 120.5 and live["connections"] == 2
    assert live["subscribed_instruments"] == 3 and live["restarts"] == 1
    assert 2.0 <= live["last_tick_age_seconds"] < 30 and live["problem"] == ""
    down = workers[backing_off.id]
    assert down["state"] == "backoff" and down["last_exit_code"] == 1
    assert down["last_exit_reason"] == "exit 1: transient failure"
    assert down["last_error"] == "ConnectionResetError" and down["subscribed_instruments"] == 1
    assert down["problem"].startswith("worker backoff")
    assert workers[disabled.id]["state"] == "stopped"
    assert workers[disabled.id]["problem"] == "" and not workers[disabled.id]["streamable"]


def test_a_streamable_account_without_a_worker_is_stopped_and_a_bare_heartbeat_unsupervised(
    redis_client,
):
    idle, hand_run = AccountFactory.create(), AccountFactory.create()
    SubscriptionFactory.create(account=idle)
    _heartbeat(redis_client, hand_run.id, ts=time.time(), tps=3.0, tick_age=0.1)
    rows = {
        r.account_id: r for r in fleet_overview(redis=redis_client, prefix=PREFIX, now=time.time())
    }
    assert rows[idle.id].state == "stopped" and "no worker runs" in rows[idle.id].problem
    assert rows[hand_run.id].state == "unsupervised" and rows[hand_run.id].host == "h1"
    assert rows[hand_run.id].problem == ""  # no subscriptions: nothing to tick


def test_a_drained_account_says_so_with_the_operators_reason(redis_client):
    account = AccountFactory.create()
    SubscriptionFactory.create(account=account)
    # The drain marker as the supervisor writes it when it obeys a drain.
    redis_client.set(
        fleet_drained_key(PREFIX, account.pk), orjson.dumps({"reason": "maintenance", "ts": 1.0})
    )
    (row,) = fleet_overview(redis=redis_client, prefix=PREFIX, now=time.time())
    assert row.state == "drained"
    assert row.problem == "drained by an operator: maintenance"


def test_fleet_api_needs_authentication_and_is_in_the_schema(fleet):
    assert APIClient().get("/api/v1/fleet/").status_code in (401, 403)
    schema = _user(staff=True).get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/fleet/" in schema["paths"]
    assert "/api/v1/fleet/{account_id}/restart/" in schema["paths"]


def test_the_selector_costs_one_query_and_one_redis_round_trip_whatever_the_size(redis_client):
    for _ in range(6):
        SubscriptionFactory.create(account=AccountFactory.create())
    calls: list[str] = []

    class CountingRedis(redis.Redis):
        def execute_command(self, *args, **options):
            calls.append(str(args[0]))
            return super().execute_command(*args, **options)

    client = CountingRedis.from_url(settings.REDIS_URL)
    with CaptureQueriesContext(connection) as queries:
        rows = fleet_overview(redis=client, prefix=PREFIX, now=time.time())
    assert len(rows) == 6 and all(r.subscribed_instruments == 1 for r in rows)
    assert len(queries.captured_queries) == 1
    assert calls == ["MGET"]  # worker, heartbeat, lease and drain keys of all six at once


def test_restart_and_drain_publish_one_fleet_command_and_are_staff_only(
    fleet, redis_client, settings
):
    streaming, _, _ = fleet
    # Pub/sub channels are server-wide (not per Redis db): a prefix of this test's own keeps
    # other processes on the shared server from hearing, or sending, these commands.
    settings.TICKER_CHANNEL_PREFIX = f"test-{uuid.uuid4().hex}"
    pubsub = redis_client.pubsub()
    pubsub.subscribe(fleet_control_channel(settings.TICKER_CHANNEL_PREFIX))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    assert _user(staff=False).post(f"/api/v1/fleet/{streaming.id}/restart/").status_code == 403
    staff = _user(staff=True)
    response = staff.post(f"/api/v1/fleet/{streaming.id}/restart/", {"reason": "stuck"})
    assert response.status_code == 202 and response.json()["receivers"] == 1
    command = decode_command(pubsub.get_message(timeout=2)["data"])
    assert (command.action, command.account_id, command.reason) == (
        "restart",
        streaming.id,
        "stuck",
    )
    assert staff.post(f"/api/v1/fleet/{streaming.id}/drain/").status_code == 202
    assert decode_command(pubsub.get_message(timeout=2)["data"]).action == "drain"
    assert staff.post("/api/v1/fleet/999999/drain/").status_code == 404
    pubsub.close()


def test_the_service_rejects_unknown_actions(redis_client):
    with pytest.raises(ValueError, match="unknown fleet action"):
        fleet_worker_command(
            redis=redis_client, prefix=PREFIX, account_id=1, action="kill",  # type: ignore[arg-type]
            reason="",
        )  # fmt: skip


def _check(at: datetime):
    return check_fleet(
        redis=process_redis(settings.REDIS_URL),
        prefix=PREFIX, now=at, calendar=nse_calendar(),
    )  # fmt: skip


def test_health_is_degraded_with_the_reason_per_account(fleet):
    streaming, backing_off, _ = fleet
    verdict = _check(MARKET_CLOSED)
    assert verdict.status == "degraded"
    assert f"account {backing_off.id}: worker backoff" in verdict.reason
    entry = verdict.accounts[str(backing_off.id)]
    assert entry["status"] == "degraded" and entry["state"] == "backoff"
    # The streaming account's heartbeat is read at the real clock here (records are fresh).
    assert verdict.accounts[str(streaming.id)]["connections"] == 2


def test_health_is_down_when_nothing_streams_during_market_hours_only(redis_client):
    account = AccountFactory.create()
    SubscriptionFactory.create(account=account)
    assert _check(MARKET_OPEN).status == "down"
    down = _check(MARKET_OPEN).reason
    assert down.startswith("market open and no account streams; ")
    assert f"account {account.id}: streamable but no worker runs" in down
    closed = _check(MARKET_CLOSED)
    assert closed.status == "degraded" and "no worker runs" in closed.reason
    _worker(redis_client, account.id)
    _heartbeat(redis_client, account.id, ts=MARKET_OPEN.timestamp() - 1, tps=50, tick_age=0.2)
    assert _check(MARKET_OPEN).status == "ok"


def test_health_endpoint_shows_the_fleet_per_account(fleet):
    _, backing_off, _ = fleet
    body = Client().get("/api/health/").json()
    workers = body["checks"]["workers"]
    assert workers["status"] in ("degraded", "down")
    assert workers["accounts"][str(backing_off.id)]["state"] == "backoff"


def test_fleet_hosts_lists_every_live_fleet(redis_client):
    for name in ("fleet-b", "fleet-a"):
        record = FleetRecord(fleet_id=name, host=f"{name}.host", pid=1, max_accounts=None,
                             accounts=[1, 2])  # fmt: skip
        redis_client.set(fleet_host_key(PREFIX, name), encode(record), ex=30)
    hosts = fleet_hosts(redis=redis_client, prefix=PREFIX)
    assert [h.fleet_id for h in hosts] == ["fleet-a", "fleet-b"]
    assert hosts[0].accounts == [1, 2]

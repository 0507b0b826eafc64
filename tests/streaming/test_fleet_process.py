"""``manage.py run_fleet`` as a real process tree: the simulator, PostgreSQL, Redis, no Celery.

Faults are real: SIGKILL and SIGSTOP of children, a 403 from the simulator, a second fleet,
SIGKILL of a fleet, a Redis restart. Timings are shortened through the environment
(``fleet_env``); the production defaults are in docs/fleet.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

import orjson
import pytest
import redis
import requests
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import AccountStatus
from streaming.config import EXIT_LEASE_HELD
from subscriptions.models import Subscription
from tests.database_url import migrated_database_url
from tests.streaming.fleet_helpers import (
    alive,
    fleet_env,
    lease_pid,
    record_field,
    run_fleet,
    running_pid,
    worker_record,
)
from tests.streaming.helpers import (
    REPO_ROOT,
    ThrowawayRedis,
    free_port,
    heartbeat,
    load_simulator_instruments,
    options_near_money,
    simulator_account,
    subscribe,
    wait_for,
)
from tests.ticker_project.live_stack import LiveServer, ThrowawayPostgres, live_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
PREFIX = settings.TICKER_CHANNEL_PREFIX


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def _scrape_with_ticks(port: int, *account_ids: int) -> str | None:
    text = _scrape(port)
    wanted = [f'streaming_ticks_total{{account="{a}",kind="all"}}' for a in account_ids]
    return text if all(w in text for w in wanted) else None


def _counter(scrape: str, name: str) -> float | None:
    samples = [
        sample.value
        for family in text_string_to_metric_families(scrape)
        for sample in family.samples
        if sample.name == name and not sample.labels
    ]
    return samples[0] if samples else None


def _restarts(client: redis.Redis, account_id: int) -> int:
    record = worker_record(client, account_id)
    return record.restarts if record else 0


def _last_id(client: redis.Redis) -> bytes:
    entries: Any = client.xrevrange(f"{PREFIX}:options:stream", count=1)
    return entries[0][0] if entries else b"0-0"


def _tokens_ticked_since(client: redis.Redis, last_id: bytes) -> set[int]:
    entries: Any = client.xrange(f"{PREFIX}:options:stream", min=b"(" + last_id)
    return {m["token"] for _id, fields in entries for m in orjson.loads(fields[b"data"])}


def test_killed_and_hung_children_are_replaced_and_sigterm_leaves_nothing(
    simulator_factory, redis_client
):
    sim = simulator_factory("--accounts", "2", "--seed", "5")
    instruments = load_simulator_instruments(sim)
    first, second = (simulator_account(sim, c) for c in sim.accounts[:2])
    nifty = options_near_money(instruments, count=20)
    subscribe(first, nifty[:10])
    subscribe(second, nifty[10:])
    first_tokens = {i.instrument_token for i in nifty[:10]}
    metrics_port = free_port()
    env = fleet_env(redis_url=settings.REDIS_URL, FLEET_METRICS_PORT=str(metrics_port))
    with run_fleet(env) as fleet:
        pid_a = fleet.wait_for(lambda: running_pid(redis_client, first.pk))
        pid_b = fleet.wait_for(lambda: running_pid(redis_client, second.pk))
        assert lease_pid(redis_client, first.pk) == pid_a

        # SIGKILL: a new child and ticks from its instruments again within 5 s.
        since = _last_id(redis_client)
        os.kill(pid_a, signal.SIGKILL)
        killed_at = time.monotonic()
        fleet.wait_for(
            lambda: (
                (running_pid(redis_client, first.pk) or pid_a) != pid_a
                and first_tokens & _tokens_ticked_since(redis_client, since)
            ),
            timeout=5,
        )
        assert time.monotonic() - killed_at <= 5
        fleet.wait_for(lambda: first_tokens <= _tokens_ticked_since(redis_client, since))
        record = worker_record(redis_client, first.pk)
        assert record is not None and record.restarts == 1
        assert record.last_exit_reason == "killed by SIGKILL"

        # One scrape for the host: the fleet's metrics and every child's, the dead one's included.
        scrape = fleet.wait_for(lambda: _scrape_with_ticks(metrics_port, first.pk, second.pk))
        assert "fleet_children" in scrape  # the supervisor's own metrics beside its children's
        # The host's counter agrees with the fleet's records (a loaded machine may restart the
        # other child too, so the total, not the first child alone, is compared).
        fleet.wait_for(
            lambda: (
                _counter(_scrape(metrics_port), "fleet_child_restarts_total")
                == sum(_restarts(redis_client, a.pk) for a in (first, second))
            )
        )

        # A second worker for an account that streams refuses, naming the holder.
        new_pid_a = running_pid(redis_client, first.pk)
        hand_run = subprocess.run(
            [sys.executable, "manage.py", "run_account", str(first.pk)],
            cwd=REPO_ROOT, env=fleet_env(redis_url=settings.REDIS_URL), capture_output=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert hand_run.returncode == EXIT_LEASE_HELD
        assert f"pid {new_pid_a}" in hand_run.stderr.decode()

        # SIGSTOP: the heartbeat goes stale, the child is terminated and replaced.
        os.kill(pid_b, signal.SIGSTOP)
        fleet.wait_for(lambda: (running_pid(redis_client, second.pk) or pid_b) != pid_b, timeout=30)
        wait_for(lambda: not alive(pid_b), timeout=10)
        assert "fleet_child_hung" in fleet.logs()

        children = [running_pid(redis_client, a.pk) for a in (first, second)]
        assert all(children)
        assert fleet.stop() == 0
    assert not [pid for pid in children if pid and alive(pid)]
    assert lease_pid(redis_client, first.pk) is None and lease_pid(redis_client, second.pk) is None
    assert worker_record(redis_client, first.pk) is None
    assert heartbeat(redis_client, first.pk) is None


def test_a_403_fails_over_to_another_account_without_celery(simulator_factory, redis_client):
    sim = simulator_factory("--accounts", "2", "--seed", "6")
    instruments = load_simulator_instruments(sim)
    dying, healthy = (simulator_account(sim, c) for c in sim.accounts[:2])
    chosen = options_near_money(instruments, count=30)
    subscribe(dying, chosen[:15])
    subscribe(healthy, chosen[15:])
    moved_tokens = {i.instrument_token for i in chosen[:15]}
    with run_fleet(fleet_env(redis_url=settings.REDIS_URL)) as fleet:
        fleet.wait_for(lambda: running_pid(redis_client, dying.pk))
        fleet.wait_for(lambda: running_pid(redis_client, healthy.pk))
        since = _last_id(redis_client)
        sim.control.fault("expire_tokens", api_key=sim.accounts[0].api_key)
        sim.control.fault("drop", api_key=sim.accounts[0].api_key)
        fleet.wait_for(
            lambda: record_field(redis_client, dying.pk, "state") == "needs_login", timeout=30
        )
        # Every one of its instruments streams from the healthy account, none lost.
        fleet.wait_for(
            lambda: (
                not Subscription.objects.filter(account=dying).exists()
                and moved_tokens <= _tokens_ticked_since(redis_client, since)
            ),
            timeout=60,
        )
        assert Subscription.objects.filter(account=healthy).count() == 30
        assert Subscription.objects.filter(account__isnull=True).count() == 0
        fleet.wait_for(lambda: (heartbeat(redis_client, healthy.pk) or {}).get("tokens") == 31)
        assert heartbeat(redis_client, healthy.pk)["connections"] == 1
        record = worker_record(redis_client, dying.pk)
        assert record is not None and record.last_exit_code == 3 and record.pid is None
        assert fleet.stop() == 0
    dying.refresh_from_db()
    assert dying.status == AccountStatus.NEEDS_LOGIN
    sim.control.clear()


def test_two_fleets_share_the_accounts_and_one_takes_over_when_the_other_dies(
    simulator_factory, redis_client
):
    sim = simulator_factory("--accounts", "4", "--seed", "8")
    instruments = load_simulator_instruments(sim)
    accounts = [simulator_account(sim, c) for c in sim.accounts[:4]]
    chosen = options_near_money(instruments, count=40)
    for number, account in enumerate(accounts):
        subscribe(account, chosen[number * 10 : (number + 1) * 10])
    env = fleet_env(redis_url=settings.REDIS_URL)
    # fleet-a holds at most two accounts; fleet-b, started after it, takes what is left.
    with run_fleet(env, "--fleet-id", "fleet-a", "--max-accounts", "2") as fleet_a:
        fleet_a.wait_for(lambda: sum(bool(running_pid(redis_client, a.pk)) for a in accounts) == 2)
        with run_fleet(env, "--fleet-id", "fleet-b") as fleet_b:
            _share_and_take_over(sim, accounts, fleet_a, fleet_b, redis_client)


def _share_and_take_over(sim, accounts, fleet_a, fleet_b, redis_client) -> None:
    fleet_b.wait_for(lambda: all(running_pid(redis_client, a.pk) for a in accounts))
    owners = {a.pk: record_field(redis_client, a.pk, "fleet_id") for a in accounts}
    assert sorted(owners.values()) == ["fleet-a", "fleet-a", "fleet-b", "fleet-b"], owners
    # The simulator sees exactly one connection per api_key: no account streams twice.
    time.sleep(2)
    suffixes = [c["api_key_suffix"] for c in sim.control.state()["connections"]]
    assert sorted(suffixes) == sorted(c.api_key[-4:] for c in sim.accounts[:4])

    a_children = [running_pid(redis_client, a) for a, f in owners.items() if f == "fleet-a"]
    fleet_a.process.send_signal(signal.SIGKILL)
    fleet_a.process.wait()
    killed_at = time.monotonic()
    # Its children die with it (parent-death signal) ...
    wait_for(lambda: not any(alive(pid) for pid in a_children if pid), timeout=15)
    # ... and the other fleet streams every account within lease TTL + one reconcile.
    fleet_b.wait_for(
        lambda: all(
            record_field(redis_client, a.pk, "fleet_id") == "fleet-b"
            and running_pid(redis_client, a.pk)
            for a in accounts
        ),
        timeout=30,
    )
    assert time.monotonic() - killed_at < 3 + 2 + 20  # TTL + reconcile + child start-up
    assert fleet_b.stop() == 0


def test_a_redis_restart_is_survived_without_restarting_the_fleet(kite_simulator, redis_client):
    instruments = load_simulator_instruments(kite_simulator)
    account = simulator_account(kite_simulator, kite_simulator.accounts[2])
    subscribe(account, options_near_money(instruments, name="BANKNIFTY", count=10))
    server = ThrowawayRedis()
    server.start()
    client = redis.Redis.from_url(server.url)
    try:
        with run_fleet(fleet_env(redis_url=server.url)) as fleet:
            fleet.wait_for(lambda: running_pid(client, account.pk))
            server.kill()
            time.sleep(1)
            server.start()
            # The lease, heartbeat and records come back on the empty server; the fleet lives.
            fleet.wait_for(
                lambda: running_pid(client, account.pk) and lease_pid(client, account.pk)
            )
            since = _last_id(client)
            fleet.wait_for(lambda: _tokens_ticked_since(client, since))
            assert fleet.process.poll() is None
            assert fleet.stop() == 0
    finally:
        client.close()
        server.kill()


def test_a_postgresql_restart_is_survived_and_health_says_so_meanwhile(
    kite_simulator, redis_client
):
    instruments = load_simulator_instruments(kite_simulator)
    account = simulator_account(kite_simulator, kite_simulator.accounts[1])
    subscribe(account, options_near_money(instruments, count=10))
    database = ThrowawayPostgres()
    database.start()
    try:
        database.load_copy_of(migrated_database_url())
        env = fleet_env(redis_url=settings.REDIS_URL, DATABASE_URL=database.url())
        web = LiveServer(live_env(database_url=database.url(), redis_url=settings.REDIS_URL))
        try:
            with run_fleet(env) as fleet:
                pid = fleet.wait_for(lambda: running_pid(redis_client, account.pk))
                database.stop()
                # Streaming goes on without the database; health names the outage.
                since = _last_id(redis_client)
                fleet.wait_for(lambda: _tokens_ticked_since(redis_client, since))
                health = requests.get(f"{web.url}/api/health/", timeout=30).json()
                assert health["status"] != "ok"
                assert health["checks"]["database"]["status"] != "ok"
                time.sleep(3)  # a reconcile or two fail meanwhile (logged, counted)
                database.start()
                # The fleet lived through it, and a child restarted now gets its account.
                assert fleet.process.poll() is None
                os.kill(pid, signal.SIGKILL)
                fleet.wait_for(lambda: (running_pid(redis_client, account.pk) or pid) != pid)
                wait_for(
                    lambda: (
                        requests.get(f"{web.url}/api/health/", timeout=30).json()["checks"][
                            "database"
                        ]["status"]
                        == "ok"
                    ),
                    timeout=30,
                )
                assert fleet.stop() == 0
        finally:
            web.stop()
    finally:
        database.remove()

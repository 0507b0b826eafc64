"""One Redis pool per process, and its figures (and the database's) in the metrics.

Review finding 22: ``/api/v1/quotes/``, the health checks and ``subscriptions.wiring`` built a
client (and so a pool and a TCP connection) per request or call. They now share
``process_redis(url)``; ``/metrics`` shows each shared pool's size, created and in-use figures.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from rest_framework.test import APIClient

from infra.pool_metrics import PoolCollector, pool_label, redis_pool_figures, register_pool_metrics
from infra.redis_factory import process_redis, process_redis_clients
from subscriptions.wiring import configured_publisher, configured_redis
from tests.streaming.helpers import ThrowawayRedis

pytestmark = pytest.mark.django_db


def _gauges(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = Client().get("/metrics")
    assert response.status_code == 200
    return _gauges(response.content.decode())


def test_process_redis_is_one_client_per_url() -> None:
    a = process_redis(settings.REDIS_URL)
    assert process_redis(settings.REDIS_URL) is a
    other = process_redis("redis://127.0.0.1:6379/14")
    assert other is not a
    assert a in process_redis_clients() and other in process_redis_clients()


def test_subscriptions_wiring_shares_the_process_client() -> None:
    assert configured_redis() is process_redis(settings.REDIS_URL)
    assert configured_publisher().redis is configured_redis()


@pytest.fixture(scope="module")
def own_redis() -> Iterator[ThrowawayRedis]:
    """A redis-server of this module's own, so its connection counter is ours alone."""
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


class ConnectionsOpened:
    """How many connections ``server`` accepted since the last call (its own probe excluded)."""

    def __init__(self, server: ThrowawayRedis) -> None:
        self._probe = redis.Redis.from_url(server.url)
        self._last = self._total()

    def _total(self) -> int:
        return int(self._probe.info("stats")["total_connections_received"])

    def since_last(self) -> int:
        total = self._total()
        opened, self._last = total - self._last, total
        return opened


def test_quotes_requests_share_one_pool_and_one_connection(own_redis: ThrowawayRedis) -> None:
    user = get_user_model().objects.create_user("pool", password="x" * 12)
    api = APIClient()
    api.force_authenticate(user)
    snapshot = {"symbol": "NIFTY 50", "token": 256265, "price": 24000.5, "ts": 1.0}
    seed = redis.Redis.from_url(own_redis.url)
    seed.hset(f"{settings.TICKER_CHANNEL_PREFIX}:latest", "256265", orjson.dumps(snapshot))
    seed.close()
    opened = ConnectionsOpened(own_redis)
    with override_settings(REDIS_URL=own_redis.url):
        for _ in range(5):
            response = api.get("/api/v1/quotes/", {"tokens": "256265"})
            assert response.status_code == 200
            quote = response.json()["quotes"]["256265"]
            assert {k: quote[k] for k in snapshot} == snapshot
    # Five sequential requests: one connection, kept in this process's one pool.
    assert opened.since_last() == 1
    shared = process_redis(own_redis.url)
    assert redis_pool_figures(shared).created == 1
    assert redis_pool_figures(shared).in_use == 0


def test_health_checks_and_control_publishes_use_the_shared_pool(
    own_redis: ThrowawayRedis,
) -> None:
    opened = ConnectionsOpened(own_redis)
    process_redis(own_redis.url).ping()  # this module's earlier test may have made the pool
    opened.since_last()
    with override_settings(REDIS_URL=own_redis.url):
        for _ in range(3):
            assert Client().get("/api/health/").json()["checks"]["redis"] == {"status": "ok"}
            assert configured_publisher().publish_reload(account_ids=[1], reason="t", ts=1.0)
    assert opened.since_last() == 0


def test_metrics_show_the_pool_figures_live() -> None:
    shared = process_redis(settings.REDIS_URL)
    shared.ping()
    label = (("pool", pool_label(shared)),)
    assert label[0][1].endswith(f"/{settings.REDIS_URL.rsplit('/', 1)[1]}")
    assert "@" not in label[0][1]  # a password in the URL never reaches a label
    held = shared.connection_pool.get_connection()
    try:
        during = _scrape()
    finally:
        shared.connection_pool.release(held)
    after = _scrape()
    assert during[("ticker_redis_pool_max_connections", label)] == float(
        shared.connection_pool.max_connections
    )
    assert during[("ticker_redis_pool_in_use_connections", label)] == 1.0
    assert after[("ticker_redis_pool_in_use_connections", label)] == 0.0
    assert after[("ticker_redis_pool_created_connections", label)] >= 1.0
    assert after[("ticker_redis_pool_idle_connections", label)] >= 1.0


def test_metrics_show_the_database_connection() -> None:
    connection.ensure_connection()
    figures = _scrape()
    assert figures[("ticker_db_connection_open", (("alias", "default"),))] == 1.0
    max_age = settings.DATABASES["default"].get("CONN_MAX_AGE", 0)
    expected = -1.0 if max_age is None else float(max_age)
    assert figures[("ticker_db_conn_max_age_seconds", (("alias", "default"),))] == expected


def test_collector_reads_what_it_is_given_and_registers_once() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL, max_connections=7)
    registry = CollectorRegistry()
    registry.register(PoolCollector(clients=lambda: [client], databases=list))
    client.ping()
    label = {"pool": pool_label(client)}
    assert registry.get_sample_value("ticker_redis_pool_max_connections", label) == 7.0
    assert registry.get_sample_value("ticker_redis_pool_created_connections", label) == 1.0
    assert registry.get_sample_value("ticker_redis_pool_in_use_connections", label) == 0.0
    client.close()
    other = CollectorRegistry()
    register_pool_metrics(other)
    register_pool_metrics(other)  # a second call must not raise "Duplicated timeseries"
    assert other.get_sample_value("ticker_db_connection_open", {"alias": "default"}) is not None

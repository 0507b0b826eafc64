"""Test session set-up: PostgreSQL and Redis must answer over real connections.

A missing service fails the run at once with a message naming it; nothing is skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
import redis
from django.apps import apps
from django.conf import settings

# The Kite simulator fixtures (kite_simulator, simulator_factory) for every test package.
pytest_plugins = ["tests.simulator_fixtures"]


def pytest_sessionstart(session: pytest.Session) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            f"tests need PostgreSQL (DATABASE_URL); the configured engine is {engine}"
        )
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        raise pytest.UsageError(
            f"tests need Redis at REDIS_URL={settings.REDIS_URL}: {exc}"
        ) from exc
    finally:
        client.close()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A client on the tests' dedicated Redis database, flushed before and after each test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(autouse=True)
def _default_underlyings(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table when they end, data-migration rows included; put
    the default underlyings (NIFTY, BANKNIFTY) back so no test depends on the order it runs in."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction", False):
        return
    request.getfixturevalue("transactional_db")
    migration = importlib.import_module("subscriptions.migrations.0002_default_underlyings")
    migration.add_defaults(apps, None)

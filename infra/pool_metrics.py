"""Connection-pool figures as Prometheus gauges, read when scraped (review finding 22).

For each of this process's shared Redis clients (``infra.redis_factory.process_redis``): the
pool's maximum, how many connections it has created, how many are in use and how many idle;
for each Django database alias: whether this thread holds an open connection, and the
configured ``CONN_MAX_AGE``. Django's connections are per thread, so the database figures are
those of the thread that serves the scrape (the request thread under gunicorn's sync workers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import redis
from django.db import connections
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from infra.redis_factory import process_redis_clients


@dataclass(frozen=True, slots=True)
class PoolFigures:
    pool: str  # host:port/db or unix path/db; never the password
    max_connections: int
    created: int
    in_use: int
    idle: int


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    alias: str
    open: bool
    conn_max_age: float  # seconds; 0 = a connection per request, -1 = unlimited (None in Django)


def pool_label(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    db = kwargs.get("db", 0)
    if "path" in kwargs:
        return f"unix:{kwargs['path']}/{db}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"


def redis_pool_figures(client: redis.Redis) -> PoolFigures:
    pool = client.connection_pool
    # redis-py keeps these counters on the pool (no public accessor in 4.x-8.x).
    in_use = len(getattr(pool, "_in_use_connections", ()))
    idle = len(getattr(pool, "_available_connections", ()))
    return PoolFigures(
        pool=pool_label(client),
        max_connections=int(pool.max_connections),
        created=int(getattr(pool, "_created_connections", in_use + idle)),
        in_use=in_use,
        idle=idle,
    )


def database_figures() -> list[DatabaseFigures]:
    figures: list[DatabaseFigures] = []
    for alias in connections:
        wrapper = connections[alias]
        max_age = wrapper.settings_dict.get("CONN_MAX_AGE", 0)
        figures.append(
            DatabaseFigures(
                alias=alias,
                open=wrapper.connection is not None,
                conn_max_age=-1.0 if max_age is None else float(max_age),
            )
        )
    return figures


class PoolCollector(Collector):
    """Yields the gauges from what ``clients`` and ``databases`` return at scrape time."""

    def __init__(
        self,
        *,
        clients: Callable[[], Sequence[redis.Redis]] = process_redis_clients,
        databases: Callable[[], Iterable[DatabaseFigures]] = database_figures,
    ) -> None:
        self._clients = clients
        self._databases = databases

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            "max_connections": GaugeMetricFamily(
                "ticker_redis_pool_max_connections", "Redis pool size limit", labels=["pool"]
            ),
            "created": GaugeMetricFamily(
                "ticker_redis_pool_created_connections",
                "Connections the Redis pool has open (in use + idle)",
                labels=["pool"],
            ),
            "in_use": GaugeMetricFamily(
                "ticker_redis_pool_in_use_connections",
                "Redis pool connections checked out now",
                labels=["pool"],
            ),
            "idle": GaugeMetricFamily(
                "ticker_redis_pool_idle_connections",
                "Redis pool connections waiting to be reused",
                labels=["pool"],
            ),
        }
        for client in self._clients():
            figures = redis_pool_figures(client)
            for name, family in families.items():
                family.add_metric([figures.pool], getattr(figures, name))
        yield from families.values()
        open_family = GaugeMetricFamily(
            "ticker_db_connection_open",
            "1 when this thread holds an open database connection",
            labels=["alias"],
        )
        age_family = GaugeMetricFamily(
            "ticker_db_conn_max_age_seconds",
            "Configured CONN_MAX_AGE (-1: unlimited)",
            labels=["alias"],
        )
        for db in self._databases():
            open_family.add_metric([db.alias], 1.0 if db.open else 0.0)
            age_family.add_metric([db.alias], db.conn_max_age)
        yield open_family
        yield age_family


_registered: set[int] = set()


def register_pool_metrics(registry: CollectorRegistry = REGISTRY) -> None:
    """Register one ``PoolCollector`` on ``registry`` (idempotent per registry)."""
    if id(registry) in _registered:
        return
    registry.register(PoolCollector())
    _registered.add(id(registry))

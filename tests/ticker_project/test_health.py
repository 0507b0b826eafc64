"""/api/health/: DB and Redis checks; an unreachable Redis makes the service down with a reason."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_health_ok_with_database_and_redis() -> None:
    response = Client().get("/api/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["redis"] == {"status": "ok"}


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_health_down_with_reason_when_redis_unreachable() -> None:
    response = Client().get("/api/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["redis"]["status"] == "down"
    assert "redis unreachable" in body["checks"]["redis"]["reason"]
    assert body["checks"]["database"] == {"status": "ok"}


def test_metrics_endpoint_exports_prometheus_text() -> None:
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert b"ticker_health_check_failures_total" in response.content


@pytest.mark.django_db(transaction=True)
def test_health_down_with_reasons_when_the_database_is_unreachable() -> None:
    saved_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = Client().get("/api/health/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved_port
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert "database unreachable" in body["checks"]["database"]["reason"]
    # Checks that read the database cannot run, and say so instead of failing the endpoint.
    assert body["checks"]["assignment"]["status"] == "degraded"
    assert body["checks"]["workers"]["status"] == "down"
    assert body["checks"]["workers"]["reason"].startswith("cannot run: OperationalError")
    assert body["checks"]["redis"] == {"status": "ok"}

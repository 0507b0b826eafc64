"""``/api/v1/quotes/`` reads ``{prefix}:latest``; the workers' heartbeat health check."""

from __future__ import annotations

import orjson
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from infra.redis_factory import process_redis
from streaming.health import check_worker_heartbeats

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("quotes", password="x" * 12))
    return client


def test_quotes_are_read_from_the_latest_hash(api_client, redis_client):
    snapshot = {"symbol": "NIFTY 50", "token": 256265, "price": 24000.5, "ts": 1.0}
    redis_client.hset(f"{settings.TICKER_CHANNEL_PREFIX}:latest", "256265", orjson.dumps(snapshot))
    response = api_client.get("/api/v1/quotes/", {"tokens": "256265,8960002"})
    assert response.status_code == 200
    assert response.json() == {"quotes": {"256265": snapshot, "8960002": None}}


@pytest.mark.parametrize("tokens", ["", "abc", "1,-2", "1,,2", "0"])
def test_bad_tokens_are_a_400_with_a_message(api_client, tokens):
    response = api_client.get("/api/v1/quotes/", {"tokens": tokens})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_heartbeat_check_is_degraded_without_a_fresh_heartbeat(redis_client):
    prefix = settings.TICKER_CHANNEL_PREFIX

    def factory() -> redis.Redis:
        return process_redis(settings.REDIS_URL)

    assert check_worker_heartbeats(client_factory=factory, prefix=prefix, accounts=list) == (
        "ok", "",
    )  # fmt: skip
    status, reason = check_worker_heartbeats(
        client_factory=factory, prefix=prefix, accounts=lambda: [4, 5]
    )
    assert status == "degraded" and "[4, 5]" in reason
    redis_client.set(f"{prefix}:heartbeat:4", b"{}", ex=10)
    redis_client.set(f"{prefix}:heartbeat:5", b"{}", ex=10)
    assert (
        check_worker_heartbeats(client_factory=factory, prefix=prefix, accounts=lambda: [4, 5])[0]
        == "ok"
    )

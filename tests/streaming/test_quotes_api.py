"""``/api/v1/quotes/`` reads ``{prefix}:latest``; the workers' heartbeat health check."""

from __future__ import annotations

import time

import orjson
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

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
    quotes = response.json()["quotes"]
    assert quotes["8960002"] is None
    quote = quotes["256265"]
    assert {k: quote[k] for k in snapshot} == snapshot
    assert quote["stale"] is True and quote["age_seconds"] > 1e9  # ts 1.0 is 1970


def test_a_fresh_quote_is_not_stale_and_an_old_one_is(api_client, redis_client):
    key = f"{settings.TICKER_CHANNEL_PREFIX}:latest"
    now = time.time()
    redis_client.hset(key, "11", orjson.dumps({"token": 11, "price": 1.0, "ts": now - 1}))
    redis_client.hset(key, "12", orjson.dumps({"token": 12, "price": 1.0, "ts": now - 120}))
    quotes = api_client.get("/api/v1/quotes/", {"tokens": "11,12"}).json()["quotes"]
    assert quotes["11"]["stale"] is False and 0.5 < quotes["11"]["age_seconds"] < 5
    assert quotes["12"]["stale"] is True and quotes["12"]["age_seconds"] >= 120


def test_the_age_is_from_received_at_not_the_exchange_clock(api_client, redis_client):
    # The simulator's virtual session runs days ahead (or hours behind) of the wall clock.
    key = f"{settings.TICKER_CHANNEL_PREFIX}:latest"
    now = time.time()
    ahead = {"token": 15, "ts": now + 2 * 86400, "received_at": now - 60}
    behind = {"token": 16, "ts": now - 40_000, "received_at": now - 1}
    redis_client.hset(key, mapping={"15": orjson.dumps(ahead), "16": orjson.dumps(behind)})
    quotes = api_client.get("/api/v1/quotes/", {"tokens": "15,16"}).json()["quotes"]
    assert quotes["15"]["stale"] is True and 59 < quotes["15"]["age_seconds"] < 70
    assert quotes["16"]["stale"] is False and 0.5 < quotes["16"]["age_seconds"] < 5


def test_a_snapshot_without_a_timestamp_is_stale(api_client, redis_client):
    redis_client.hset(f"{settings.TICKER_CHANNEL_PREFIX}:latest", "14", orjson.dumps({"x": 1}))
    quote = api_client.get("/api/v1/quotes/", {"tokens": "14"}).json()["quotes"]["14"]
    assert quote == {"x": 1, "age_seconds": None, "stale": True}


def test_the_stale_threshold_is_a_setting(api_client, redis_client, settings):
    settings.QUOTES_STALE_SECONDS = 0.0
    key = f"{settings.TICKER_CHANNEL_PREFIX}:latest"
    redis_client.hset(key, "13", orjson.dumps({"token": 13, "ts": time.time() - 1}))
    assert api_client.get("/api/v1/quotes/", {"tokens": "13"}).json()["quotes"]["13"]["stale"]


@pytest.mark.parametrize("tokens", ["", "abc", "1,-2", "1,,2", "0"])
def test_bad_tokens_are_a_400_with_a_message(api_client, tokens):
    response = api_client.get("/api/v1/quotes/", {"tokens": tokens})
    assert response.status_code == 400
    assert response.json()["detail"]

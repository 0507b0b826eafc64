"""The chain's registry cache (``chain.registry``) over real PostgreSQL and Redis: what it may
serve and when it must rebuild (docs/chain.md, "Registry cache")."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from chain.registry import RegistryCache
from chain.selectors import Chain, ChainQueryError, ChainSettings, read_chain
from contract.names import registry_version_key
from greeks.expiry_time import IST
from infra.redis_factory import process_redis
from subscriptions.models import Instrument, Subscription, SubscriptionStatus
from subscriptions.services.subscriptions import (
    subscription_delete,
    subscriptions_bulk_create,
    subscriptions_set_status,
)
from tests.subscriptions.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

NEAR = datetime.now(tz=IST).date() + timedelta(days=9)
LONG_TTL = 600.0  # longer than any test: only the version or the key can end an entry


def instrument(expiry: date, strike: float, kind: str = "CE") -> Instrument:
    return InstrumentFactory.create(
        instrument_token=3_000_000 + (expiry.toordinal() % 1000) * 1000 + int(strike) // 50 * 2
        + (kind == "PE"),
        tradingsymbol=f"NIFTY{expiry:%y%m%d}{int(strike)}{kind}", strike=strike, expiry=expiry,
        instrument_type=kind,
    )  # fmt: skip


def listed(expiry: date, strike: float, kind: str = "CE") -> Instrument:
    made = instrument(expiry, strike, kind)
    Subscription.objects.create(instrument=made)
    return made


def chain_settings() -> ChainSettings:
    return ChainSettings(prefix=settings.TICKER_CHANNEL_PREFIX, stale_after_seconds=5.0, rate=0.1)


def read(cache: RegistryCache, *, now: float | None = None, expiry: date | None = None) -> Chain:
    return read_chain(
        process_redis(settings.REDIS_URL), underlying="NIFTY", expiry=expiry,
        settings=chain_settings(), now=time.time() if now is None else now, cache=cache,
    )  # fmt: skip


def strikes(chain: Chain) -> list[float]:
    return chain.data.strikes.tolist()


@pytest.fixture
def cache(redis_client: redis.Redis) -> RegistryCache:
    return RegistryCache(ttl_seconds=LONG_TTL)


def test_a_hit_queries_nothing_and_serves_the_same_chain(
    cache, django_assert_num_queries, django_assert_max_num_queries
):
    listed(NEAR, 24000.0)
    listed(NEAR, 24000.0, "PE")
    with django_assert_max_num_queries(3):
        first = read(cache)
    with django_assert_num_queries(0):
        second = read(cache)
    assert strikes(first) == strikes(second) == [24000.0]
    assert second.ce_rows[0] is not None and second.pe_rows[0] is not None


def test_a_subscription_created_through_the_service_shows_on_the_next_request(
    cache, django_capture_on_commit_callbacks
):
    listed(NEAR, 24000.0)
    assert strikes(read(cache)) == [24000.0]
    added = instrument(NEAR, 24050.0)
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_bulk_create(instrument_tokens=[added.instrument_token])
    assert strikes(read(cache)) == [24000.0, 24050.0]


def test_deactivated_and_deleted_subscriptions_leave_on_the_next_request(
    cache, django_capture_on_commit_callbacks
):
    kept, dropped, deleted = listed(NEAR, 24000.0), listed(NEAR, 24050.0), listed(NEAR, 24100.0)
    assert strikes(read(cache)) == [24000.0, 24050.0, 24100.0]
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_set_status(
            status=SubscriptionStatus.INACTIVE,
            subscription_ids=[dropped.subscription.pk],
            now=timezone.now(),
        )
    assert strikes(read(cache)) == [24000.0, 24100.0]
    with django_capture_on_commit_callbacks(execute=True):
        subscription_delete(subscription=deleted.subscription, publisher=None, now=timezone.now())
    chain = read(cache)
    assert strikes(chain) == [24000.0] and chain.ce_rows[0].token == kept.instrument_token  # type: ignore[union-attr]


def test_a_change_behind_the_services_back_shows_within_the_ttl():
    cache = RegistryCache(ttl_seconds=2.0)
    listed(NEAR, 24000.0)
    now = time.time()
    assert strikes(read(cache, now=now)) == [24000.0]
    listed(NEAR, 24050.0)  # straight into the database: no version written
    assert strikes(read(cache, now=now + 1.9)) == [24000.0]  # the documented lag
    assert strikes(read(cache, now=now + 2.0)) == [24000.0, 24050.0]


def test_a_lost_version_rebuilds(cache, redis_client):
    listed(NEAR, 24000.0)
    assert strikes(read(cache)) == [24000.0]
    listed(NEAR, 24050.0)
    redis_client.delete(registry_version_key(settings.TICKER_CHANNEL_PREFIX))  # a flush
    assert strikes(read(cache)) == [24000.0, 24050.0]
    assert redis_client.get(registry_version_key(settings.TICKER_CHANNEL_PREFIX))  # a new one


def test_the_1530_ist_rollover_is_honoured_inside_the_ttl(cache):
    today, next_week = date(2026, 12, 8), date(2026, 12, 15)
    listed(today, 24000.0)
    listed(next_week, 24100.0)
    before = datetime(2026, 12, 8, 15, 29, 59, tzinfo=IST).timestamp()
    chain = read(cache, now=before)
    assert chain.expiry == today and chain.expiries == (today, next_week)
    after = read(cache, now=before + 1.0)  # 15:30:00: today's contracts have expired
    assert after.expiry == next_week and after.expiries == (next_week,)
    with pytest.raises(ChainQueryError, match="unknown expiry"):
        read(cache, now=before + 1.0, expiry=today)


def test_errors_are_not_cached(cache, django_capture_on_commit_callbacks):
    with pytest.raises(ChainQueryError, match="no live"):
        read(cache)
    listed(NEAR, 24000.0)  # no version written: an error entry would hide this
    assert strikes(read(cache)) == [24000.0]


def test_the_api_uses_the_process_cache_and_setting_zero_turns_it_off(
    redis_client, settings, django_assert_max_num_queries
):
    settings.CHAIN_REGISTRY_CACHE_SECONDS = 123.0
    listed(NEAR, 24000.0)
    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_user("cache", password="x" * 12))
    assert api.get("/api/v1/chain/", {"underlying": "NIFTY"}).status_code == 200
    listed(NEAR, 24050.0)  # behind the services' back: the cached rows are served
    rows = api.get("/api/v1/chain/", {"underlying": "NIFTY"}).json()["rows"]
    assert [row["strike"] for row in rows] == [24000.0]
    settings.CHAIN_REGISTRY_CACHE_SECONDS = 0
    rows = api.get("/api/v1/chain/", {"underlying": "NIFTY"}).json()["rows"]
    assert [row["strike"] for row in rows] == [24000.0, 24050.0]


def test_a_version_write_that_fails_is_logged_not_raised(
    redis_client, settings, django_capture_on_commit_callbacks
):
    added = instrument(NEAR, 24000.0)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        report = subscriptions_bulk_create(instrument_tokens=[added.instrument_token])
    assert len(report.created) == 1  # committed; the cache lags up to its TTL instead
    assert redis_client.get(registry_version_key(settings.TICKER_CHANNEL_PREFIX)) is None

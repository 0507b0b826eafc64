"""The edge where the worker reads Django settings and an account (commands call these)."""

from __future__ import annotations

from django.conf import settings

from accounts.models import Account
from greeks.wiring import configured_greeks_defaults
from streaming.config import FeedConfig, MockMode, PublishConfig, WorkerConfig


def configured_publish() -> PublishConfig:
    return PublishConfig(
        redis_url=settings.REDIS_URL,
        prefix=settings.TICKER_CHANNEL_PREFIX,
        options_stream_maxlen=settings.STREAMING_OPTIONS_STREAM_MAXLEN,
        bars_stream_maxlen=settings.STREAMING_BARS_STREAM_MAXLEN,
        buffer_max_messages=settings.STREAMING_PUBLISH_BUFFER_MESSAGES,
    )


def configured_worker(
    account: Account, *, mock_mode: str | None = None, is_mock_feed: bool | None = None
) -> WorkerConfig:
    """The worker's configuration: settings, the account's limits, command-line overrides."""
    return WorkerConfig(
        account_id=account.pk,
        publish=configured_publish(),
        feed=FeedConfig(
            max_connections=account.max_connections,
            tokens_per_connection=account.instruments_per_connection,
            watchdog_seconds=settings.STREAMING_WATCHDOG_SECONDS,
            reconnect_initial_seconds=settings.STREAMING_RECONNECT_INITIAL_SECONDS,
            reconnect_max_seconds=settings.STREAMING_RECONNECT_MAX_SECONDS,
            rate_limited_seconds=settings.STREAMING_RATE_LIMITED_SECONDS,
        ),
        greeks=configured_greeks_defaults(),
        is_mock_feed=settings.STREAMING_FEED_IS_MOCK if is_mock_feed is None else is_mock_feed,
        mock_mode=MockMode(mock_mode or settings.STREAMING_MOCK_MODE),
        mock_tick_seconds=settings.STREAMING_MOCK_TICK_SECONDS,
        mock_seed=settings.STREAMING_MOCK_SEED,
        heartbeat_seconds=settings.STREAMING_HEARTBEAT_SECONDS,
        reconcile_seconds=settings.STREAMING_RECONCILE_SECONDS,
        drain_seconds=settings.STREAMING_DRAIN_SECONDS,
    )

"""The edge where the subscriptions app reads Django settings and builds its collaborators.

Views, admin, commands and tasks call these; services and pure cores receive the objects.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from django.utils import timezone
from kiteconnect import KiteConnect

from accounts.selectors import accounts_streamable
from accounts.wiring import configured_kite_factory
from infra.redis_factory import process_redis
from subscriptions.control_channel import ControlPublisher
from subscriptions.kite_dump import DumpSource, dump_sources
from subscriptions.locks import single_flight
from subscriptions.market_calendar import MarketCalendar, nse_calendar
from subscriptions.services.assignment import AssignmentReport, subscriptions_assign
from subscriptions.services.availability import accounts_unavailable_for_streaming
from subscriptions.underlying_price import UnderlyingPriceSource


def configured_redis() -> redis.Redis:
    """This process's shared client (one pool per process, never one per call)."""
    return process_redis(settings.REDIS_URL)


def configured_prefix() -> str:
    prefix: str = settings.TICKER_CHANNEL_PREFIX
    return prefix


def configured_publisher() -> ControlPublisher:
    return ControlPublisher(redis=configured_redis(), prefix=configured_prefix())


def configured_calendar() -> MarketCalendar:
    calendar = nse_calendar()
    if str(calendar.tz) != settings.MARKET_TIME_ZONE:
        return MarketCalendar(holidays=calendar.holidays, tz=ZoneInfo(settings.MARKET_TIME_ZONE))
    return calendar


def configured_http_timeout() -> float:
    timeout: float = settings.KITE_HTTP_TIMEOUT_SECONDS
    return timeout


def configured_dump_sources() -> list[DumpSource]:
    return dump_sources(
        configured_kite_factory(), timeout_seconds=configured_http_timeout(), now=timezone.now()
    )


def _first_active_kite_client() -> KiteConnect | None:
    account = accounts_streamable(now=timezone.now()).order_by("name").first()
    return configured_kite_factory().for_account(account) if account is not None else None


def configured_price_source() -> UnderlyingPriceSource:
    return UnderlyingPriceSource(
        redis=configured_redis(), prefix=configured_prefix(), kite_client=_first_active_kite_client
    )


def configured_single_flight(job: str, ttl_seconds: int) -> AbstractContextManager[bool]:
    """The single-flight lock for ``job`` on the configured Redis (True when acquired)."""
    return single_flight(
        configured_redis(), prefix=configured_prefix(), job=job, ttl_seconds=ttl_seconds
    )


def configured_unavailable_accounts(now: datetime) -> frozenset[int]:
    """Streamable accounts whose workers have not streamed for STREAMING_UNAVAILABLE_SECONDS."""
    ids = list(accounts_streamable(now=now).values_list("pk", flat=True))
    return accounts_unavailable_for_streaming(
        client=configured_redis(), prefix=configured_prefix(), account_ids=ids,
        now=now.timestamp(), grace_seconds=settings.STREAMING_UNAVAILABLE_SECONDS,
        heartbeat_ttl_seconds=3 * settings.STREAMING_HEARTBEAT_SECONDS,
    )  # fmt: skip


def configured_assignment(*, now: datetime, reason: str) -> AssignmentReport:
    """The assignment as every caller runs it: accounts that do not stream are left out."""
    return subscriptions_assign(
        now=now, publisher=configured_publisher(), reason=reason,
        unavailable_account_ids=configured_unavailable_accounts(now),
    )  # fmt: skip

"""The edge where the historical job reads Django settings and builds its collaborators.

The task, the command and the admin action call `configured_enrich`; the service below
receives every object (pool, limiter, progress, store, time zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings

from accounts.crypto import CredentialDecryptError
from accounts.models import Account
from accounts.selectors import accounts_streamable
from accounts.wiring import configured_kite_factory
from greeks.history.enrich import (
    CandleStore,
    EnrichSummary,
    ProgressCallback,
    historical_greeks_enrich,
)
from greeks.history.fetch import FetchAccount, HistoricalFetchPool
from greeks.history.progress import HistoryProgress
from greeks.history.rate_limit import HistoricalRateLimiter, rate_limit_key
from greeks.history.store import DatabaseCandleStore
from greeks.wiring import configured_greeks_defaults
from infra.redis_factory import process_redis
from subscriptions.models import Instrument

log = structlog.get_logger(__name__)


def configured_tz() -> ZoneInfo:
    return ZoneInfo(settings.MARKET_TIME_ZONE)


def configured_fetch_accounts(*, now: datetime) -> tuple[list[Account], list[FetchAccount]]:
    """Every healthy account with its client and its api_key's window key."""
    factory = configured_kite_factory()
    prefix: str = settings.TICKER_CHANNEL_PREFIX
    accounts: list[Account] = []
    fetchers: list[FetchAccount] = []
    for account in accounts_streamable(now=now).order_by("name"):
        try:
            api_key = factory.api_key(account)
            client = factory.for_account(account)
        except CredentialDecryptError:
            log.warning("history_account_undecryptable", account_id=account.pk)
            continue
        accounts.append(account)
        fetchers.append(
            FetchAccount(
                account_id=account.pk,
                name=account.name,
                client=client,
                limiter_key=rate_limit_key(prefix, api_key),
            )
        )
    return accounts, fetchers


def configured_limiter() -> HistoricalRateLimiter:
    return HistoricalRateLimiter(
        process_redis(settings.REDIS_URL),
        window_seconds=settings.GREEKS_HISTORY_RATE_WINDOW_SECONDS,
    )


def configured_progress() -> HistoryProgress:
    return HistoryProgress(
        client=process_redis(settings.REDIS_URL), prefix=settings.TICKER_CHANNEL_PREFIX
    )


def configured_store() -> CandleStore:
    return DatabaseCandleStore(defaults=configured_greeks_defaults())


def configured_enrich(
    *,
    instruments: Sequence[Instrument],
    interval: str,
    start: date,
    end: date,
    now: datetime,
    resume: bool = True,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
) -> EnrichSummary:
    """`historical_greeks_enrich` with the configured accounts, limiter, progress and store."""
    accounts, fetchers = configured_fetch_accounts(now=now)
    return historical_greeks_enrich(
        instruments=instruments,
        interval=interval,
        start=start,
        end=end,
        now=now,
        pool=HistoricalFetchPool(accounts=fetchers, limiter=configured_limiter()),
        accounts=accounts,
        store=configured_store(),
        progress=configured_progress(),
        tz=configured_tz(),
        resume=resume,
        dry_run=dry_run,
        on_progress=on_progress,
    )

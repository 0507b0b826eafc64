"""Celery tasks of the historical Greeks: thin shells (ids and ISO dates in) over one service.

Both run on the ``backfill`` queue (``CELERY_TASK_ROUTES``: ``greeks.tasks.*``), are idempotent
(upserts; progress per instrument and day in Redis) hence ``acks_late``, and retry transient
errors with the one policy in ``infra.retry``; an interrupted or retried run continues where the
last one stopped. The nightly run is single-flight (a Redis lock as long as its hard limit).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import structlog
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from greeks.history.selectors import instruments_subscribed_on
from greeks.history.wiring import configured_enrich, configured_tz
from infra.retry import TRANSIENT_RETRY
from subscriptions.models import Instrument
from subscriptions.wiring import configured_calendar, configured_single_flight

log = structlog.get_logger(__name__)

ENRICH_SOFT_LIMIT: Final = 3000
ENRICH_HARD_LIMIT: Final = 3300  # under the broker's visibility_timeout (3600 s)
NIGHTLY_TASK: Final = "greeks.tasks.enrich_subscribed_day"
BACKFILL_TASK: Final = "greeks.tasks.backfill_instruments"


@shared_task(
    name=NIGHTLY_TASK,
    acks_late=True,
    soft_time_limit=ENRICH_SOFT_LIMIT,
    time_limit=ENRICH_HARD_LIMIT,
    **TRANSIENT_RETRY,
)
def enrich_subscribed_day(day: str | None = None, interval: str | None = None) -> dict[str, Any]:
    """Fetch, price and store the candles of every option subscribed on ``day`` (default today)."""
    now = timezone.now()
    tz = configured_tz()
    target = date.fromisoformat(day) if day else now.astimezone(tz).date()
    if not configured_calendar().is_trading_day(target):
        log.info("history_nightly_not_a_trading_day", day=target.isoformat())
        return {"skipped": "not_a_trading_day", "day": target.isoformat()}
    with configured_single_flight("historical_greeks_nightly", ENRICH_HARD_LIMIT) as acquired:
        if not acquired:
            return {"skipped": "already_running", "day": target.isoformat()}
        instruments = list(instruments_subscribed_on(day=target, tz=tz))
        summary = configured_enrich(
            instruments=instruments,
            interval=interval or settings.GREEKS_HISTORY_INTERVAL,
            start=target,
            end=target,
            now=now,
        )
    return {"day": target.isoformat(), **summary.as_dict()}


@shared_task(
    name=BACKFILL_TASK,
    acks_late=True,
    soft_time_limit=ENRICH_SOFT_LIMIT,
    time_limit=ENRICH_HARD_LIMIT,
    **TRANSIENT_RETRY,
)
def backfill_instruments(
    instrument_ids: list[int], start: str, end: str, interval: str = "minute"
) -> dict[str, Any]:
    """The backfill of chosen instruments (the admin action), ISO dates inclusive."""
    instruments = list(Instrument.objects.filter(pk__in=instrument_ids).order_by("pk"))
    summary = configured_enrich(
        instruments=instruments,
        interval=interval,
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        now=timezone.now(),
    )
    return summary.as_dict()

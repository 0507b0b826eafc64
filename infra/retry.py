"""The one retry policy of the control plane: which errors are transient, and how to back off.

Every Celery task that talks to Kite, PostgreSQL or Redis spreads ``**TRANSIENT_RETRY`` into its
decorator; nothing else is retried (a bad row, a rejected token or a bug fails loudly at once).
Code that must retry one call inside a task (the historical fetcher: a 429 on one request must
not restart a whole backfill) uses ``transient_retrying()``: tenacity with the same errors, the
same exponential backoff with full jitter, cap and number of retries.
"""

from __future__ import annotations

from typing import Any, Final

import redis
import requests
import tenacity
from django.db import OperationalError
from kiteconnect import exceptions as kite_exceptions

# NetworkException carries Kite's 429 (rate limit) and 503; DataException its 502 (OMS down).
TRANSIENT_ERRORS: Final[tuple[type[BaseException], ...]] = (
    kite_exceptions.NetworkException,
    kite_exceptions.DataException,
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    requests.ConnectionError,
    requests.Timeout,
)

RETRY_BACKOFF_SECONDS: Final = 5
RETRY_BACKOFF_MAX_SECONDS: Final = 300
MAX_RETRIES: Final = 5

# Exponential backoff from 5 s, capped at 5 min, full jitter, at most 5 retries.
TRANSIENT_RETRY: Final[dict[str, Any]] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": RETRY_BACKOFF_SECONDS,
    "retry_backoff_max": RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": MAX_RETRIES,
}


def transient_retrying(
    *, before_sleep: Any = None, sleep: Any = tenacity.nap.sleep
) -> tenacity.Retrying:
    """The same policy in process: retry ``TRANSIENT_ERRORS`` only, then re-raise the last one.

    Celery's ``retry_jitter`` draws the countdown uniformly from [0, backoff * 2**n] capped at
    the maximum; tenacity's ``wait_random_exponential`` is that same full-jitter rule.
    """
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TRANSIENT_ERRORS),
        wait=tenacity.wait_random_exponential(
            multiplier=RETRY_BACKOFF_SECONDS, max=RETRY_BACKOFF_MAX_SECONDS
        ),
        stop=tenacity.stop_after_attempt(MAX_RETRIES + 1),
        reraise=True,
        before_sleep=before_sleep,
        sleep=sleep,
    )

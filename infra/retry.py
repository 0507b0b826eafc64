"""The one retry policy of the control plane: which errors are transient, and how to back off.

Every Celery task that talks to Kite, PostgreSQL or Redis spreads ``**TRANSIENT_RETRY`` into its
decorator; nothing else is retried (a bad row, a rejected token or a bug fails loudly at once).
"""

from __future__ import annotations

from typing import Any, Final

import redis
import requests
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

# Exponential backoff from 5 s, capped at 5 min, full jitter, at most 5 retries.
TRANSIENT_RETRY: Final[dict[str, Any]] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}

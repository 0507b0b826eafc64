"""DRF throttles per anonymous client (address) and per user; rates from settings.

``settings.API_THROTTLE_RATES`` (``API_THROTTLE_ANON`` / ``API_THROTTLE_USER``) is read on each
request, not frozen at import as DRF's ``THROTTLE_RATES`` is. Counters live in the Django
cache (Redis), shared by every web process. A throttled request gets 429 with Retry-After.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def _configured_rate(scope: str | None) -> str | None:
    rates: dict[str, str] = settings.API_THROTTLE_RATES
    return rates.get(scope or "")


class AnonThrottle(AnonRateThrottle):
    def get_rate(self) -> str | None:
        return _configured_rate(self.scope)


class UserThrottle(UserRateThrottle):
    def get_rate(self) -> str | None:
        return _configured_rate(self.scope)

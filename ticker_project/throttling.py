"""DRF throttles per anonymous client (address) and per user; rates from settings.

``settings.API_THROTTLE_RATES`` (``API_THROTTLE_ANON`` / ``API_THROTTLE_USER``) is read on each
request, not frozen at import as DRF's ``THROTTLE_RATES`` is. A throttled request gets 429 with
Retry-After (the seconds left in the window).

Counting is a fixed window in Redis, shared by every web process: one counter per client and
window (``INCR`` and ``EXPIRE`` in one round trip, on this process's pool), so a request costs
the same at any rate. DRF's own throttles keep a sliding log, the timestamps of the client's
last window of requests, which every request reads, unpickles, trims, pickles and writes back
through the cache: at 1,200/minute that is up to 1,200 floats per request, and it was a
millisecond of the chain endpoint's time in benchmarks/chain_bench.py (docs/chain.md). The
price of the fixed window: a client may make up to twice its rate across a window boundary.
Which client a request counts for (its user, or its address) is DRF's choice, unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from infra.redis_factory import process_redis

if TYPE_CHECKING:  # rest_framework.views reads the settings that name this module
    from rest_framework.views import APIView


def _configured_rate(scope: str | None) -> str | None:
    rates: dict[str, str] = settings.API_THROTTLE_RATES
    return rates.get(scope or "")


class _FixedWindow(SimpleRateThrottle):
    """``allow_request`` on a per-window counter; identity and rate parsing are DRF's."""

    retry_after = 0.0

    def get_rate(self) -> str | None:
        return _configured_rate(self.scope)

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit, duration = self.parse_rate(self.rate)
        if limit is None or duration is None:  # no rate for this scope: not throttled
            return True
        key = self.get_cache_key(request, view)
        if key is None:  # not this throttle's kind of client (e.g. anon for a user)
            return True
        now = self.timer()
        window_start = int(now // duration) * duration
        counter = self.cache.make_key(f"{key}:{window_start}")
        pipe = process_redis(settings.REDIS_URL).pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, duration + 1)  # outlives its window, then goes
        count = int(pipe.execute()[0])
        self.retry_after = window_start + duration - now
        return count <= limit

    def wait(self) -> float:
        return max(self.retry_after, 1.0)


class AnonThrottle(_FixedWindow, AnonRateThrottle):
    pass


class UserThrottle(_FixedWindow, UserRateThrottle):
    pass

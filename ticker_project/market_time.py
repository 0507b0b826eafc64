"""Times read by people are shown in the market's zone (Asia/Kolkata); storage stays UTC.

``MarketTimeZoneMiddleware`` activates ``settings.MARKET_TIME_ZONE`` for every page (admin,
Kite login banner): Django renders aware datetimes in the active zone. The API keeps answering
ISO-8601 in UTC (machines read it), so /api/ is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def market_zone_label() -> str:
    """How pages name the zone their times are in, e.g. ``Asia/Kolkata (IST)``."""
    zone = ZoneInfo(settings.MARKET_TIME_ZONE)
    return f"{settings.MARKET_TIME_ZONE} ({timezone.now().astimezone(zone).tzname()})"


class MarketTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return self.get_response(request)
        with timezone.override(ZoneInfo(settings.MARKET_TIME_ZONE)):
            return self.get_response(request)

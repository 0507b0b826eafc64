"""Admin: stored candles, read-only (they are written only by the bulk upsert).

Filters by underlying, expiry, interval and trading day. The filters' choices never scan the
candle tables: underlyings come from ``subscriptions.Underlying``, expiries from the instrument
registry, trading days from the NSE calendar. Times show in the market zone (IST) like every
admin page (``ticker_project.market_time``); ``ts`` is the candle's start.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Final

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from greeks.expiry_time import IST
from greeks.models import OptionCandle, UnderlyingCandle
from subscriptions.market_calendar import nse_calendar
from subscriptions.models import Instrument, Underlying

RECENT_TRADING_DAYS: Final = 15


class TradingDayFilter(admin.SimpleListFilter):
    """One IST day (00:00-24:00 IST). Offers the recent trading days; any ISO date works in the
    URL (``?day=2025-12-01``)."""

    title = "trading day (IST)"
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        calendar = nse_calendar()
        day = timezone.now().astimezone(IST).date() + timedelta(days=1)
        days: list[tuple[str, str]] = []
        while len(days) < RECENT_TRADING_DAYS:
            day -= timedelta(days=1)
            if calendar.is_trading_day(day):
                days.append((day.isoformat(), day.strftime("%a %d %b %Y")))
        return days

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return queryset.none()
        start = datetime.combine(day, time.min, IST)
        return queryset.filter(ts__gte=start, ts__lt=start + timedelta(days=1))


class UnderlyingFilter(admin.SimpleListFilter):
    title = "underlying"
    parameter_name = "underlying"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in Underlying.objects.values_list("name", flat=True)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(underlying=value) if value else queryset


class ExpiryFilter(admin.SimpleListFilter):
    """Option expiries from the registry (of the chosen underlying, when one is chosen)."""

    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        options = Instrument.objects.filter(instrument_type__in=("CE", "PE"), expiry__isnull=False)
        underlying = request.GET.get(UnderlyingFilter.parameter_name)
        if underlying:
            options = options.filter(name=underlying)
        expiries = options.order_by("-expiry").values_list("expiry", flat=True).distinct()[:24]
        return [(day.isoformat(), day.isoformat()) for day in expiries if day is not None]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(expiry=date.fromisoformat(value))
        except ValueError:
            return queryset.none()


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # a year of minute candles is ~93k rows per contract

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(OptionCandle)
class OptionCandleAdmin(ReadOnlyAdmin):
    list_display = (
        "instrument", "interval", "ts", "close", "underlying_close", "iv", "delta", "gamma",
        "theta", "vega", "iv_error", "oi", "volume",
    )  # fmt: skip
    list_filter = (UnderlyingFilter, ExpiryFilter, "interval", TradingDayFilter, "iv_error")
    list_select_related = ("instrument",)
    search_fields = ("instrument__tradingsymbol__startswith", "=instrument__instrument_token")
    ordering = ("-ts",)


@admin.register(UnderlyingCandle)
class UnderlyingCandleAdmin(ReadOnlyAdmin):
    list_display = ("instrument", "interval", "ts", "open", "high", "low", "close", "volume")
    list_filter = ("interval", TradingDayFilter)
    list_select_related = ("instrument",)
    search_fields = ("instrument__tradingsymbol__startswith", "=instrument__instrument_token")
    ordering = ("-ts",)

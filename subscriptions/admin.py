"""Admin: instruments (read-only search; backfill historical Greeks), subscriptions (filters;
activate, deactivate, reassign; unassigned ones at a glance), underlyings (editable; rebalance
now). Actions call services (the backfill: greeks' Celery task, looked up by name)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import requests
from celery import current_app
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from kiteconnect import exceptions as kite_exceptions

from subscriptions.models import Instrument, Subscription, SubscriptionStatus, Underlying
from subscriptions.selectors import subscriptions_unassigned_active
from subscriptions.services.rebalance import underlyings_rebalance
from subscriptions.services.subscriptions import subscriptions_release, subscriptions_set_status
from subscriptions.wiring import (
    configured_assignment,
    configured_calendar,
    configured_price_source,
)

# The historical backfill lives in `greeks` (which imports this app): looked up by name.
BACKFILL_TASK_NAME: Final = "greeks.tasks.backfill_instruments"
BACKFILL_DAYS: Final = 30


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = (
        "tradingsymbol",
        "exchange",
        "segment",
        "instrument_type",
        "name",
        "expiry",
        "strike",
        "lot_size",
        "instrument_token",
        "is_expired",
    )
    list_filter = ("exchange", "segment", "instrument_type", "is_expired", "expiry")
    search_fields = ("tradingsymbol__startswith", "name", "=instrument_token")
    show_full_result_count = False  # the registry holds ~100k rows
    actions = ("backfill_greeks",)

    @admin.action(
        description=f"Backfill historical Greeks (minute candles, last {BACKFILL_DAYS} days)"
    )
    def backfill_greeks(self, request: HttpRequest, queryset: QuerySet[Instrument]) -> None:
        """Enqueue the historical backfill (greeks' Celery task, by name) after the commit."""
        ids = list(queryset.filter(instrument_type__in=("CE", "PE")).values_list("pk", flat=True))
        if not ids:
            self.message_user(request, "No options selected.", level=messages.WARNING)
            return
        today = timezone.localdate()
        start = (today - timedelta(days=BACKFILL_DAYS - 1)).isoformat()
        task = current_app.tasks[BACKFILL_TASK_NAME]
        transaction.on_commit(
            lambda: task.delay(
                instrument_ids=ids, start=start, end=today.isoformat(), interval="minute"
            )
        )
        self.message_user(
            request,
            f"Backfill of {len(ids)} option(s) from {start} to {today} queued on 'backfill'; "
            "Task results shows its summary.",
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AssignedFilter(admin.SimpleListFilter):
    title = "assignment"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Assigned"), ("no", "Unassigned (active, no account streams it)")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Subscription]
    ) -> QuerySet[Subscription]:
        if self.value() == "yes":
            return queryset.filter(account__isnull=False)
        if self.value() == "no":
            # The same set the changelist's warning counts: an inactive subscription is not
            # streamed by design, so it is never "unassigned".
            return queryset.filter(status=SubscriptionStatus.ACTIVE, account__isnull=True)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("instrument", "mode", "status", "source", "account", "updated_at")
    list_filter = ("status", "source", "mode", AssignedFilter, "account", "instrument__name")
    search_fields = ("instrument__tradingsymbol__startswith", "=instrument__instrument_token")
    list_select_related = ("instrument", "account")
    raw_id_fields = ("instrument",)
    readonly_fields = ("account", "created_at", "updated_at")
    actions = ("activate", "deactivate", "reassign")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        unassigned = subscriptions_unassigned_active().count()
        if unassigned:
            messages.warning(
                request,
                f"{unassigned} active subscription(s) are unassigned: not enough healthy "
                "account capacity (filter 'assignment: Unassigned' to see them).",
            )
        return super().changelist_view(request, extra_context)

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Subscription], status: str
    ) -> None:
        report = subscriptions_set_status(
            status=status,
            subscription_ids=list(queryset.values_list("pk", flat=True)),
            now=timezone.now(),
        )
        self.message_user(request, f"{report.changed} subscription(s) set {status}.")

    @admin.action(description="Activate selected subscriptions")
    def activate(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        self._set_status(request, queryset, SubscriptionStatus.ACTIVE)

    @admin.action(description="Deactivate selected subscriptions")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        self._set_status(request, queryset, SubscriptionStatus.INACTIVE)

    @admin.action(description="Reassign selected subscriptions (place them afresh now)")
    def reassign(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        now = timezone.now()
        released = subscriptions_release(
            subscription_ids=list(queryset.values_list("pk", flat=True)), now=now
        )
        report = configured_assignment(now=now, reason="reassigned_by_operator")
        level = messages.WARNING if report.unassigned else messages.SUCCESS
        self.message_user(
            request,
            f"Released {released}; assignment moved {report.moved}, "
            f"{report.unassigned} unassigned (capacity short).",
            level,
        )


@admin.register(Underlying)
class UnderlyingAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "index_tradingsymbol",
        "index_token",
        "strike_step",
        "levels",
        "expiries",
        "move_threshold_steps",
        "min_interval_seconds",
        "enabled",
        "last_atm_strike",
        "last_rebalanced_at",
    )
    list_editable = ("levels", "expiries", "enabled")
    readonly_fields = ("last_atm_strike", "last_rebalanced_at")
    actions = ("rebalance_now",)

    @admin.action(description="Rebalance selected underlyings now (even outside market hours)")
    def rebalance_now(self, request: HttpRequest, queryset: QuerySet[Underlying]) -> None:
        try:
            report = underlyings_rebalance(
                now=timezone.now(),
                prices=configured_price_source(),
                calendar=configured_calendar(),
                force=True,
                only_when_market_open=False,
                names=list(queryset.values_list("name", flat=True)),
            )
        except (kite_exceptions.KiteException, requests.RequestException) as exc:
            self.message_user(
                request, f"Kite quote failed ({type(exc).__name__}: {exc})", messages.ERROR
            )
            return
        for outcome in report.underlyings:
            self.message_user(
                request,
                f"{outcome.name}: ATM {outcome.atm_strike}, +{len(outcome.to_create)} "
                f"new, +{len(outcome.to_activate)} reactivated, -{len(outcome.to_deactivate)} "
                f"({outcome.reason})",
            )

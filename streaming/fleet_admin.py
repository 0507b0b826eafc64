"""The fleet in the account admin: worker columns, restart/drain actions and the fleet page.

The changelist reads the fleet once per page (``fleet_overview``: one query, one Redis
``MGET``) and the columns look rows up in that read; the actions call
``streaming.fleet.services.fleet_worker_command``, the service ``/api/v1/fleet/`` uses too.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from redis.exceptions import RedisError

from accounts.models import Account
from contract.fleet import FleetAction, FleetRecord
from infra.redis_factory import process_redis
from streaming.fleet.selectors import fleet_hosts, fleet_overview
from streaming.fleet.services import fleet_worker_command
from streaming.fleet.status import FleetAccountStatus

# Badge colours per worker state: green streams, amber is trouble that heals, red needs a human.
STATE_COLOURS: dict[str, str] = {
    "running": "#2e7d32",
    "starting": "#1565c0",
    "draining": "#1565c0",
    "backoff": "#ef6c00",
    "hung": "#ef6c00",
    "needs_login": "#c62828",
    "error": "#c62828",
    "stopped": "#757575",
    "drained": "#455a64",
    "unsupervised": "#6a1b9a",
    "unknown": "#757575",
}

# The fleet as read for the page being rendered (per request: admin instances are shared).
_PAGE_FLEET: ContextVar[dict[int, FleetAccountStatus] | None] = ContextVar(
    "page_fleet", default=None
)


def read_fleet(request: HttpRequest) -> dict[int, FleetAccountStatus] | None:
    """Every account's fleet status by id, or None (with a message) when Redis is out."""
    try:
        overview = fleet_overview(
            redis=process_redis(settings.REDIS_URL),
            prefix=settings.TICKER_CHANNEL_PREFIX,
            now=time.time(),
        )
    except RedisError as exc:
        messages.warning(request, f"Fleet state unavailable: {type(exc).__name__}")
        return None
    return {row.account_id: row for row in overview}


def state_badge(state: str) -> SafeString:
    colour = STATE_COLOURS.get(state, STATE_COLOURS["unknown"])
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 6px;border-radius:8px">{}</span>',
        colour,
        state,
    )


def host_sections(
    records: list[FleetRecord], overview: list[FleetAccountStatus], *, now: float
) -> list[dict[str, Any]]:
    """One section per fleet host: its record, the record's age and its accounts' rows."""
    by_id = {row.account_id: row for row in overview}
    return [
        {
            "record": record,
            "age": round(max(0.0, now - record.updated_at), 1),
            "accounts": [
                {
                    "id": account_id,
                    "row": by_id.get(account_id),
                    "badge": state_badge(
                        by_id[account_id].state if account_id in by_id else "unknown"
                    ),
                }
                for account_id in record.accounts
            ],
        }
        for record in records
    ]


class FleetAdminMixin(admin.ModelAdmin):
    """Fleet columns, actions and page for ``AccountAdmin``."""

    fleet_columns = ("worker_state", "worker_host", "worker_ticks_per_second", "last_tick_age")
    fleet_actions = ("restart_workers", "drain_workers")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        token = _PAGE_FLEET.set(read_fleet(request))
        try:
            response = super().changelist_view(request, extra_context)
            if isinstance(response, TemplateResponse):
                response.render()  # while the page's fleet read is set
            return response
        finally:
            _PAGE_FLEET.reset(token)

    def _fleet_row(self, account: Account) -> FleetAccountStatus | None:
        fleet = _PAGE_FLEET.get()
        return fleet.get(account.pk) if fleet is not None else None

    @admin.display(description="Worker")
    def worker_state(self, account: Account) -> SafeString:
        row = self._fleet_row(account)
        return state_badge(row.state if row else "unknown")

    @admin.display(description="Host")
    def worker_host(self, account: Account) -> str:
        row = self._fleet_row(account)
        return (row.host or "—") if row else "—"

    @admin.display(description="Ticks/s")
    def worker_ticks_per_second(self, account: Account) -> str:
        row = self._fleet_row(account)
        return (
            f"{row.ticks_per_second:.1f}" if row and row.heartbeat_age_seconds is not None else "—"
        )

    @admin.display(description="Last tick")
    def last_tick_age(self, account: Account) -> str:
        row = self._fleet_row(account)
        if row is None or row.last_tick_age_seconds is None:
            return "—"
        return f"{row.last_tick_age_seconds:.1f} s ago"

    # --- actions: one service call per account, shared with the API ----------------------------
    def _command(
        self, request: HttpRequest, queryset: QuerySet[Account], verb: FleetAction
    ) -> None:
        client = process_redis(settings.REDIS_URL)
        for account in queryset:
            try:
                receivers = fleet_worker_command(
                    redis=client,
                    prefix=settings.TICKER_CHANNEL_PREFIX,
                    account_id=account.pk,
                    action=verb,
                    reason=f"{verb} by {request.user.get_username()} (admin)",
                )
            except RedisError as exc:
                self.message_user(
                    request, f"{account.name}: not sent ({type(exc).__name__})", messages.ERROR
                )
                continue
            if receivers:
                self.message_user(request, f"{account.name}: {verb} sent to the fleet.")
            else:
                self.message_user(
                    request,
                    f"{account.name}: no fleet is listening; nothing done.",
                    messages.WARNING,
                )

    @admin.action(description="Restart worker")
    def restart_workers(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        self._command(request, queryset, "restart")

    @admin.action(description="Drain worker")
    def drain_workers(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        self._command(request, queryset, "drain")

    # --- the fleet page ------------------------------------------------------------------------
    def fleet_urls(self) -> list[URLPattern]:
        return [
            path("fleet/", self.admin_site.admin_view(self.fleet_view), name="accounts_fleet"),
        ]

    def fleet_view(self, request: HttpRequest) -> HttpResponse:
        """Every live fleet host with its accounts and their workers' states."""
        client = process_redis(settings.REDIS_URL)
        error = ""
        hosts: list[dict[str, Any]] = []
        unheld: list[FleetAccountStatus] = []
        try:
            records = fleet_hosts(redis=client, prefix=settings.TICKER_CHANNEL_PREFIX)
            overview = fleet_overview(
                redis=client, prefix=settings.TICKER_CHANNEL_PREFIX, now=time.time()
            )
        except RedisError as exc:
            error = f"Fleet state unavailable: {type(exc).__name__}"
        else:
            hosts = host_sections(records, overview, now=time.time())
            held = {a for record in records for a in record.accounts}
            unheld = [r for r in overview if r.streamable and r.account_id not in held]
        context = {
            **self.admin_site.each_context(request),
            "title": "Fleet hosts",
            "hosts": hosts,
            "unheld": [{"row": r, "badge": state_badge(r.state)} for r in unheld],
            "error": error,
            "opts": self.model._meta,
            "changelist_url": reverse("admin:accounts_account_changelist"),
        }
        return TemplateResponse(request, "admin/accounts/fleet.html", context)

"""Admin for accounts: status at a glance, secrets write-only and masked, and the day's actions
(enable, disable, check session, log in with Kite); the fleet's worker columns, restart/drain
actions and fleet page are added by ``streaming.admin`` (the fleet lives in ``streaming``, which
imports ``accounts``, never the other way round)."""

from __future__ import annotations

from typing import Any

import requests
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from kiteconnect import exceptions as kite_exceptions

from accounts.crypto import CredentialDecryptError
from accounts.models import Account
from accounts.selectors import account_api_key_hint
from accounts.services.account import (
    EDITABLE_FIELDS,
    SecretsUpdate,
    account_create,
    account_delete,
    account_disable,
    account_enable,
    account_update,
)
from accounts.services.login import KiteResponseError, account_check_session, account_login_url
from accounts.wiring import configured_cipher, configured_kite_factory

_SECRET_HELP = "Write-only: the stored value is never shown. Leave blank to keep it."  # noqa: S105


def _secret_input(label: str, *, help_text: str = _SECRET_HELP) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


class AccountAdminForm(forms.ModelForm):
    api_key = _secret_input("API key", help_text="Required for a new account. " + _SECRET_HELP)
    api_secret = _secret_input("API secret")
    access_token = _secret_input("Access token")
    # Django 6's default scheme for bare host names, chosen now.
    api_root_override = forms.URLField(required=False, assume_scheme="https")
    login_url_override = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Account
        fields = list(EDITABLE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and not cleaned.get("api_key"):
            self.add_error("api_key", "A new account needs its API key.")
        return cleaned

    def secrets_update(self) -> SecretsUpdate:
        """Only the secret inputs that were filled in; blanks keep what is stored."""
        return SecretsUpdate(
            api_key=self.cleaned_data.get("api_key") or None,
            api_secret=self.cleaned_data.get("api_secret") or None,
            access_token=self.cleaned_data.get("access_token") or None,
        )


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display: tuple[str, ...] = (
        "name",
        "status",
        "status_reason",
        "access_token_expires_at",
        "api_key_hint",
        "secret_state",
        "token_state",
        "capacity",
        "updated_at",
    )
    list_filter = ("status",)
    search_fields = ("name", "broker_user_id")
    readonly_fields = (
        "status",
        "status_reason",
        "status_changed_at",
        "access_token_expires_at",
        "kite_login_link",
        "created_at",
        "updated_at",
    )
    actions: tuple[str, ...] = (
        "enable_accounts",
        "disable_accounts",
        "check_sessions",
        "log_in_with_kite",
    )
    fieldsets = (
        (None, {"fields": ("name", "broker_user_id")}),
        ("Credentials", {"fields": ("api_key", "api_secret", "access_token", "kite_login_link")}),
        (
            "Status",
            {"fields": ("status", "status_reason", "status_changed_at", "access_token_expires_at")},
        ),
        ("Capacity", {"fields": ("max_connections", "instruments_per_connection")}),
        (
            "Endpoints (blank = settings)",
            {"fields": ("api_root_override", "ws_root_override", "login_url_override")},
        ),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    # --- display -------------------------------------------------------------------------
    @admin.display(description="API key")
    def api_key_hint(self, account: Account) -> str:
        return account_api_key_hint(account, configured_cipher())

    @admin.display(description="API secret")
    def secret_state(self, account: Account) -> str:
        return "set" if account.api_secret_encrypted else "—"

    @admin.display(description="Access token")
    def token_state(self, account: Account) -> str:
        return "set" if account.access_token_encrypted else "—"

    @admin.display(description="Kite login")
    def kite_login_link(self, account: Account) -> str:
        if account.pk is None:
            return "Save the account first."
        url = reverse("admin:accounts_account_kite_login", args=[account.pk])
        return format_html('<a class="button" href="{}">Log in with Kite</a>', url)

    # --- saving goes through the services --------------------------------------------------
    def save_model(
        self, request: HttpRequest, obj: Account, form: AccountAdminForm, change: bool
    ) -> None:
        cipher = configured_cipher()
        fields = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name != "name"}
        if change:
            account_update(
                account=obj,
                cipher=cipher,
                secrets=form.secrets_update(),
                name=form.cleaned_data["name"],
                **fields,
            )
            return
        created = account_create(
            cipher=cipher, name=form.cleaned_data["name"], secrets=form.secrets_update(), **fields
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Account) -> None:
        account_delete(account=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            account_delete(account=account)

    # --- login -----------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:account_id>/kite-login/",
                self.admin_site.admin_view(self.kite_login_view),
                name="accounts_account_kite_login",
            ),
        ]
        return custom + super().get_urls()

    def kite_login_view(self, request: HttpRequest, account_id: int) -> HttpResponse:
        account = get_object_or_404(Account, pk=account_id)
        if not self.has_change_permission(request, account):
            messages.error(request, "You may not log this account in.")
            return HttpResponseRedirect(reverse("admin:accounts_account_changelist"))
        try:
            url = account_login_url(account=account, factory=configured_kite_factory())
        except CredentialDecryptError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("admin:accounts_account_change", args=[account.pk]))
        return HttpResponseRedirect(url)

    # --- actions ---------------------------------------------------------------------------
    @admin.action(description="Enable selected accounts")
    def enable_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            account_enable(account=account)
        self.message_user(request, f"Enabled {queryset.count()} account(s).")

    @admin.action(description="Disable selected accounts")
    def disable_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            account_disable(account=account)
        self.message_user(request, f"Disabled {queryset.count()} account(s).")

    @admin.action(description="Check Kite session of selected accounts")
    def check_sessions(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        factory = configured_kite_factory()
        for account in queryset:
            try:
                result = account_check_session(account=account, factory=factory)
            except (
                kite_exceptions.KiteException,
                requests.RequestException,
                KiteResponseError,
                CredentialDecryptError,
            ) as exc:
                self.message_user(
                    request,
                    f"{account.name}: could not check ({type(exc).__name__}: {exc})",
                    level=messages.ERROR,
                )
                continue
            if result.valid:
                self.message_user(request, f"{account.name}: session valid.")
            else:
                self.message_user(request, f"{account.name}: {result.reason}", messages.WARNING)

    @admin.action(description="Log in with Kite (one account)")
    def log_in_with_kite(
        self, request: HttpRequest, queryset: QuerySet[Account]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one account to log in.", messages.WARNING)
            return None
        account = queryset.get()
        return HttpResponseRedirect(reverse("admin:accounts_account_kite_login", args=[account.pk]))

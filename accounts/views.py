"""The Kite login callback: Kite redirects here with ``request_token`` and our signed state."""

from __future__ import annotations

import structlog
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.crypto import CredentialDecryptError
from accounts.models import Account
from accounts.services.login import (
    AccountLoginError,
    account_complete_login,
    login_state_account_id,
)
from accounts.wiring import configured_kite_factory

log = structlog.get_logger(__name__)


@require_GET
@staff_member_required
def kite_login_callback(request: HttpRequest) -> HttpResponse:
    changelist = reverse("admin:accounts_account_changelist")
    try:
        account_id = login_state_account_id(request.GET.get("state", ""))
    except signing.BadSignature:
        log.warning("kite_callback_bad_state")
        messages.error(request, "Kite login failed: the login link is invalid or has expired.")
        return HttpResponseRedirect(changelist)
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        messages.error(request, "Kite login failed: the account no longer exists.")
        return HttpResponseRedirect(changelist)
    change_page = reverse("admin:accounts_account_change", args=[account.pk])
    if request.GET.get("status", "success") != "success":
        messages.error(request, f"Kite login for {account.name} was not completed at Kite.")
        return HttpResponseRedirect(change_page)
    try:
        account = account_complete_login(
            account=account,
            request_token=request.GET.get("request_token", ""),
            factory=configured_kite_factory(),
        )
    except (AccountLoginError, CredentialDecryptError) as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(change_page)
    expires = account.access_token_expires_at
    messages.success(
        request,
        f"{account.name} is logged in; the token expires {expires:%Y-%m-%d %H:%M %Z}."
        if expires
        else f"{account.name} is logged in.",
    )
    return HttpResponseRedirect(change_page)

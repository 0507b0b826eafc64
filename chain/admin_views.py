"""The chain page: one admin page per underlying at /admin/chain/<UNDERLYING>/ (staff only).

The page itself is a shell in the admin's look; its script (chain/static/chain/chain.js) reads
``/api/v1/chain/`` and ``/api/v1/chain/term/`` with the session cookie every 2 s and draws the
table, the summary, the IV smile, the OI bars and the term structure (docs/chain.md).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from subscriptions.models import Underlying

REFRESH_SECONDS = 2.0


def chain_underlying_names() -> list[str]:
    """Every underlying the registry knows, by name (the page's switcher and the index links)."""
    return list(Underlying.objects.order_by("name").values_list("name", flat=True))


def chain_page(request: HttpRequest, underlying: str) -> HttpResponse:
    names = chain_underlying_names()
    if underlying not in names:
        raise Http404(f"no underlying named {underlying!r}")
    context = {
        **admin.site.each_context(request),
        "title": f"{underlying} option chain",
        "is_nav_sidebar_enabled": False,  # the chain needs the page's full width
        "underlying": underlying,
        "underlyings": names,
        "expiry": request.GET.get("expiry", ""),
        "chain_api_url": reverse("chain"),
        "term_api_url": reverse("chain-term"),
        "refresh_ms": int(REFRESH_SECONDS * 1000),
        "underlyings_url": reverse("admin:subscriptions_underlying_changelist"),
    }
    return TemplateResponse(request, "chain/chain_page.html", context)


# admin_view: staff only (others go to the admin login), never cached, CSRF as the admin.
chain_page_view = admin.site.admin_view(chain_page)

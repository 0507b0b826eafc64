"""Admin links to the chain page: a "chain" column on the underlyings' list and a link on each
underlying's page (``Underlying`` is registered again with them: ``chain`` loads after
``subscriptions``, so ``subscriptions`` never imports ``chain``), and a "Live option chain" block
on the admin index (chain/templates/chain/admin_index.html, which extends the fleet's index)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from subscriptions.admin import UnderlyingAdmin
from subscriptions.models import Underlying

admin.site.index_template = "chain/admin_index.html"


def chain_page_url(name: str) -> str:
    return reverse("chain-page", args=[name])


class UnderlyingWithChainAdmin(UnderlyingAdmin):
    list_display = (*UnderlyingAdmin.list_display, "chain")  # type: ignore[assignment]
    readonly_fields = (*UnderlyingAdmin.readonly_fields, "chain")  # type: ignore[assignment]

    @admin.display(description="live chain")
    def chain(self, underlying: Underlying) -> SafeString | str:
        if not underlying.pk:
            return "-"
        return format_html(
            '<a href="{}">{} chain</a>', chain_page_url(underlying.name), underlying.name
        )


admin.site.unregister(Underlying)
admin.site.register(Underlying, UnderlyingWithChainAdmin)

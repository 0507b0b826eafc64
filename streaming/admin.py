"""Admin for the fleet: the account list gains worker columns and restart/drain actions, and the
admin index links the fleet page (``streaming.fleet_admin``).

``accounts.admin`` registers the plain account admin; this module (the ``streaming`` app loads
after ``accounts``) re-registers ``Account`` with the fleet mixed in, so ``accounts`` never
imports the fleet.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern

from accounts.admin import AccountAdmin
from accounts.models import Account
from streaming.fleet_admin import FleetAdminMixin

# The admin index links the fleet page (the template extends the stock index).
admin.site.index_template = "admin/ticker_index.html"


class FleetAccountAdmin(FleetAdminMixin, AccountAdmin):
    list_display = (
        *AccountAdmin.list_display[:-1],
        *FleetAdminMixin.fleet_columns,
        AccountAdmin.list_display[-1],
    )
    actions = (*AccountAdmin.actions, *FleetAdminMixin.fleet_actions)

    def get_urls(self) -> list[URLPattern]:
        return self.fleet_urls() + super().get_urls()


admin.site.unregister(Account)
admin.site.register(Account, FleetAccountAdmin)

"""The chain page's route, included under /admin/chain/ by ticker_project/urls.py (before the
admin's own URLs, whose catch-all would answer it 404)."""

from django.urls import path

from chain.admin_views import chain_page_view

urlpatterns = [path("<str:underlying>/", chain_page_view, name="chain-page")]

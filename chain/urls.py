"""Chain API routes (included under /api/v1/ by ticker_project/urls.py)."""

from django.urls import path

from chain.api import ChainTermView, ChainView

urlpatterns = [
    path("chain/", ChainView.as_view(), name="chain"),
    path("chain/term/", ChainTermView.as_view(), name="chain-term"),
]

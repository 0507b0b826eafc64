"""Account URLs: the REST resource and the Kite login callback."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import AccountViewSet
from accounts.views import kite_login_callback

# The API root (/api/v1/) lists every endpoint: ticker_project/api_root.py.
api_router = SimpleRouter()
api_router.register("accounts", AccountViewSet, basename="account")

urlpatterns = [
    path("kite/callback/", kite_login_callback, name="kite-login-callback"),
]

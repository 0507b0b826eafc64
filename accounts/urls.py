"""Account URLs: the REST resource and the Kite login callback."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import AccountViewSet
from accounts.views import kite_login_callback

api_router = DefaultRouter()
api_router.register("accounts", AccountViewSet, basename="account")

urlpatterns = [
    path("kite/callback/", kite_login_callback, name="kite-login-callback"),
]

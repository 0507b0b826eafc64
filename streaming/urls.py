"""Streaming API routes: the fleet resource (quotes are a plain view in the URL root)."""

from rest_framework.routers import DefaultRouter

from streaming.fleet.api import FleetViewSet

api_router = DefaultRouter()
api_router.register("fleet", FleetViewSet, basename="fleet")

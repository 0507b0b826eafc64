"""REST routes of the subscriptions app (mounted under /api/v1/ by ticker_project.urls)."""

from rest_framework.routers import SimpleRouter

from subscriptions.api import InstrumentViewSet, SubscriptionViewSet

api_router = SimpleRouter()
api_router.register("instruments", InstrumentViewSet, basename="instrument")
api_router.register("subscriptions", SubscriptionViewSet, basename="subscription")

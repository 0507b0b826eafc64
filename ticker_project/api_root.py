"""``GET /api/v1/``: every endpoint of the API, by name, as absolute links.

One list, kept beside the URL root; tests/ticker_project/test_api_root.py fails when a
collection under /api/v1/ in the OpenAPI schema is missing from it.
"""

from __future__ import annotations

from typing import Final

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# name shown -> URL name
ENDPOINTS: Final = {
    "accounts": "account-list",
    "instruments": "instrument-list",
    "subscriptions": "subscription-list",
    "subscriptions-bulk": "subscription-bulk",
    "subscriptions-activate": "subscription-activate",
    "subscriptions-deactivate": "subscription-deactivate",
    "subscriptions-assignment": "subscription-assignment",
    "quotes": "quotes",
    "greeks-candles": "greeks-candles",
    "fleet": "fleet-list",
    "health": "health",
    "schema": "schema",
    "docs": "api-docs",
}


class ApiRootView(APIView):
    """The API's entry point: a link to every endpoint (no authentication needed)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer("ApiRoot", {name: serializers.URLField() for name in ENDPOINTS})
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response({name: reverse(url, request=request) for name, url in ENDPOINTS.items()})

"""Django's own error pages (``handler400/403/404``) answer JSON under /api/, as the API does.

A URL the router does not match (``/api/v1/subscriptions/0.5/``) or a body Django refuses
before DRF sees it (a malformed multipart body) would otherwise get an HTML page, which the
OpenAPI schema does not promise. Pages outside /api/ keep Django's plain defaults.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from ticker_project.outage import API_PREFIX


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "bad request"}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "permission denied"}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "not found"}, status=404)
    return defaults.page_not_found(request, exception)

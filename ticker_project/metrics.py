"""Prometheus metrics shared by the web process, and the ``/metrics`` view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

HEALTH_CHECK_FAILURES = Counter(
    "ticker_health_check_failures_total", "Health checks that did not pass", ["check", "status"]
)


def metrics_view(_request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)

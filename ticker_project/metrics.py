"""Prometheus metrics shared by the web process, and the ``/metrics`` view.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, the
same for every worker): the view then sums every worker's files (``MultiProcessCollector``)
instead of answering for the one process that happened to get the scrape.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)

HEALTH_CHECK_FAILURES = Counter(
    "ticker_health_check_failures_total", "Health checks that did not pass", ["check", "status"]
)


def scrape_registry() -> CollectorRegistry:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry


def metrics_view(_request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)

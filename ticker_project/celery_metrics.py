"""The Celery workers' own Prometheus metrics, served over HTTP by each worker node.

``CELERY_METRICS_PORT`` (0: off) makes the worker's main process serve ``/metrics`` on that
port when it starts. Tasks run in prefork children, so the children's counters (the control
plane's and ``ticker_celery_tasks_total`` below) reach it through prometheus-client's
multiprocess mode: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty, per-node directory before
the worker starts (docs/control-plane.md). Without it only the main process's own metrics show.
"""

from __future__ import annotations

import os
from typing import Any

import structlog
from celery.signals import task_postrun, worker_init, worker_process_shutdown
from prometheus_client import CollectorRegistry, Counter, multiprocess, start_http_server

log = structlog.get_logger(__name__)

CELERY_TASKS = Counter(
    "ticker_celery_tasks_total", "Celery tasks finished by this worker node", ["task", "state"]
)


def metrics_port() -> int:
    from django.conf import settings  # noqa: PLC0415  (settings are ready once Celery starts)

    port: int = settings.CELERY_METRICS_PORT
    return port


def start_metrics_server(port: int) -> None:
    """Serve the node's metrics on ``port`` (the children's too in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, registry=registry)
    else:
        start_http_server(port)
    log.info("celery_metrics_serving", port=port)


@worker_init.connect
def _serve_metrics(**_kwargs: Any) -> None:
    port = metrics_port()
    if port:
        start_metrics_server(port)


@worker_process_shutdown.connect
def _forget_child(pid: int | None = None, **_kwargs: Any) -> None:
    if pid is not None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)


@task_postrun.connect
def _count_task(sender: Any = None, state: str | None = None, **_kwargs: Any) -> None:
    name = getattr(sender, "name", "unknown")
    CELERY_TASKS.labels(task=name, state=state or "UNKNOWN").inc()

"""The Celery application: configuration comes from Django settings (``CELERY_*``)."""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django.apps import apps
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticker_project.settings")

app = Celery("ticker_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(DjangoStructLogInitStep)
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _import_task_modules(sender: Celery, **_kwargs: Any) -> None:
    """Register every app's tasks once the task registry is first used, in any process.

    Enqueueing by name (``current_app.tasks[name].delay(...)``: the web process, the admin, a
    streaming worker marking its account ``needs_login``) reads the registry, which finalizes the
    app. Importing the task modules from the apps' ``ready()`` instead would load the Kite REST
    client, and with it Twisted, into every process, streaming workers included (docs/fleet.md,
    "Benchmark"). A process that finalizes the app before Django is set up (the ``celery``
    command) is left to Celery's own discovery, which the worker and beat run at start-up.
    """
    if apps.ready:
        sender.autodiscover_tasks(force=True)


# Imported for its signal handlers: the worker node's own /metrics (celery_metrics.py).
import ticker_project.celery_metrics  # noqa: E402, F401


@setup_logging.connect
def _configure_celery_logging(**_kwargs: Any) -> None:
    """Use the project's structlog configuration instead of Celery's own."""
    from django.conf import settings  # noqa: PLC0415  (settings are ready only once Celery starts)

    logging.config.dictConfig(settings.LOGGING)

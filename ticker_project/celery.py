"""The Celery application: configuration comes from Django settings (``CELERY_*``)."""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticker_project.settings")

app = Celery("ticker_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(DjangoStructLogInitStep)
app.autodiscover_tasks()
# Imported for its signal handlers: the worker node's own /metrics (celery_metrics.py).
import ticker_project.celery_metrics  # noqa: E402, F401


@setup_logging.connect
def _configure_celery_logging(**_kwargs: Any) -> None:
    """Use the project's structlog configuration instead of Celery's own."""
    from django.conf import settings  # noqa: PLC0415  (settings are ready only once Celery starts)

    logging.config.dictConfig(settings.LOGGING)

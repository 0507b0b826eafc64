"""Project configuration and plumbing: settings, Celery app, URLs, logging, retry policy."""

from ticker_project.celery import app as celery_app

__all__ = ["celery_app"]

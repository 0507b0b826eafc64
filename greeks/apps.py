"""Django app configuration for `greeks` (task registration)."""

from django.apps import AppConfig


class GreeksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "greeks"

    def ready(self) -> None:
        # Register the historical tasks with Celery in every process: the subscriptions admin
        # enqueues the backfill by name and never imports this module otherwise.
        from greeks import tasks  # noqa: F401, PLC0415

"""Django app configuration for `subscriptions` (the account-event receivers)."""

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"

    def ready(self) -> None:
        # Register the account-event receivers. The tasks are registered with Celery when its app
        # is finalized (ticker_project/celery.py), not here: importing them at start-up would load
        # the Kite client (and Twisted) into every streaming worker.
        from subscriptions import receivers  # noqa: F401, PLC0415

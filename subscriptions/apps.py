"""Django app configuration for `subscriptions` (receivers and task registration)."""

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"

    def ready(self) -> None:
        # Register the account-event receivers, and the tasks with Celery in every process (the web
        # process enqueues the assignment by name and never imports the tasks module otherwise).
        from subscriptions import receivers, tasks  # noqa: F401, PLC0415

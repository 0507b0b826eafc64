"""Django app configuration for `subscriptions` (connects the Account status receiver)."""

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"

    def ready(self) -> None:
        from subscriptions import signals  # noqa: F401, PLC0415  (registers the receivers)

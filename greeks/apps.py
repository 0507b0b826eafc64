"""Django app configuration for `greeks`."""

from django.apps import AppConfig


class GreeksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "greeks"

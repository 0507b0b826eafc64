"""App config so the project package can carry wiring commands (run_demo)."""

from django.apps import AppConfig


class TickerProjectConfig(AppConfig):
    name = "ticker_project"
    verbose_name = "Ticker fleet"

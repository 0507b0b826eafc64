"""App config so the project package can carry wiring commands (run_demo) and process set-up."""

from django.apps import AppConfig

from infra.pool_metrics import register_pool_metrics


class TickerProjectConfig(AppConfig):
    name = "ticker_project"
    verbose_name = "Ticker fleet"

    def ready(self) -> None:
        # Every Django process (web, Celery, run_account) exports its pool figures wherever it
        # exports metrics: /metrics, or the worker's metrics port (same default registry).
        register_pool_metrics()

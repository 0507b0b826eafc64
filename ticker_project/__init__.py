"""Project configuration and plumbing: settings, Celery app, URLs, logging, retry policy."""

import sys

# structlog imports its Twisted integration whenever Twisted is installed (it is, for kiteconnect's
# KiteTicker, which only the simulator's tests use), and that loads Twisted into every process:
# ~2 MB of RSS per streaming worker (docs/fleet.md, "Benchmark"). Nothing here logs through
# Twisted; a None entry makes that optional import fail as if Twisted were absent. This module is
# imported before structlog (DJANGO_SETTINGS_MODULE is ticker_project.settings); setdefault keeps
# a real module where something imported it first.
sys.modules.setdefault("structlog.twisted", None)  # type: ignore[arg-type]

from ticker_project.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]

"""Ask for an assignment run once the current transaction commits.

Services that change subscriptions (and the account-event receiver in ``receivers.py``) call
``assignment_request_on_commit``; the task is looked up by name so that services need not
import the tasks module (which imports them). A broker outage is logged and counted: the
every-minute beat run repairs it.
"""

from __future__ import annotations

from typing import Final

import structlog
from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from subscriptions.metrics import ASSIGNMENT_ENQUEUE_FAILURES

log = structlog.get_logger(__name__)

ASSIGN_TASK_NAME: Final = "subscriptions.tasks.assign_subscriptions"


def _enqueue(reason: str) -> None:
    try:
        current_app.tasks[ASSIGN_TASK_NAME].delay(reason=reason)
    except KombuOperationalError as exc:
        ASSIGNMENT_ENQUEUE_FAILURES.inc()
        log.warning(
            "assignment_enqueue_failed",
            reason=reason,
            error_type=type(exc).__name__,
            error=str(exc),
        )


def assignment_request_on_commit(*, reason: str) -> None:
    """Enqueue the assignment task after the surrounding transaction commits."""
    transaction.on_commit(lambda: _enqueue(reason))

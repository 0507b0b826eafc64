"""Ask for an assignment run once the current transaction commits.

Services that change subscriptions (and the account-event receiver in ``receivers.py``) call
``assignment_request_on_commit``; the task is looked up by name so that services need not
import the tasks module (which imports them). A broker outage is logged and counted: the
every-minute beat run repairs it.

Services that change what the registry says is subscribed (subscriptions, instruments) also
call ``registry_changed_on_commit``: after commit it writes a new random registry version
(``contract.names.registry_version_key``), so a reader that caches the registry (the chain API,
docs/chain.md "Registry cache") rebuilds on its next request. Like the enqueue, it runs after a
commit it cannot undo, so a Redis outage is logged and counted, never raised: the reader's TTL
then bounds how long its cache lags.
"""

from __future__ import annotations

import uuid
from typing import Final

import redis
import structlog
from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from contract.names import registry_version_key
from infra.redis_factory import process_redis
from subscriptions.metrics import ASSIGNMENT_ENQUEUE_FAILURES, REGISTRY_VERSION_WRITE_FAILURES

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


def _write_registry_version(reason: str) -> None:
    # The settings are read here, as in ``subscriptions.wiring`` (which imports the services,
    # so the services' trigger cannot import it).
    key = registry_version_key(settings.TICKER_CHANNEL_PREFIX)
    try:
        process_redis(settings.REDIS_URL).set(key, uuid.uuid4().hex)
    except redis.exceptions.RedisError as exc:
        REGISTRY_VERSION_WRITE_FAILURES.inc()
        log.warning(
            "registry_version_write_failed",
            key=key,
            reason=reason,
            error_type=type(exc).__name__,
            error=str(exc),
        )


def registry_changed_on_commit(*, reason: str) -> None:
    """Write a new registry version after the surrounding transaction commits."""
    transaction.on_commit(lambda: _write_registry_version(reason))


def subscriptions_changed_on_commit(*, reason: str) -> None:
    """After commit: the assignment task, and a new registry version (what a service that
    adds, removes or (de)activates subscriptions owes both the workers and the readers)."""
    assignment_request_on_commit(reason=reason)
    registry_changed_on_commit(reason=reason)

"""setup_periodic_tasks: idempotent upsert, Asia/Kolkata crontabs, expires, edits kept."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from ticker_project.celery import app as celery_app

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("setup_periodic_tasks", *args, stdout=out)
    return out.getvalue()


def test_creates_the_default_schedule_once() -> None:
    assert run().count("created:") == 6
    tasks = {t.task: t for t in PeriodicTask.objects.select_related("crontab")}
    assert set(tasks) == {
        "subscriptions.tasks.refresh_instruments",
        "accounts.tasks.check_account_sessions",
        "subscriptions.tasks.rebalance_strikes",
        "subscriptions.tasks.assign_subscriptions",
        "celery.backend_cleanup",  # deletes task results past CELERY_RESULT_EXPIRES
        "greeks.tasks.enrich_subscribed_day",
    }
    nightly = tasks["greeks.tasks.enrich_subscribed_day"].crontab
    assert (nightly.minute, nightly.hour, nightly.day_of_week) == ("15", "16", "1-5")
    route = celery_app.amqp.router.route({}, "greeks.tasks.enrich_subscribed_day")
    assert route["queue"].name == "backfill"
    refresh = tasks["subscriptions.tasks.refresh_instruments"].crontab
    assert (refresh.minute, refresh.hour, refresh.day_of_week) == ("30", "8", "*")  # daily
    rebalance = tasks["subscriptions.tasks.rebalance_strikes"].crontab
    assert (rebalance.minute, rebalance.hour, rebalance.day_of_week) == ("*", "9-15", "1-5")
    # Rows name no queue: beat sends through Celery's router, where the routes are declared.
    assert all(task.queue is None for task in tasks.values())
    route = celery_app.amqp.router.route({}, "subscriptions.tasks.rebalance_strikes")
    assert route["queue"].name == "rebalance"
    for task in tasks.values():
        assert str(task.crontab.timezone) == "Asia/Kolkata"
        assert task.expire_seconds and task.enabled
    assert run().count("unchanged:") == 6  # a second run writes nothing
    assert PeriodicTask.objects.count() == 6
    assert CrontabSchedule.objects.count() == 6


def test_operators_edits_are_kept_unless_reset() -> None:
    run()
    task = PeriodicTask.objects.get(task="subscriptions.tasks.rebalance_strikes")
    edited, _ = CrontabSchedule.objects.get_or_create(
        minute="*/2", hour="9-15", day_of_week="1-5", timezone="Asia/Kolkata"
    )
    task.enabled = False
    task.crontab = edited
    task.expire_seconds = 1
    task.kwargs = '{"force": true}'
    task.queue = "elsewhere"
    task.save()
    run()
    task.refresh_from_db()
    # The operator's tuning stays; what must match the code (no queue of its own) is restored.
    assert task.enabled is False and task.crontab_id == edited.pk
    assert task.expire_seconds == 1 and task.kwargs == '{"force": true}'
    assert task.queue is None
    run("--reset")
    task.refresh_from_db()
    assert task.enabled is True and task.crontab.minute == "*"
    assert task.expire_seconds == 55 and task.kwargs == "{}"

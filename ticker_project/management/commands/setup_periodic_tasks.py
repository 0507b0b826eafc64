"""``manage.py setup_periodic_tasks [--reset]``: upsert the default django-celery-beat schedule.

Idempotent. Crontabs carry the exchange's zone (Asia/Kolkata) explicitly (a CrontabSchedule
defaults to UTC, whatever CELERY_TIMEZONE says) and every task has ``expires``, so a backlog
never replays stale runs. Operators' edits in the admin are kept: on an existing row only the
task path follows the code (and the queue stays empty: Celery's router picks it from
CELERY_TASK_ROUTES); schedule, enabled, arguments and expiry change only with ``--reset``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks


@dataclass(frozen=True)
class Cron:
    minute: str
    hour: str
    day_of_week: str


@dataclass(frozen=True)
class DefaultTask:
    name: str
    task: str
    cron: Cron
    expire_seconds: int
    description: str
    kwargs: dict[str, Any] | None = None


WEEKDAYS = "1-5"
DEFAULT_SCHEDULE: tuple[DefaultTask, ...] = (
    DefaultTask(
        name="instruments: daily refresh",
        task="subscriptions.tasks.refresh_instruments",
        cron=Cron("30", "8", "*"),
        expire_seconds=3600,
        description="Kite publishes the dump once a day; fetch it before the 09:15 open.",
    ),
    DefaultTask(
        name="accounts: morning session check",
        task="accounts.tasks.check_account_sessions",
        cron=Cron("45", "8", WEEKDAYS),
        expire_seconds=1800,
        description="profile() per active account; a dead token becomes needs_login.",
    ),
    DefaultTask(
        name="subscriptions: rebalance strikes",
        task="subscriptions.tasks.rebalance_strikes",
        cron=Cron("*", "9-15", WEEKDAYS),
        expire_seconds=55,
        description="Every minute 09:00-15:59; the task no-ops outside market hours/holidays.",
    ),
    DefaultTask(
        name="subscriptions: assign to accounts",
        task="subscriptions.tasks.assign_subscriptions",
        cron=Cron("*", "*", "*"),
        expire_seconds=55,
        description="Repairs anything a missed on-commit trigger left behind.",
        kwargs={"reason": "scheduled"},
    ),
    DefaultTask(
        name="greeks: historical candles of the day",
        task="greeks.tasks.enrich_subscribed_day",
        cron=Cron("15", "16", WEEKDAYS),
        expire_seconds=4 * 3600,
        description="After the close: the day's candles of every option subscribed that day, "
        "priced and stored (resumable; skips exchange holidays).",
    ),
    DefaultTask(
        name="celery: delete expired task results",
        task="celery.backend_cleanup",
        cron=Cron("0", "4", "*"),
        expire_seconds=3600,
        description="Task results older than CELERY_RESULT_EXPIRES leave django-celery-results.",
    ),
)


def _crontab(cron: Cron, tz: ZoneInfo) -> CrontabSchedule:
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=cron.minute,
        hour=cron.hour,
        day_of_week=cron.day_of_week,
        day_of_month="*",
        month_of_year="*",
        timezone=tz,
    )
    return schedule


def periodic_tasks_upsert(*, reset: bool, tz: ZoneInfo) -> dict[str, str]:
    """Create missing default tasks and keep existing ones pointing at the code; name -> action.

    The code owns what must match it: the task's dotted path, and an empty queue, so that beat
    sends through Celery's router and ``CELERY_TASK_ROUTES`` stays the one place a task's
    queue is named. Everything an operator may tune in the admin (schedule, enabled, kwargs,
    expiry, description) is set at creation and left alone afterwards, unless ``reset``.
    """
    actions: dict[str, str] = {}
    changed = False
    with transaction.atomic():
        for default in DEFAULT_SCHEDULE:
            crontab = _crontab(default.cron, tz)
            code_owned: dict[str, Any] = {"task": default.task, "queue": None}
            tunable: dict[str, Any] = {
                "crontab": crontab,
                "interval": None,
                "solar": None,
                "clocked": None,
                "enabled": True,
                "kwargs": json.dumps(default.kwargs or {}),
                "expire_seconds": default.expire_seconds,
                "description": default.description,
            }
            existing = PeriodicTask.objects.filter(name=default.name).first()
            if existing is None:
                PeriodicTask.objects.create(name=default.name, **code_owned, **tunable)
                actions[default.name] = "created"
                changed = True
                continue
            wanted = {**code_owned, **tunable} if reset else code_owned
            stale = {f: v for f, v in wanted.items() if getattr(existing, f) != v}
            if not stale:
                actions[default.name] = "unchanged"
                continue
            for field, value in stale.items():
                setattr(existing, field, value)
            existing.save()
            actions[default.name] = "reset" if reset else "updated"
            changed = True
        if changed:
            PeriodicTasks.update_changed()
    return actions


class Command(BaseCommand):
    help = "Create or update the default Celery beat schedule (keeps operators' edits)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="also restore the default crontab and enabled flag of existing tasks",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actions = periodic_tasks_upsert(
            reset=options["reset"], tz=ZoneInfo(settings.MARKET_TIME_ZONE)
        )
        for name, action in actions.items():
            self.stdout.write(f"{action}: {name}")

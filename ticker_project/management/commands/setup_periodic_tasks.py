"""``manage.py setup_periodic_tasks [--reset]``: upsert the default django-celery-beat schedule.

Idempotent. Crontabs carry the exchange's zone (Asia/Kolkata) explicitly (a CrontabSchedule
defaults to UTC, whatever CELERY_TIMEZONE says) and every task has ``expires``, so a backlog
never replays stale runs. Operators' edits in the admin are kept: an existing row's ``enabled``
flag and crontab are only overwritten with ``--reset``; its task path, queue, arguments and
expiry are brought up to date.
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
        cron=Cron("30", "8", WEEKDAYS),
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


def _queue(task: str) -> str | None:
    routes: dict[str, dict[str, str]] = settings.CELERY_TASK_ROUTES
    route = routes.get(task)
    return route["queue"] if route else None


def periodic_tasks_upsert(*, reset: bool, tz: ZoneInfo) -> dict[str, str]:
    """Create missing default tasks, update code-owned fields of existing ones; name -> action."""
    actions: dict[str, str] = {}
    with transaction.atomic():
        for default in DEFAULT_SCHEDULE:
            crontab = _crontab(default.cron, tz)
            code_owned: dict[str, Any] = {
                "task": default.task,
                "kwargs": json.dumps(default.kwargs or {}),
                "expire_seconds": default.expire_seconds,
                "queue": _queue(default.task),
                "description": default.description,
            }
            existing = PeriodicTask.objects.filter(name=default.name).first()
            if existing is None:
                PeriodicTask.objects.create(
                    name=default.name, crontab=crontab, enabled=True, **code_owned
                )
                actions[default.name] = "created"
                continue
            for field, value in code_owned.items():
                setattr(existing, field, value)
            if reset:
                existing.crontab = crontab
                existing.interval = None
                existing.solar = None
                existing.clocked = None
                existing.enabled = True
            existing.save()
            actions[default.name] = "reset" if reset else "updated"
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

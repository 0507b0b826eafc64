"""Admin for the jobs: each periodic task links to its results; results show their duration.

django-celery-beat's and django-celery-results' own admins are kept and extended (registered
again here: ``ticker_project`` comes after both in INSTALLED_APPS).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask
from django_celery_results.admin import TaskResultAdmin
from django_celery_results.models import TaskResult


def task_results_url(periodic_task_name: str) -> str:
    changelist = reverse("admin:django_celery_results_taskresult_changelist")
    return f"{changelist}?{urlencode({'periodic_task_name': periodic_task_name})}"


class PeriodicTaskWithResultsAdmin(PeriodicTaskAdmin):
    list_display = (*PeriodicTaskAdmin.list_display, "results")

    @admin.display(description="results")
    def results(self, task: PeriodicTask) -> SafeString:
        return format_html('<a href="{}">results</a>', task_results_url(task.name))


class TaskResultWithDurationAdmin(TaskResultAdmin):
    list_display = (  # type: ignore[assignment]
        "task_id", "periodic_task_name", "task_name", "status", "date_started", "date_done",
        "duration", "worker",
    )  # fmt: skip

    @admin.display(description="duration (s)")
    def duration(self, result: TaskResult) -> str:
        started: datetime | None = getattr(result, "date_started", None)  # set by track_started
        if started is None or result.date_done is None:
            return "-"
        return f"{(result.date_done - started).total_seconds():.3f}"


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskWithResultsAdmin)
admin.site.unregister(TaskResult)
admin.site.register(TaskResult, TaskResultWithDurationAdmin)

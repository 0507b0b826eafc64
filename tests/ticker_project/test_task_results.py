"""Jobs and their results: "Run selected tasks" in the admin runs the task on a real Celery
worker, and its result (state, return value, duration) is stored and visible in the admin,
linked from the periodic task; the worker node exports its own metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from tests.database_url import migrated_database_url
from tests.streaming.helpers import REPO_ROOT, free_port, wait_for
from ticker_project.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)

ASSIGN = "subscriptions: assign to accounts"


@pytest.fixture
def worker(redis_client: redis.Redis) -> Iterator[int]:
    """A Celery worker (prefork, one child) on the tests' database and Redis; its metrics port."""
    port = free_port()
    with tempfile.TemporaryDirectory() as multiproc, tempfile.TemporaryFile() as log:
        env = {**os.environ, "DATABASE_URL": migrated_database_url(),
               "REDIS_URL": settings.REDIS_URL, "CELERY_METRICS_PORT": str(port),
               "PROMETHEUS_MULTIPROC_DIR": multiproc}  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ticker_project", "worker", "--pool",
             "prefork", "--concurrency", "1", "-Q", ",".join(settings.CONTROL_PLANE_QUEUES),
             "--without-gossip", "--without-mingle", "-n", f"results-test-{port}@%h"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.seek(0)
            Path(multiproc, "worker.log").write_bytes(log.read())  # kept for a failing assert


def test_run_selected_tasks_in_the_admin_leads_to_a_visible_result(worker: int) -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    task = PeriodicTask.objects.get(name=ASSIGN)
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-123456789"))

    ran = client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "run_tasks", "_selected_action": [task.pk]},
        follow=True,
    )
    assert ran.status_code == 200
    result = wait_for(
        lambda: TaskResult.objects.filter(periodic_task_name=ASSIGN, status="SUCCESS").first(),
        timeout=60,
    )
    assert result.task_name == "subscriptions.tasks.assign_subscriptions"
    assert '"assigned"' in result.result  # the task's return value, as JSON
    assert result.date_started is not None and result.date_done >= result.date_started

    tasks_page = client.get("/admin/django_celery_beat/periodictask/").content.decode()
    link = "/admin/django_celery_results/taskresult/?periodic_task_name=subscriptions%3A+assign"
    assert link in tasks_page
    results_page = client.get(
        "/admin/django_celery_results/taskresult/", {"periodic_task_name": ASSIGN}
    ).content.decode()
    assert result.task_id in results_page
    assert "SUCCESS" in results_page
    assert "Duration (s)" in results_page

    metrics = requests.get(f"http://127.0.0.1:{worker}/metrics", timeout=10).text
    assert (
        'ticker_celery_tasks_total{state="SUCCESS",'
        'task="subscriptions.tasks.assign_subscriptions"} 1.0'
    ) in metrics


def test_old_results_expire_through_the_scheduled_cleanup() -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    cleanup = PeriodicTask.objects.get(task="celery.backend_cleanup")
    assert cleanup.enabled
    now = timezone.now()
    old = TaskResult.objects.create(task_id="old", status="SUCCESS")
    fresh = TaskResult.objects.create(task_id="fresh", status="SUCCESS")
    TaskResult.objects.filter(pk=old.pk).update(
        date_done=now - settings.CELERY_RESULT_EXPIRES - timedelta(hours=1)
    )
    celery_app.tasks[cleanup.task].apply().get()  # what beat sends daily
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == [fresh.task_id]

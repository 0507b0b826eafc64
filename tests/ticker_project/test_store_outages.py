"""Every endpoint family answers 503 JSON with a short reason (the admin: a plain page, never a
traceback, even with DEBUG on) while PostgreSQL or Redis is down, and recovers by itself.

Real servers the test starts and stops itself: a throwaway PostgreSQL holding a copy of the
tests' migrated database, a throwaway redis-server, and gunicorn serving the project.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.database_url import migrated_database_url
from tests.streaming.helpers import REPO_ROOT, ThrowawayRedis
from tests.ticker_project.live_stack import LiveServer, ThrowawayPostgres, live_env

API = (
    "/api/v1/accounts/",
    "/api/v1/instruments/",
    "/api/v1/subscriptions/",
    "/api/v1/subscriptions/assignment/",
    "/api/v1/quotes/?tokens=256265",
    "/api/v1/chain/term/?underlying=NIFTY",
    "/api/schema/",
)

# pytest-django creates the tests' database only for tests marked so; it is the copy's source.
pytestmark = pytest.mark.django_db

MAKE_USER = (
    "from django.contrib.auth.models import User; from rest_framework.authtoken.models import "
    "Token; u = User.objects.create_superuser('ops', 'ops@example.com', 'ops-password-123'); "
    "print(Token.objects.create(user=u).key)"
)


@dataclass
class Stack:
    postgres: ThrowawayPostgres
    redis: ThrowawayRedis
    server: LiveServer
    token: str
    admin: requests.Session

    def api(self, path: str) -> requests.Response:
        return requests.get(
            self.server.url + path, headers={"Authorization": f"Token {self.token}"}, timeout=30
        )


@pytest.fixture(scope="module")
def stack(django_db_setup: None) -> Iterator[Stack]:
    postgres, store = ThrowawayPostgres(), ThrowawayRedis()
    server: LiveServer | None = None
    try:
        postgres.start()
        postgres.load_copy_of(migrated_database_url())
        store.start()
        # DEBUG on: the harder case, where Django would otherwise show its debug page.
        env = live_env(database_url=postgres.url(), redis_url=store.url, DEBUG="1")
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", MAKE_USER], cwd=REPO_ROOT, env=env,
            check=False, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr[-2000:]
        token = made.stdout.strip().splitlines()[-1]
        server = LiveServer(env)
        admin = requests.Session()
        login = f"{server.url}/admin/login/?next=/admin/"
        admin.get(login, timeout=30)
        logged_in = admin.post(
            login,
            data={"username": "ops", "password": "ops-password-123",
                  "csrfmiddlewaretoken": admin.cookies["csrftoken"]},
            headers={"Referer": login}, timeout=30,
        )  # fmt: skip
        assert logged_in.status_code == 200 and "Log out" in logged_in.text
        yield Stack(postgres, store, server, token, admin)
    finally:
        if server is not None:
            server.stop()
        store.kill()
        postgres.remove()


def _assert_all_up(stack: Stack) -> None:
    for path in API:
        response = stack.api(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert stack.admin.get(f"{stack.server.url}/admin/", timeout=30).status_code == 200


def _assert_all_unavailable(stack: Stack, store: str) -> None:
    for path in API:
        response = stack.api(path)
        assert response.status_code == 503, (path, response.status_code, response.text[:300])
        assert response.headers["Content-Type"] == "application/json", path
        assert store in response.json()["detail"], (path, response.json())
        assert int(response.headers["Retry-After"]) > 0
    health = requests.get(f"{stack.server.url}/api/health/", timeout=30)
    assert health.status_code == 503 and health.json()["status"] == "down"
    page = stack.admin.get(f"{stack.server.url}/admin/", timeout=30)
    if store == "redis":  # the admin's pages need only PostgreSQL (sessions live there)
        assert page.status_code == 200
        return
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Service unavailable" in page.text
    assert "Traceback" not in page.text and "Django" not in page.text


def test_a_postgresql_outage_answers_503_everywhere_and_recovers(stack: Stack) -> None:
    _assert_all_up(stack)
    stack.postgres.stop()
    try:
        _assert_all_unavailable(stack, "database")
    finally:
        stack.postgres.start()
    _assert_all_up(stack)


def test_a_redis_outage_answers_503_everywhere_and_recovers(stack: Stack) -> None:
    _assert_all_up(stack)
    stack.redis.kill()
    try:
        _assert_all_unavailable(stack, "redis")
    finally:
        stack.redis.start()
    _assert_all_up(stack)

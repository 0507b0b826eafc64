"""Rate limits: DRF throttles per user and per anonymous client (429 with Retry-After), and
django-axes locks out repeated failed admin logins (the right password then fails too)."""

from __future__ import annotations

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from ticker_project.throttling import UserThrottle

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@override_settings(API_THROTTLE_RATES={"anon": "3/minute", "user": "5/minute"})
def test_an_anonymous_client_is_throttled(redis_client: redis.Redis) -> None:
    client = Client()
    assert [client.get("/api/schema/").status_code for _ in range(3)] == [200] * 3
    throttled = client.get("/api/schema/")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0


@override_settings(API_THROTTLE_RATES={"anon": "3/minute", "user": "5/minute"})
def test_a_user_is_throttled_per_user(redis_client: redis.Redis) -> None:
    first = Token.objects.create(user=User.objects.create_user("reader-1", password="pw-1234567"))
    second = Token.objects.create(user=User.objects.create_user("reader-2", password="pw-1234567"))
    one = Client(HTTP_AUTHORIZATION=f"Token {first.key}")
    assert [one.get("/api/v1/accounts/").status_code for _ in range(5)] == [200] * 5
    throttled = one.get("/api/v1/accounts/")
    assert throttled.status_code == 429
    assert "throttled" in throttled.json()["detail"].lower()
    assert int(throttled["Retry-After"]) > 0
    # Another user has a budget of their own.
    other = Client(HTTP_AUTHORIZATION=f"Token {second.key}")
    assert other.get("/api/v1/accounts/").status_code == 200


@override_settings(API_THROTTLE_RATES={"anon": "3/minute", "user": "2/minute"})
def test_a_users_budget_comes_back_with_the_next_window(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = Token.objects.create(user=User.objects.create_user("reader", password="pw-1234567"))
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    now = [1_800_000_030.0]  # 30 s into a minute
    monkeypatch.setattr(UserThrottle, "timer", lambda self: now[0])
    assert [client.get("/api/v1/accounts/").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/accounts/")["Retry-After"] == "30"  # the window's rest
    now[0] += 30.0  # the next minute
    assert client.get("/api/v1/accounts/").status_code == 200


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failed_admin_logins_lock_the_user_out() -> None:
    User.objects.create_superuser("ops", "ops@example.com", "right-password-123")
    User.objects.create_superuser("other", "other@example.com", "other-password-123")
    client = Client()
    for _ in range(2):
        page = client.post(LOGIN, {"username": "ops", "password": "wrong"})
        assert page.status_code == 200  # the form again, with its error
        assert "Please enter the correct username and password" in page.content.decode()
    assert client.post(LOGIN, {"username": "ops", "password": "wrong"}).status_code == 429
    locked = client.post(LOGIN, {"username": "ops", "password": "right-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # The lockout is per username and address: another operator still logs in.
    other = client.post(LOGIN, {"username": "other", "password": "other-password-123"})
    assert other.status_code == 302

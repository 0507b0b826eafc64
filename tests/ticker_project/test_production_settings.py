"""Production settings and serving: ``check --deploy`` clean with the defaults, static files
served by whitenoise after collectstatic, Swagger UI from our own static files, times shown in
the market's zone and labelled."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings

from tests.accounts.factories import AccountFactory

ROOT = Path(__file__).resolve().parents[2]
# Variables the test environment sets to relax HTTPS for the plain-HTTP test client.
RELAXED = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
           "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "DEBUG")  # fmt: skip


def test_check_deploy_is_clean_with_the_production_defaults() -> None:
    env = {k: v for k, v in os.environ.items() if k not in RELAXED}
    env.update(
        SECRET_KEY="k" * 10 + "-a-long-random-production-secret-0123456789-xyzXYZ!@#", DEBUG="0"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)" in result.stdout


def test_production_defaults_are_the_secure_ones() -> None:
    env = {k: v for k, v in os.environ.items() if k not in RELAXED}
    env["DEBUG"] = "0"
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "ticker_project.settings"},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert result.stdout.split() == ["True", "31536000", "True", "True", "None"]
    proxied = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "ticker_project.settings",
             "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert proxied.stdout.split()[-2:] == ["('HTTP_X_FORWARDED_PROTO',", "'https')"]


def test_whitenoise_serves_collected_static_files(tmp_path: Path) -> None:
    with override_settings(STATIC_ROOT=tmp_path):
        call_command("collectstatic", "--noinput", verbosity=0)
        response = Client().get("/static/admin/css/base.css")
        assert response.status_code == 200
        assert b"body" in b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_dockerfile_collects_static_files() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r"^RUN .*manage\.py collectstatic --noinput", dockerfile, re.MULTILINE)


def test_api_docs_reference_no_external_host() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    hosts = set(re.findall(r"(?:https?:)?//([A-Za-z0-9.-]+)", page))
    assert hosts <= {"testserver"}, hosts
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert finders.find(asset), f"{asset} is not among the project's static files"


@pytest.mark.django_db
def test_admin_shows_times_in_the_market_zone_and_says_so() -> None:
    account = AccountFactory.create(status_changed_at=datetime(2026, 1, 5, 3, 45, tzinfo=UTC))
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-123456789"))
    page = client.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()
    assert "times in Asia/Kolkata (IST)" in page
    # 03:45 UTC is 09:15 in Kolkata; storage stays UTC.
    assert "Jan. 5, 2026, 9:15 a.m." in page
    account.refresh_from_db()
    assert account.status_changed_at == datetime(2026, 1, 5, 3, 45, tzinfo=UTC)

"""The API keeps to its OpenAPI schema: a bounded schemathesis run against the live server
(gunicorn) checks status codes, content types and response bodies against the schema, and
that nothing answers a server error. Every documented error status carries its body."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.database_url import migrated_database_url
from tests.ticker_project.live_stack import LiveServer, live_env

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


@pytest.fixture
def server(redis_client: redis.Redis) -> Iterator[LiveServer]:
    env = live_env(database_url=migrated_database_url(), redis_url=settings.REDIS_URL, DEBUG="0",
                   SECURE_SSL_REDIRECT="0", API_THROTTLE_USER="100000/minute")  # fmt: skip
    live = LiveServer(env)
    try:
        yield live
    finally:
        live.stop()


# The API root is the only public operation under /api/v1/ (it holds links, no data).
PUBLIC_OPERATIONS = frozenset({("get", "/api/v1/")})


def test_every_operation_documents_its_error_statuses_with_a_body() -> None:
    schema = Client().get("/api/schema/?format=json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "503" in responses, (method, path)
            if path != "/api/health/":
                assert "429" in responses, (method, path)
            public = operation.get("security") == [{}]
            if path.startswith("/api/v1/") and (method, path) not in PUBLIC_OPERATIONS:
                assert not public, (method, path)
                assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert "400" in responses, (method, path)
            for code, response in responses.items():
                if code >= "400":
                    assert "application/json" in response["content"], (method, path, code)


def test_api_paths_the_router_does_not_match_answer_json() -> None:
    response = Client().get("/api/v1/subscriptions/0.5/")
    assert response.status_code == 404
    assert response.json() == {"detail": "not found"}
    page = Client().get("/no-such-page/")  # pages keep Django's HTML
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_schemathesis_finds_nothing_against_the_live_server(
    server: LiveServer, tmp_path: Path
) -> None:
    token = Token.objects.create(
        user=User.objects.create_superuser("fuzz", "fuzz@example.com", "fuzz-password-123")
    )
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/api/schema/?format=json",
         "--url", server.url, "--checks", CHECKS, "--max-examples", "5", "--seed", "12",
         "--phases", "examples,coverage,fuzzing", "--generation-deterministic",
         "--header", f"Authorization: Token {token.key}", "--request-timeout", "20",
         "--no-color"],
        cwd=tmp_path, capture_output=True,  # its cache stays out of the repository
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-2000:] + server.logs()[-2000:]

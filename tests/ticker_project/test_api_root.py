"""The API root lists every endpoint: each collection under /api/v1/ in the OpenAPI schema."""

from __future__ import annotations

import pytest
import redis
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_api_root_links_every_endpoint_of_the_schema(redis_client: redis.Redis) -> None:
    root = Client().get("/api/v1/")
    assert root.status_code == 200
    links = {link.removeprefix("http://testserver") for link in root.json().values()}
    schema = Client().get("/api/schema/?format=json").json()
    collections = {p for p in schema["paths"] if "{" not in p and p != "/api/v1/"}
    assert collections - links == set()
    assert {"/api/schema/", "/api/docs/", "/api/health/"} <= links

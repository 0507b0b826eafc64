"""A private PostgreSQL database for a benchmark, made with Django's test-runner utilities.

Created and migrated on the server ``DATABASE_URL`` points at, dropped by ``teardown``; never the
demo's or the tests' data.
"""

from __future__ import annotations

import os
from typing import Any

import django


def setup_bench_database(name: str, *, benchmark: str) -> tuple[Any, Any]:
    """Django set up on a fresh database ``name``; (connection, what ``teardown`` needs)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticker_project.settings")
    django.setup()
    from django.db import connections  # noqa: PLC0415  (Django must be set up first)
    from django.test.utils import setup_databases  # noqa: PLC0415

    connection = connections["default"]
    if connection.vendor != "postgresql":
        raise SystemExit(f"{benchmark} needs PostgreSQL (set DATABASE_URL)")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    # A mapping keyed by alias (django-stubs types it so; Django only tests membership).
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=False, aliases={"default": connection.settings_dict}
    )
    return connection, old


def teardown(connection: Any, old: Any) -> None:
    from django.test.utils import teardown_databases  # noqa: PLC0415

    teardown_databases(old, verbosity=0)
    connection.close()

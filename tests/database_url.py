"""The URL of the tests' migrated database (pytest-django's ``test_<name>``) on the shared
server, for the subprocesses a test starts (workers, fleets, web servers)."""

from __future__ import annotations

from urllib.parse import quote

from django.db import connections


def migrated_database_url() -> str:
    """``postgres://user[:password]@host:port/test_<name>``, once the test database exists."""
    s = connections["default"].settings_dict
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"

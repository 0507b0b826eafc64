"""One pagination style for every list endpoint: a cursor, with a count where it is cheap.

A cursor page is stable while rows are added (no row skipped or repeated between pages, unlike
limit/offset) and costs the same on page 1,000 as on page 1. Every list answers
``{"next", "previous", "results"}``; endpoints over small tables (accounts, subscriptions) add
``count``, the number of rows the filters match; instruments (~100k rows) do not, a COUNT(*)
would cost more than the page. ``?page_size=`` (at most 1000) and ``?cursor=`` (the opaque value
in ``next``/``previous``) are the only parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class CursorPage(CursorPagination):
    """Cursor pages without a count; ``ordering`` is set per endpoint (a unique last field)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering: tuple[str, ...] = ("pk",)


class CountedCursorPage(CursorPage):
    """Cursor pages that also say how many rows match (one COUNT query per page)."""

    count: int = 0

    def paginate_queryset(
        self,
        queryset: QuerySet[Any, Any] | Sequence[Any],
        request: Request,
        view: APIView | None = None,
    ) -> list[Any] | None:
        self.count = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data = {"count": self.count, **response.data}
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paged = super().get_paginated_response_schema(schema)
        paged["properties"] = {
            "count": {"type": "integer", "example": 123},
            **paged["properties"],
        }
        paged.setdefault("required", []).insert(0, "count")
        return paged

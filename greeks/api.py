"""``GET /api/v1/greeks/candles/?instrument=&interval=&from=&to=``: stored option candles.

JSON: cursor pages (``infra.pagination``), oldest first. CSV (``?format=csv`` or
``Accept: text/csv``): every candle of the range, streamed from a database cursor in chunks,
never held in memory. Both read the same selector, filtered in the database. Times are UTC
ISO-8601 (``ts`` is the candle's start); a bad parameter is a 400 naming it, always as JSON.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, Final

from django.db.models import QuerySet
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from greeks.history.candle_selectors import CANDLE_COLUMNS, CandleRange, option_candles_in_range
from greeks.models import OptionCandle
from greeks.serializers import CandleQuerySerializer, OptionCandleSerializer
from infra.pagination import CursorPage

CSV_CHUNK_ROWS: Final = 2000


class CandleCSVRenderer(BaseRenderer):
    """Selects CSV (``?format=csv``, ``Accept: text/csv``). The view streams the rows itself and
    renders every ``Response`` (errors) as JSON, so this renderer never renders a body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"


class _Echo:
    """A file-like whose ``write`` hands the line back, for ``csv.writer`` in a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: QuerySet[OptionCandle, tuple[Any, ...]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CANDLE_COLUMNS)
    for row in rows.iterator(chunk_size=CSV_CHUNK_ROWS):
        ts, *values = row
        yield writer.writerow([ts.isoformat(), *values])


class CandlePage(CursorPage):
    ordering = ("ts",)  # unique within one instrument and interval


class OptionCandlesView(GenericAPIView[OptionCandle]):
    """Option candles of one instrument and interval with their IV and Greeks."""

    serializer_class = OptionCandleSerializer
    pagination_class = CandlePage
    renderer_classes = [JSONRenderer, CandleCSVRenderer]

    # DRF passes through any HttpResponseBase (the streamed CSV); its stubs say Response only.
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        if isinstance(response, Response):  # errors and JSON pages; CSV is streamed
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]

    @extend_schema(
        parameters=[CandleQuerySerializer],
        responses={
            (200, "application/json"): OptionCandleSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=f"header row ({', '.join(CANDLE_COLUMNS)}), then one row per candle",
            ),
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        query = CandleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        candles: CandleRange = query.validated_data["range"]
        rows = option_candles_in_range(candles)
        if request.accepted_renderer.format == CandleCSVRenderer.format:
            lines = _csv_lines(rows.values_list(*CANDLE_COLUMNS))
            response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
            name = f"candles-{query.validated_data['instrument']}-{candles.interval}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

"""``GET /api/v1/chain/`` (one expiry's option chain) and ``GET /api/v1/chain/term/`` (ATM IV
per expiry), read-only for authenticated users (token or session).

Redis is this process's pool (``process_redis``) and the chain's registry rows come through this
process's ``RegistryCache`` (``process_registry_cache``; docs/chain.md, "Registry cache"). An
unreachable Redis or database propagates to the project's exception handler, which answers
503 JSON (ticker_project/outage.py).
Definitions: docs/chain.md.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chain.payload import chain_payload, term_payload
from chain.renderers import ORJSONRenderer
from chain.selectors import (
    ChainQueryError,
    ChainSettings,
    RegistryCache,
    read_chain,
    read_term_structure,
)
from chain.serializers import (
    ChainErrorSerializer,
    ChainQuerySerializer,
    ChainSerializer,
    ChainTermSerializer,
    TermQuerySerializer,
)
from infra.redis_factory import process_redis


class ReleasedResponse(Response):
    """A ``Response`` that lets go of its data once rendered (nothing reads it after).

    DRF keeps the view and its response in a reference cycle (``renderer_context["view"]``,
    ``view.response``), so the data of a 200-strike chain, ~600 dicts, would otherwise live
    until the collector's next pass: those survivors made young-generation collections about
    three times as frequent, and they were the chain's slowest requests
    (benchmarks/chain_bench.py). Freed here by reference count, they never reach the collector.
    """

    @property
    def rendered_content(self) -> Any:
        content = super().rendered_content
        self.data = None
        return content


def chain_settings() -> ChainSettings:
    return ChainSettings(
        prefix=settings.TICKER_CHANNEL_PREFIX,
        stale_after_seconds=float(settings.QUOTES_STALE_SECONDS),
        rate=float(settings.GREEKS_RISK_FREE_RATE),
    )


@functools.cache
def process_registry_cache(ttl_seconds: float) -> RegistryCache:
    """This process's registry cache (one per TTL, so a changed setting takes a fresh one)."""
    return RegistryCache(ttl_seconds=ttl_seconds)


def configured_registry_cache() -> RegistryCache | None:
    """The process's cache, or None when ``CHAIN_REGISTRY_CACHE_SECONDS`` is 0 (off)."""
    ttl = float(settings.CHAIN_REGISTRY_CACHE_SECONDS)
    return process_registry_cache(ttl) if ttl > 0 else None


def first_error(errors: Any) -> str:
    """One readable line from a serializer's errors: ``field: message``."""
    field, messages = next(iter(errors.items()))
    message = messages[0] if isinstance(messages, list) and messages else messages
    return f"{field}: {message}"


_SIDE_EXAMPLE = {
    "instrument_token": 12345, "tradingsymbol": "NIFTY26D0824300CE", "last_price": 120.5,
    "bid": 120.0, "ask": 121.0, "spread": 1.0, "volume": 12000, "oi": 450000,
    "oi_change": 1500, "iv": 0.134, "delta": 0.52, "gamma": 0.0012, "theta": -12.3,
    "vega": 8.1, "age_seconds": 0.5, "stale": False, "priced": True, "itm": True,
}  # fmt: skip
CHAIN_EXAMPLE = {
    "underlying": "NIFTY", "expiry": "2026-12-08", "expiries": ["2026-12-08", "2026-12-15"],
    "as_of": 1796700000.123, "spot": {"price": 24310.5, "age_seconds": 0.4, "stale": False},
    "forward": 24355.2, "forward_source": "parity", "atm_strike": 24350.0, "atm_iv": 0.1342,
    "straddle": 312.4, "implied_move": 0.0128, "implied_move_1sd": 0.0143,
    "days_to_expiry": 4.21, "pcr_oi": 0.91, "pcr_volume": 1.07, "max_pain": 24300.0,
    "iv_call_25d": 0.128, "iv_put_25d": 0.141, "risk_reversal_25d": -0.013,
    "butterfly_25d": 0.0003, "data_age_seconds": 0.8, "oi_change_since": "2026-12-04",
    "stale_after_seconds": 5.0,
    "rows": [{"strike": 24350.0, "is_atm": True, "ce": _SIDE_EXAMPLE, "pe": None}],
}  # fmt: skip
TERM_EXAMPLE = {
    "underlying": "NIFTY", "as_of": 1796700000.123,
    "points": [{"expiry": "2026-12-08", "days_to_expiry": 4.21, "atm_strike": 24350.0,
                "atm_iv": 0.1342, "forward": 24355.2}],
}  # fmt: skip
_BAD_REQUEST = [
    OpenApiExample(
        "unknown underlying",
        value={"detail": "unknown underlying 'FOO' (known: BANKNIFTY, NIFTY)"},
        status_codes=["400"],
        response_only=True,
    ),
    OpenApiExample(
        "unknown expiry",
        value={"detail": "unknown expiry 2026-01-01 for NIFTY (live: 2026-12-08, 2026-12-15)"},
        status_codes=["400"],
        response_only=True,
    ),
]
_UNAVAILABLE = OpenApiExample(
    "redis unreachable",
    value={"detail": "service unavailable: the redis is unreachable, retry shortly"},
    status_codes=["503"],
    response_only=True,
)


class ChainView(APIView):
    """One expiry's option chain of an underlying, with its summary analytics."""

    renderer_classes = [ORJSONRenderer]

    @extend_schema(
        parameters=[ChainQuerySerializer],
        responses={200: ChainSerializer, 400: ChainErrorSerializer, 503: ChainErrorSerializer},
        examples=[
            OpenApiExample("chain", value=CHAIN_EXAMPLE, response_only=True),
            *_BAD_REQUEST,
            _UNAVAILABLE,
        ],
    )
    def get(self, request: Request) -> Response:
        query = ChainQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response({"detail": first_error(query.errors)}, status=400)
        params = query.validated_data
        config = chain_settings()
        client = process_redis(settings.REDIS_URL)
        try:
            chain = read_chain(
                client,
                underlying=params["underlying"],
                expiry=params.get("expiry"),
                settings=config,
                now=time.time(),
                cache=configured_registry_cache(),
            )
        except ChainQueryError as exc:
            return Response({"detail": str(exc)}, status=400)
        return ReleasedResponse(
            chain_payload(
                chain,
                strikes_each_side=params.get("strikes"),
                stale_after=config.stale_after_seconds,
            )
        )


class ChainTermView(APIView):
    """ATM implied volatility per live expiry of an underlying (the term structure)."""

    renderer_classes = [ORJSONRenderer]

    @extend_schema(
        parameters=[TermQuerySerializer],
        responses={200: ChainTermSerializer, 400: ChainErrorSerializer, 503: ChainErrorSerializer},
        examples=[
            OpenApiExample("term structure", value=TERM_EXAMPLE, response_only=True),
            _BAD_REQUEST[0],
            _UNAVAILABLE,
        ],
    )
    def get(self, request: Request) -> Response:
        query = TermQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response({"detail": first_error(query.errors)}, status=400)
        underlying = query.validated_data["underlying"]
        now = time.time()
        try:
            points = read_term_structure(
                process_redis(settings.REDIS_URL),
                underlying=underlying,
                settings=chain_settings(),
                now=now,
            )
        except ChainQueryError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(term_payload(underlying, now, points))

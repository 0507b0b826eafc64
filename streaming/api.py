"""``GET /api/v1/quotes/?tokens=256265,8960258``: the latest snapshot per token from Redis.

One ``HMGET`` on ``{prefix}:latest`` (docs/redis-contract.md). Tokens must be positive integers
(at most ``MAX_TOKENS``); a token with no snapshot is reported as ``null``. Each snapshot gains
``age_seconds`` (now minus its ``received_at``, else its ``ts``) and ``stale`` (age above the
``QUOTES_STALE_SECONDS`` setting, default 5 s), computed at read time; a snapshot with neither
is stale (docs/redis-contract.md, "Telling a stale value from a live one").
"""

from __future__ import annotations

import time
from typing import Any, Final

import orjson
from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contract.messages import RECEIVED_AT, TS
from contract.names import latest_key
from contract.snapshot import positive_number
from infra.redis_factory import process_redis

MAX_TOKENS: Final = 1000
MAX_TOKEN_VALUE: Final = 0xFFFFFFFF


def with_age(snapshot: Any, *, now: float, stale_after: float) -> Any:
    """The snapshot plus ``age_seconds`` and ``stale`` (pure; ``now`` is passed in)."""
    if not isinstance(snapshot, dict):
        return snapshot
    stamp = positive_number(snapshot.get(RECEIVED_AT))
    if stamp is None:
        stamp = positive_number(snapshot.get(TS))  # written before received_at existed
    if stamp is None:
        return {**snapshot, "age_seconds": None, "stale": True}
    age = round(max(0.0, now - stamp), 3)
    return {**snapshot, "age_seconds": age, "stale": age > stale_after}


class QuoteTokensError(ValueError):
    """The ``tokens`` parameter is missing or not a list of instrument tokens."""


def parse_tokens(raw: str | None) -> list[int]:
    if not raw or not raw.strip():
        raise QuoteTokensError("tokens is required: a comma-separated list of instrument tokens")
    tokens: list[int] = []
    for part in raw.split(","):
        text = part.strip()
        if not text.isdigit() or not 0 < int(text) <= MAX_TOKEN_VALUE:
            raise QuoteTokensError(f"{text!r} is not an instrument token (a positive integer)")
        tokens.append(int(text))
    if len(tokens) > MAX_TOKENS:
        raise QuoteTokensError(f"at most {MAX_TOKENS} tokens per request, got {len(tokens)}")
    return list(dict.fromkeys(tokens))


class QuotesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("tokens", str, description="comma-separated instrument tokens")
        ],
        responses={
            200: inline_serializer("Quotes", {"quotes": serializers.DictField()}),
            400: inline_serializer("QuotesBadRequest", {"detail": serializers.CharField()}),
            503: inline_serializer("QuotesUnavailable", {"detail": serializers.CharField()}),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            tokens = parse_tokens(request.query_params.get("tokens"))
        except QuoteTokensError as exc:
            return Response({"detail": str(exc)}, status=400)
        client = process_redis(settings.REDIS_URL)  # this process's pool, not one per request
        try:
            raw = client.hmget(latest_key(settings.TICKER_CHANNEL_PREFIX), [str(t) for t in tokens])
        except RedisError as exc:
            return Response({"detail": f"quotes unavailable: {type(exc).__name__}"}, status=503)
        now = time.time()
        stale_after = float(settings.QUOTES_STALE_SECONDS)
        quotes: dict[str, Any] = {
            str(token): with_age(orjson.loads(value), now=now, stale_after=stale_after)
            if value
            else None
            for token, value in zip(tokens, raw, strict=True)
        }
        return Response({"quotes": quotes})

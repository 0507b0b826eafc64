"""The latest price of an underlying index, for the rebalancer.

First the snapshot the streaming workers keep in Redis (``HGET {prefix}:latest <index_token>``,
a JSON object with ``price`` and ``ts``; docs/redis-contract.md), if it is fresh; otherwise a
Kite quote through an active account (``ltp("NSE:NIFTY 50")``). Both answers are validated at
the edge: a missing or non-positive price is an error with context, never a silent 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson
import redis
import structlog
from kiteconnect import KiteConnect

log = structlog.get_logger(__name__)


class UnderlyingPriceUnavailable(RuntimeError):
    """Neither the Redis snapshot nor Kite gave a usable price."""


@dataclass(frozen=True, slots=True)
class UnderlyingPrice:
    price: float
    source: str  # "redis" or "kite"


def _positive(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def price_from_snapshot(
    raw: bytes | None, *, now_epoch: float, max_age_seconds: float
) -> float | None:
    """The snapshot's price when it parses and is at most ``max_age_seconds`` old."""
    if raw is None:
        return None
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("underlying_snapshot_invalid", problem="not JSON", value=raw[:100])
        return None
    if not isinstance(payload, Mapping):
        log.warning("underlying_snapshot_invalid", problem="not an object")
        return None
    price = _positive(payload.get("price"))
    ts = _positive(payload.get("ts"))
    if price is None:
        log.warning("underlying_snapshot_invalid", field="price", value=payload.get("price"))
        return None
    if ts is None or now_epoch - ts > max_age_seconds:
        log.info("underlying_snapshot_stale", ts=payload.get("ts"), max_age=max_age_seconds)
        return None
    return price


def price_from_ltp(response: object, key: str) -> float:
    """``last_price`` of ``key`` in a Kite ``ltp()`` answer, validated."""
    entry = response.get(key) if isinstance(response, Mapping) else None
    price = _positive(entry.get("last_price")) if isinstance(entry, Mapping) else None
    if price is None:
        raise UnderlyingPriceUnavailable(f"Kite ltp answer has no positive last_price for {key}")
    return price


@dataclass(frozen=True)
class UnderlyingPriceSource:
    """Redis snapshot first, Kite second; the Kite client is built only when needed."""

    redis: redis.Redis
    prefix: str
    kite_client: Callable[[], KiteConnect | None]
    max_age_seconds: float = 120.0

    def price(self, *, index_token: int, exchange_symbol: str, now_epoch: float) -> UnderlyingPrice:
        raw = self.redis.hget(f"{self.prefix}:latest", str(index_token))
        price = price_from_snapshot(
            raw if isinstance(raw, bytes) else None,
            now_epoch=now_epoch,
            max_age_seconds=self.max_age_seconds,
        )
        if price is not None:
            return UnderlyingPrice(price, "redis")
        client = self.kite_client()
        if client is None:
            raise UnderlyingPriceUnavailable(
                f"no fresh snapshot of {exchange_symbol} in Redis and no active account for Kite"
            )
        price = price_from_ltp(client.ltp(exchange_symbol), exchange_symbol)
        log.info("underlying_price_from_kite", symbol=exchange_symbol, price=price)
        return UnderlyingPrice(price, "kite")

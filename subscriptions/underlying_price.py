"""The latest price of an underlying index, for the rebalancer.

First the snapshot the streaming workers keep in Redis (``HGET {prefix}:latest <index_token>``,
a JSON object with ``price`` and ``ts``; docs/redis-contract.md), if it is fresh; otherwise a
Kite quote through an active account (``ltp("NSE:NIFTY 50")``). Both answers are validated at
the edge: a missing or non-positive price is an error with context, never a silent 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import redis
import structlog
from kiteconnect import KiteConnect

from contract.names import latest_key
from contract.snapshot import positive_number, price_from_snapshot

log = structlog.get_logger(__name__)


class UnderlyingPriceUnavailable(RuntimeError):
    """Neither the Redis snapshot nor Kite gave a usable price."""


@dataclass(frozen=True, slots=True)
class UnderlyingPrice:
    price: float
    source: str  # "redis" or "kite"


def price_from_ltp(response: object, key: str) -> float:
    """``last_price`` of ``key`` in a Kite ``ltp()`` answer, validated."""
    entry = response.get(key) if isinstance(response, Mapping) else None
    price = positive_number(entry.get("last_price")) if isinstance(entry, Mapping) else None
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

    def prices(
        self, *, symbols_by_token: Mapping[int, str], now_epoch: float
    ) -> tuple[dict[int, UnderlyingPrice], dict[int, str]]:
        """Prices of several indices: one ``HMGET``, then one ``ltp`` call for the rest (Kite
        allows one quote request per second per api_key, so never one call per index).

        Returns the prices found and, for the others, why there is none.
        """
        tokens = list(symbols_by_token)
        found: dict[int, UnderlyingPrice] = {}
        if not tokens:
            return found, {}
        raws = self.redis.hmget(latest_key(self.prefix), [str(t) for t in tokens])
        for token, raw in zip(tokens, raws, strict=True):
            price = price_from_snapshot(
                raw if isinstance(raw, bytes) else None,
                now_epoch=now_epoch,
                max_age_seconds=self.max_age_seconds,
            )
            if price is not None:
                found[token] = UnderlyingPrice(price, "redis")
        missing = {t: symbols_by_token[t] for t in tokens if t not in found}
        if not missing:
            return found, {}
        client = self.kite_client()
        if client is None:
            reason = "no fresh snapshot in Redis and no active account for a Kite quote"
            return found, dict.fromkeys(missing, reason)
        response = client.ltp(list(missing.values()))
        unavailable: dict[int, str] = {}
        for token, symbol in missing.items():
            try:
                found[token] = UnderlyingPrice(price_from_ltp(response, symbol), "kite")
            except UnderlyingPriceUnavailable as exc:
                unavailable[token] = str(exc)
                log.warning("underlying_price_unavailable", symbol=symbol, problem=str(exc))
        log.info("underlying_prices_from_kite", symbols=sorted(missing.values()))
        return found, unavailable

"""The ``{prefix}:latest`` snapshot: reading a price out of one field's JSON (pure); the
option fields the chain reads (``chain.columns``).

Each field's value is the latest message for that token (an option tick or an index tick), a
JSON object with at least ``price`` and ``ts`` (docs/redis-contract.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import orjson
import structlog

from contract.messages import PRICE, RECEIVED_AT, TS

log = structlog.get_logger(__name__)


def positive_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def price_from_snapshot(
    raw: bytes | str | None, *, now_epoch: float, max_age_seconds: float
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
    price = positive_number(payload.get(PRICE))
    # Its age counts from when the worker received it (our clock), else from the exchange's ts.
    ts = positive_number(payload.get(RECEIVED_AT)) or positive_number(payload.get(TS))
    if price is None:
        log.warning("underlying_snapshot_invalid", field="price", value=payload.get(PRICE))
        return None
    if ts is None or now_epoch - ts > max_age_seconds:
        log.info("underlying_snapshot_stale", ts=ts, max_age=max_age_seconds)
        return None
    return price


# The option snapshot's numeric fields the chain reads (docs/redis-contract.md), besides
# ``price`` and ``ts``; ``depth`` (full mode) gives the best bid and ask.
CHAIN_NUMBER_FIELDS: Final = ("volume", "oi", "iv", "delta", "gamma", "theta", "vega")
DEPTH: Final = "depth"

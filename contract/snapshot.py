"""The ``{prefix}:latest`` snapshot: reading a price, or an option's numbers, out of one
field's JSON (pure).

Each field's value is the latest message for that token (an option tick or an index tick), a
JSON object with at least ``price`` and ``ts`` (docs/redis-contract.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import orjson
import structlog

from contract.messages import PRICE, TS

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
    ts = positive_number(payload.get(TS))
    if price is None:
        log.warning("underlying_snapshot_invalid", field="price", value=payload.get(PRICE))
        return None
    if ts is None or now_epoch - ts > max_age_seconds:
        log.info("underlying_snapshot_stale", ts=payload.get(TS), max_age=max_age_seconds)
        return None
    return price


def finite_number(value: object) -> float | None:
    """``value`` as a float when it is a finite JSON number (never a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# The option snapshot's numeric fields the chain reads (docs/redis-contract.md).
CHAIN_NUMBER_FIELDS: Final = ("volume", "oi", "iv", "delta", "gamma", "theta", "vega")
DEPTH: Final = "depth"


@dataclass(frozen=True, slots=True)
class OptionSnapshot:
    """The numbers of one option's ``{prefix}:latest`` value; None where it has none.

    ``price`` and the best ``bid``/``ask`` (the first depth level, full mode) are None when
    absent or not positive (Kite sends 0 for an empty level and for a contract that has not
    traded); ``oi`` and ``volume`` may be 0.
    """

    price: float | None
    ts: float | None
    bid: float | None
    ask: float | None
    numbers: dict[str, float | None]


def _best(depth: object, side: str) -> float | None:
    if not isinstance(depth, Mapping):
        return None
    levels = depth.get(side)
    if not isinstance(levels, list) or not levels or not isinstance(levels[0], Mapping):
        return None
    return positive_number(levels[0].get(PRICE))


def option_snapshot(raw: bytes | str | None) -> OptionSnapshot | None:
    """Decode one ``{prefix}:latest`` value; None when absent or not a JSON object (logged)."""
    if raw is None:
        return None
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("option_snapshot_invalid", problem="not JSON", value=raw[:100])
        return None
    if not isinstance(payload, Mapping):
        log.warning("option_snapshot_invalid", problem="not an object")
        return None
    depth = payload.get(DEPTH)
    return OptionSnapshot(
        price=positive_number(payload.get(PRICE)),
        ts=positive_number(payload.get(TS)),
        bid=_best(depth, "buy"),
        ask=_best(depth, "sell"),
        numbers={name: finite_number(payload.get(name)) for name in CHAIN_NUMBER_FIELDS},
    )

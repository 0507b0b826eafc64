"""The contract's JSON messages (docs/redis-contract.md), encoded with orjson (pure).

Each message is the instrument's pre-encoded head (`InstrumentTable.heads`) followed by the
tick's own numbers; orjson writes NaN as ``null``, which is the contract's "unknown".
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from streaming.pipeline.bars import Bar

_dumps = orjson.dumps


def option_message(head: bytes, fields: dict[str, object]) -> bytes:
    """``head`` is ``{"symbol":...,`` ; ``fields`` the tick's dynamic part."""
    return head + _dumps(fields)[1:]


Levels = tuple[Sequence[int], Sequence[float], Sequence[int]]  # quantities, prices, orders


def depth_object(buy: Levels, sell: Levels) -> dict[str, list[dict[str, float | int]]]:
    """Kite's 5-level depth as the contract publishes it."""
    return {
        "buy": [{"quantity": q, "price": p, "orders": o} for q, p, o in zip(*buy, strict=True)],
        "sell": [{"quantity": q, "price": p, "orders": o} for q, p, o in zip(*sell, strict=True)],
    }


def bar_message(bar: Bar, *, symbol: str, is_mock: bool) -> bytes:
    return _dumps(
        {
            "symbol": symbol,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
            "ts": bar.start,
            "is_mock": is_mock,
            "token": bar.token,
        }
    )

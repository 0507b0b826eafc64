"""The contract's JSON messages (docs/redis-contract.md), encoded with orjson (pure).

Each message is the instrument's pre-encoded head (`InstrumentTable.heads`) followed by the
tick's own numbers; orjson writes NaN as ``null``, which is the contract's "unknown". Ticks are
rendered a batch at a time through ``message_templates`` (``tick_template`` and the columns
below); ``bar_message`` and ``headed_message`` encode single messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from streaming.pipeline.bars import Bar
from streaming.pipeline.message_templates import Column, Slot, Template, number_columns

_dumps = orjson.dumps


def headed_message(head: bytes, fields: dict[str, object]) -> bytes:
    """A message from the instrument's pre-encoded ``head`` (``{"symbol":...,``) and the tick's
    own ``fields``, encoded now."""
    return head + _dumps(fields)[1:]


DEPTH_LEVELS = 10  # Kite's 5 buy levels, then 5 sell levels
DEPTH_TOTALS = ("total_buy_quantity", "total_sell_quantity")


def _depth_parts() -> list[bytes | Slot]:
    """``"depth":{"buy":[{"quantity":..,"price":..,"orders":..} x5],"sell":[.. x5]}`` and the
    two totals, as the contract writes them (quantities and orders stay JSON integers)."""
    parts: list[bytes | Slot] = [b',"depth":{"buy":[']
    for level in range(DEPTH_LEVELS):
        if level == DEPTH_LEVELS // 2:
            parts.append(b'],"sell":[')
        elif level:
            parts.append(b",")
        parts += [
            b'{"quantity":', Slot(f"depth_quantity_{level}"), b',"price":',
            Slot(f"depth_price_{level}"), b',"orders":', Slot(f"depth_orders_{level}"), b"}",
        ]  # fmt: skip
    parts.append(b"]}")
    for name in DEPTH_TOTALS:
        parts += [b',"%s":' % name.encode(), Slot(name)]
    return parts


def tick_template(keys: Sequence[tuple[str, bytes | None]], *, depth: bool) -> Template:
    """The message of one kind of tick: the head, then ``keys`` in order, each filled from the
    column of its name (``None``) or a constant JSON value (``b"null"``, ``b"true"``); with
    ``depth``, full mode's depth and totals after them."""
    parts: list[bytes | Slot] = [Slot("head")]
    for position, (key, constant) in enumerate(keys):
        parts.append(b'%s"%s":' % (b"," if position else b"", key.encode()))
        parts.append(Slot(key) if constant is None else constant)
    if depth:
        parts += _depth_parts()
    parts.append(b"}")
    return Template.of(parts)


def depth_columns(
    quantities: npt.NDArray[Any],
    prices: npt.NDArray[np.float64],
    orders: npt.NDArray[Any],
    totals: npt.NDArray[Any],
) -> dict[str, Column]:
    """The depth slots' columns for ``tick_template(..., depth=True)``.

    Arrays are ``(ticks, 10)`` (levels 0-4 buy, 5-9 sell) and ``totals`` ``(ticks, 2)`` (buy,
    sell): one orjson call formats all the integers, one all the prices.
    """
    counts = number_columns(
        np.concatenate([quantities, orders, totals], axis=1).astype(np.int64, copy=False)
    )
    money = number_columns(np.asarray(prices, dtype=np.float64))
    columns: dict[str, Column] = {}
    for level in range(DEPTH_LEVELS):
        columns[f"depth_quantity_{level}"] = counts[level]
        columns[f"depth_orders_{level}"] = counts[DEPTH_LEVELS + level]
        columns[f"depth_price_{level}"] = money[level]
    for offset, name in enumerate(DEPTH_TOTALS):
        columns[name] = counts[2 * DEPTH_LEVELS + offset]
    return columns


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

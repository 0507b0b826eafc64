"""The contract's JSON messages (docs/redis-contract.md), encoded with orjson (pure).

Each message is the instrument's pre-encoded head (`InstrumentTable.heads`) followed by the
tick's own numbers; orjson writes NaN as ``null``, which is the contract's "unknown".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from streaming.pipeline.bars import Bar

_dumps = orjson.dumps


def headed_message(head: bytes, fields: dict[str, object]) -> bytes:
    """A message from the instrument's pre-encoded ``head`` (``{"symbol":...,``) and the tick's
    own ``fields``, encoded now."""
    return head + _dumps(fields)[1:]


_LEVEL = b'{"quantity":%s,"price":%s,"orders":%s}'
_DEPTH_TEMPLATE = (
    b'{"buy":[' + b",".join([_LEVEL] * 5) + b'],"sell":[' + b",".join([_LEVEL] * 5) + b"]}"
)
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _rows(matrix: npt.NDArray[Any]) -> list[list[bytes]]:
    """Each row of a 2-D numeric array as its JSON number tokens (orjson formats them in C)."""
    return [row.split(b",") for row in _dumps(matrix, option=_NUMPY)[2:-2].split(b"],[")]


def depth_fragments(
    quantities: npt.NDArray[Any], prices: npt.NDArray[np.float64], orders: npt.NDArray[Any]
) -> list[orjson.Fragment]:
    """Kite's 5-level depth of many ticks, as the contract's JSON objects, one per tick.

    Arrays are ``(ticks, 10)``: levels 0-4 buy, 5-9 sell. Numbers are formatted for the whole
    batch by one orjson call per dtype and slotted into a byte template, which costs about
    half of building ten small dicts per tick (quantities and orders stay JSON integers).
    """
    if len(quantities) == 0:
        return []
    counts = _rows(np.concatenate([quantities, orders], axis=1).astype(np.int64, copy=False))
    money = _rows(np.ascontiguousarray(prices, dtype=np.float64))
    fragments: list[orjson.Fragment] = []
    for c, p in zip(counts, money, strict=True):
        fragments.append(
            orjson.Fragment(
                _DEPTH_TEMPLATE
                % (
                    c[0], p[0], c[10], c[1], p[1], c[11], c[2], p[2], c[12], c[3], p[3], c[13],
                    c[4], p[4], c[14], c[5], p[5], c[15], c[6], p[6], c[16], c[7], p[7], c[17],
                    c[8], p[8], c[18], c[9], p[9], c[19],
                )
            )
        )  # fmt: skip
    return fragments


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

"""Many ``{prefix}:latest`` option snapshots decoded into float columns at once (pure).

Each value is decoded once by ``msgspec`` straight into a typed struct holding only the ~12
numbers the chain needs (every other field, and the depth levels' other keys, are skipped
unparsed, and nothing the decoder builds is tracked by the garbage collector), then all rows
become one float block in a single numpy call. A snapshot the struct does not fit (a bool, a
string or another non-number in one of those fields, a malformed depth) is decoded again with
``orjson`` and its fields taken one by one, so one odd field costs that field only, never the
row. One column per field: NaN where a snapshot is missing, lacks the field, or holds
something that is not a number. ``price``, ``ts``, ``received_at`` and the best ``bid``/``ask``
(first depth level, full mode) must also be positive: Kite sends 0 for an empty level and for
an option that has not traded. A value that is not a JSON object counts as missing (logged
when it is not JSON).

Measured on 400 snapshots of ten depth levels each (benchmarks/chain_bench.py, docs/chain.md):
~0.8 ms, where ``orjson.loads`` plus picking the fields out of the dicts took ~2.1 ms and
allocated ~5,000 tracked containers per request (young-generation collections).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, Final

import msgspec
import numpy as np
import orjson
import structlog
from numpy.typing import NDArray

from contract.messages import PRICE, RECEIVED_AT, TS
from contract.snapshot import CHAIN_NUMBER_FIELDS, DEPTH

log = structlog.get_logger(__name__)

FloatArray = NDArray[np.float64]
POSITIVE_COLUMNS: Final = (PRICE, TS, RECEIVED_AT, "bid", "ask")
COLUMNS: Final = (*POSITIVE_COLUMNS, *CHAIN_NUMBER_FIELDS)
_NAN: Final = math.nan

_POSITIVE_FIELDS: Final = (PRICE, TS, RECEIVED_AT)
# The block's column order: the positive columns first (one mask for all of them), then the
# other numbers.
_BLOCK_COLUMNS: Final = (*_POSITIVE_FIELDS, "bid", "ask", *CHAIN_NUMBER_FIELDS)
_POSITIVE_WIDTH: Final = len(POSITIVE_COLUMNS)
_MISSING_ROW: Final = (_NAN,) * len(_BLOCK_COLUMNS)
# A malformed depth (not an object, no such side, an empty or non-list side, a level that is
# not an object) makes one of these on the subscript chain; the price is then unknown.
_SHAPE_ERRORS: Final = (KeyError, TypeError, IndexError)

# The typed view of a snapshot: only the fields the chain reads, each a number or null (an
# int is taken as a float; a bool, a string or anything else fails the whole decode, and the
# snapshot then goes the field-by-field way). gc=False: the decoded structs hold no
# containers that could form a cycle, so the collector never tracks them.
_NUMBER: Final = float | None
_Level: Any = msgspec.defstruct("_Level", [(PRICE, _NUMBER, None)], gc=False)
_Depth: Any = msgspec.defstruct(
    "_Depth", [("buy", list[_Level], []), ("sell", list[_Level], [])], gc=False
)
_Snapshot: Any = msgspec.defstruct(
    "_Snapshot",
    [
        *((name, _NUMBER, None) for name in (*_POSITIVE_FIELDS, *CHAIN_NUMBER_FIELDS)),
        (DEPTH, _Depth | None, None),
    ],
    gc=False,
)
_decode_typed = msgspec.json.Decoder(_Snapshot).decode
_before_depth = attrgetter(*_POSITIVE_FIELDS)
_after_depth = attrgetter(*CHAIN_NUMBER_FIELDS)


def _number(value: object) -> float:
    kind = type(value)
    return float(value) if kind is float or kind is int else _NAN  # type: ignore[arg-type]


def _best_price(levels: list[Any]) -> float | None:
    return levels[0].price if levels else None


def _typed_row(snapshot: Any) -> tuple[float | None, ...]:
    depth = snapshot.depth
    bid = ask = None
    if depth is not None:
        bid, ask = _best_price(depth.buy), _best_price(depth.sell)
    return (*_before_depth(snapshot), bid, ask, *_after_depth(snapshot))


def _loose_row(raw: bytes | str) -> tuple[float, ...]:
    """The row of a snapshot the typed struct does not fit, field by field (orjson)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("option_snapshot_invalid", problem="not JSON", value=raw[:100])
        return _MISSING_ROW
    if type(document) is not dict:  # not an object
        return _MISSING_ROW
    depth = document.get(DEPTH)
    bid = ask = None
    if type(depth) is dict:  # a list or a string would also subscript: only an object
        try:
            bid = depth["buy"][0][PRICE]
        except _SHAPE_ERRORS:
            bid = None
        try:
            ask = depth["sell"][0][PRICE]
        except _SHAPE_ERRORS:
            ask = None
    get = document.get
    values = (*map(get, _POSITIVE_FIELDS), bid, ask, *map(get, CHAIN_NUMBER_FIELDS))
    return tuple(map(_number, values))


def _rows(raws: Sequence[bytes | str | None]) -> list[tuple[float | None, ...]]:
    """``_BLOCK_COLUMNS`` of each snapshot: floats, None or NaN where unknown."""
    rows: list[tuple[float | None, ...]] = []
    for raw in raws:
        if raw is None:
            rows.append(_MISSING_ROW)
            continue
        try:
            rows.append(_typed_row(_decode_typed(raw)))
        except msgspec.DecodeError:  # not JSON, or not this shape (ValidationError)
            rows.append(_loose_row(raw))
    return rows


def snapshot_columns(raws: Sequence[bytes | str | None]) -> dict[str, FloatArray]:
    """``COLUMNS`` -> one float per value of ``raws`` (NaN where unknown)."""
    block = np.array(_rows(raws), dtype=np.float64).reshape(len(raws), len(_BLOCK_COLUMNS))
    positive, other = block[:, :_POSITIVE_WIDTH], block[:, _POSITIVE_WIDTH:]
    with np.errstate(invalid="ignore"):
        positive[~(positive > 0)] = np.nan
    other[~np.isfinite(other)] = np.nan
    columns = block.T.copy()  # one contiguous row per field
    return {name: columns[position] for position, name in enumerate(_BLOCK_COLUMNS)}

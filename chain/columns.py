"""Many ``{prefix}:latest`` option snapshots decoded into float columns at once (pure).

Each value parsed once (``orjson``), then one column per field: NaN where a snapshot is
missing, lacks the field, or holds something that is not a number (a bool, a string, null).
``price``, ``ts``, ``received_at`` and the best ``bid``/``ask`` (first depth level, full mode)
must also be positive: Kite sends 0 for an empty level and for an option that has not traded.
A value that is not a JSON object counts as missing (logged when it is not JSON).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any, Final

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


def decode_each(raws: Sequence[bytes | str | None]) -> list[Any]:
    """Each value's JSON; None where absent or not JSON (logged)."""
    loads = orjson.loads
    documents: list[Any] = []
    for raw in raws:
        if raw is None:
            documents.append(None)
            continue
        try:
            documents.append(loads(raw))
        except orjson.JSONDecodeError:
            log.warning("option_snapshot_invalid", problem="not JSON", value=raw[:100])
            documents.append(None)
    return documents


def _number(value: object) -> float:
    kind = type(value)
    return float(value) if kind is float or kind is int else _NAN  # type: ignore[arg-type]


def _best(document: Mapping[str, Any], side: str) -> float:
    depth = document.get(DEPTH)
    if type(depth) is not dict:
        return _NAN
    levels = depth.get(side)
    if type(levels) is not list or not levels or type(levels[0]) is not dict:
        return _NAN
    return _number(levels[0].get(PRICE))


_SCALAR_COLUMNS: Final = tuple(name for name in COLUMNS if name not in ("bid", "ask"))
_PLAIN_TYPES: Final = frozenset({float, int, type(None)})


def _scalar_block(present: list[dict[str, Any]]) -> NDArray[np.float64]:
    """``_SCALAR_COLUMNS`` of each snapshot, one row each (NaN where not a number)."""
    rows = [tuple(map(d.get, _SCALAR_COLUMNS)) for d in present]
    if set(map(type, chain.from_iterable(rows))) <= _PLAIN_TYPES:
        # Only numbers and nulls (the published contract): numpy takes null as NaN. It would
        # also take a bool or a numeric string, hence the check and the slower path below.
        return np.array(rows, dtype=np.float64).reshape(len(rows), len(_SCALAR_COLUMNS))
    return np.array([[_number(v) for v in row] for row in rows], dtype=np.float64).reshape(
        len(rows), len(_SCALAR_COLUMNS)
    )


def snapshot_columns(raws: Sequence[bytes | str | None]) -> dict[str, FloatArray]:
    """``COLUMNS`` -> one float per value of ``raws`` (NaN where unknown)."""
    documents = [d if type(d) is dict else None for d in decode_each(raws)]
    present = [d for d in documents if d is not None]
    where = np.fromiter((d is not None for d in documents), dtype=np.bool_, count=len(documents))
    block = _scalar_block(present)
    columns: dict[str, FloatArray] = {}
    for position, name in enumerate(_SCALAR_COLUMNS):
        column = np.full(len(documents), np.nan)
        column[where] = block[:, position]
        columns[name] = column
    for name, side in (("bid", "buy"), ("ask", "sell")):
        column = np.full(len(documents), np.nan)
        column[where] = [_best(d, side) for d in present]
        columns[name] = column
    with np.errstate(invalid="ignore"):
        for name in POSITIVE_COLUMNS:
            column = columns[name]
            column[~(column > 0)] = np.nan
        finite = np.isfinite
        for name in CHAIN_NUMBER_FIELDS:
            column = columns[name]
            column[~finite(column)] = np.nan
    return columns
